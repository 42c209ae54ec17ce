/** Issue 15 item 4: a send error WhatsApp reports after the message left → `failed` with a code and a sentence. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { proto } from '@whiskeysockets/baileys';
import type { WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { OutboundStore } from '../../../src/outbound/outbound-store.ts';
import type { StatusEvent } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../../helpers/redis.ts';
import { openConnector, PN, wa } from './helpers.ts';

const prefix = uniquePrefix('wa-late');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

describe('messages.update with status ERROR (Baileys handleBadAck)', () => {
  it.each([
    [['463', 'Your account has been restricted'], 'whatsapp_account_restricted', /restricted/],
    [['479'], 'whatsapp_rejected_invalid', /479/],
    [['500'], 'whatsapp_rejected', /error 500/],
  ])('%j → failed %s, recorded for GET /api/v1/messages/:id', async (params, code, sentence) => {
    const store = new OutboundStore({ redis, prefix });
    const reported: StatusEvent[] = [];
    const account = `late${params[0]}`;
    const { connector, sock, sink } = await openConnector(redis, prefix, account, {
      statusSink: {
        report: async (events) => {
          reported.push(...events);
          for (const e of events) await store.advance(e);
        },
      },
    });
    connectors.push(connector);
    sock.upsert([wa('IN1', { conversation: 'hi' })], 'notify'); // the customer wrote first
    await sink.waitFor(1);
    const chatId = `wa:${account}:${PN}`;
    const msg = {
      id: `out-${account}`,
      chatId,
      text: 'hello',
      media: [],
      replyTo: null,
      operatorId: 'op1',
      createdAt: new Date().toISOString(),
    };
    await store.accept(msg, 'fp');
    const sent = await connector.send(msg);
    await store.advance({ id: msg.id, status: 'sent', at: new Date().toISOString(), nativeIds: sent.nativeIds });
    // what Baileys emits when the server nacks the message (Socket/messages-recv.js handleBadAck)
    sock.ev.emit('messages.update', [
      {
        key: { remoteJid: PN, fromMe: true, id: sent.nativeIds[0] },
        update: { status: proto.WebMessageInfo.Status.ERROR, messageStubParameters: params },
      },
    ]);
    await until(() => reported.length > 0);
    expect(reported[0]).toMatchObject({ id: msg.id, status: 'failed', errorCode: code, error: expect.stringMatching(sentence) });
    const rec = await store.get(msg.id);
    expect(rec).toMatchObject({ status: 'failed', errorCode: code, error: expect.stringMatching(sentence) });
  });
});

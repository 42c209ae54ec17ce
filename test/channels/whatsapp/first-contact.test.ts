/** Issue 15 item 8: writing first is refused unless the account allows it, and then paced per hour/day. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';
import { openConnector, PN, wa } from './helpers.ts';

const prefix = uniquePrefix('wa-first');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

const msg = (account: string, id: string, jid = PN) => ({
  id,
  chatId: `wa:${account}:${jid}`,
  text: 'hello',
  media: [],
  replyTo: null,
  operatorId: 'op1',
  createdAt: new Date().toISOString(),
});

describe('may-write-first gate', () => {
  it('refused by default to a number that never wrote; allowed once the customer wrote', async () => {
    const { connector, sock, sink } = await openConnector(redis, prefix, 'gate');
    connectors.push(connector);
    await expect(connector.send(msg('gate', 'o1'))).rejects.toMatchObject({ code: 'whatsapp_first_contact_refused', retryable: false });
    expect(sock.sent.length).toBe(0);
    sock.upsert([wa('IN1', { conversation: 'hi' })], 'notify');
    await sink.waitFor(1);
    await connector.send(msg('gate', 'o2'));
    expect(sock.sent.length).toBe(1);
    // a group is not "writing first"
    await connector.send(msg('gate', 'o3', '120363000000000001@g.us'));
    expect(sock.sent.length).toBe(2);
  });

  it('allowed accounts are paced: the hour budget ends with a retryable error carrying the wait', async () => {
    const { connector, sock } = await openConnector(redis, prefix, 'allowed', {
      firstContact: { accounts: ['allowed'], perHour: 2, perDay: 10 },
    });
    connectors.push(connector);
    await connector.send(msg('allowed', 'a1', '79990000011@s.whatsapp.net'));
    await connector.send(msg('allowed', 'a2', '79990000012@s.whatsapp.net'));
    const third = await connector.send(msg('allowed', 'a3', '79990000013@s.whatsapp.net')).catch((e: unknown) => e);
    expect(third).toMatchObject({ code: 'whatsapp_first_contact_paced', retryable: true });
    expect((third as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((third as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect(sock.sent.length).toBe(2);
  });

  it('the one rule (account setting over WHATSAPP_MAY_WRITE_FIRST) is asked at send time, so a change applies at once', async () => {
    let allowed = false;
    const asked: string[] = [];
    const { connector, sock } = await openConnector(redis, prefix, 'ruled', {
      // the env list says yes; the rule the composition root passes says what the settings say
      firstContact: {
        accounts: ['ruled'],
        mayWriteFirst: async (account) => {
          asked.push(account);
          return allowed;
        },
      },
    });
    connectors.push(connector);
    await expect(connector.send(msg('ruled', 'r1', '79990000021@s.whatsapp.net'))).rejects.toMatchObject({
      code: 'whatsapp_first_contact_refused',
    });
    allowed = true;
    await connector.send(msg('ruled', 'r2', '79990000021@s.whatsapp.net'));
    expect(sock.sent.length).toBe(1);
    expect(asked).toEqual(['ruled', 'ruled']);
  });
});

/**
 * Issue 15 item 5: no silent drops. Undecryptable messages become a `service` message with
 * an id of its own; button/list/template/interactive replies carry the chosen text and id;
 * poll votes are decrypted with Baileys' helpers and carried as `poll`.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { aesEncryptGCM, hmacSign, proto, sha256 } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import type { WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { normalizeWaMessage } from '../../../src/channels/whatsapp/inbound-normalize.ts';
import { SERVICE_TEXTS, type Language } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';
import { openConnector, PN, wa } from './helpers.ts';

const prefix = uniquePrefix('wa-kinds');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

const ctx = {
  account: 'main',
  chatKey: `wa:main:${PN}`,
  chatType: 'private' as const,
  chatTitle: 'Ivan',
  sender: { id: `wa:${PN}`, name: 'Ivan', username: null, phone: '+79991234567' },
  media: [],
  mediaNote: null,
  receivedAt: '2026-12-01T00:00:00.000Z',
};

describe('choice replies carry the chosen text and id', () => {
  it.each([
    ['buttonsResponseMessage', { selectedButtonId: 'btn-yes', selectedDisplayText: 'Yes' }, 'Yes\n[choice: btn-yes]'],
    ['listResponseMessage', { title: 'Delivery', singleSelectReply: { selectedRowId: 'row-2' } }, 'Delivery\n[choice: row-2]'],
    ['templateButtonReplyMessage', { selectedId: 'tpl-1', selectedDisplayText: 'Call me' }, 'Call me\n[choice: tpl-1]'],
    [
      'interactiveResponseMessage',
      { body: { text: 'Option B' }, nativeFlowResponseMessage: { name: 'menu', paramsJson: '{"id":"b"}', version: 3 } },
      'Option B\n[choice: b]',
    ],
  ])('%s', (field, value, text) => {
    const out = normalizeWaMessage(wa('R1', { [field]: value }), ctx);
    expect(out).toMatchObject({ action: 'ingest', message: { kind: 'text', text } });
  });
});

describe('through a runner', () => {
  it('an undecryptable message → service under its own id; the later good copy is not deduplicated away', async () => {
    let lang: Language = 'en';
    const asked: string[] = [];
    const { connector, sock, sink } = await openConnector(redis, prefix, 'undec', {
      language: async (account) => {
        asked.push(account);
        return lang;
      },
    });
    connectors.push(connector);
    // what Baileys upserts when decryption fails (Utils/decode-wa-message.js: stub CIPHERTEXT)
    sock.upsert(
      [wa('X1', null, {}, { messageStubType: proto.WebMessageInfo.StubType.CIPHERTEXT, messageStubParameters: ['Bad MAC'] })],
      'notify',
    );
    sock.upsert([wa('X1', { conversation: 'the real text after the retry' })], 'notify');
    await sink.waitFor(2);
    const chat = `wa:undec:${PN}`;
    expect(sink.stored.map((m) => [m.id, m.kind, m.text])).toEqual([
      [`${chat}:X1:undecryptable`, 'service', SERVICE_TEXTS.en.undecryptable],
      [`${chat}:X1`, 'text', 'the real text after the retry'],
    ]);
    expect(asked).toContain('undec');
    // the account's language changes: the next note follows at once (asked per upsert)
    lang = 'ru';
    sock.upsert(
      [wa('X2', null, {}, { messageStubType: proto.WebMessageInfo.StubType.CIPHERTEXT, messageStubParameters: ['Bad MAC'] })],
      'notify',
    );
    await sink.waitFor(3);
    expect(sink.stored[2]).toMatchObject({ id: `${chat}:X2:undecryptable`, text: SERVICE_TEXTS.ru.undecryptable });
    expect(SERVICE_TEXTS.ru.undecryptable).toMatch(/не удалось расшифровать/);
  });

  it('a poll vote is decrypted (decryptPollVote) and carried as `poll` with the chosen options', async () => {
    const { connector, sock, sink } = await openConnector(redis, prefix, 'poll');
    connectors.push(connector);
    const secret = randomBytes(32);
    sock.upsert(
      [
        wa('P1', {
          messageContextInfo: { messageSecret: secret },
          pollCreationMessageV3: { name: 'Colour?', options: [{ optionName: 'Red' }, { optionName: 'Blue' }], selectableOptionsCount: 1 },
        }),
      ],
      'notify',
    );
    // the customer's phone encrypts the vote as Baileys' decryptPollVote expects
    const pollMsgId = 'P1';
    const creator = PN;
    const voter = PN;
    const sign = Buffer.concat([
      Buffer.from(pollMsgId),
      Buffer.from(creator),
      Buffer.from(voter),
      Buffer.from('Poll Vote'),
      new Uint8Array([1]),
    ]);
    const key = hmacSign(sign, hmacSign(secret, new Uint8Array(32), 'sha256'), 'sha256');
    const iv = randomBytes(12);
    const plain = proto.Message.PollVoteMessage.encode({ selectedOptions: [sha256(Buffer.from('Blue'))] }).finish();
    const encPayload = aesEncryptGCM(plain, key, iv, Buffer.from(`${pollMsgId}\u0000${voter}`));
    sock.upsert(
      [
        wa('V1', {
          pollUpdateMessage: {
            pollCreationMessageKey: { remoteJid: PN, fromMe: false, id: 'P1' },
            vote: { encPayload, encIv: iv },
            senderTimestampMs: Date.now(),
          },
        }),
      ],
      'notify',
    );
    await sink.waitFor(2);
    const chat = `wa:poll:${PN}`;
    expect(sink.stored[1]).toMatchObject({
      id: `${chat}:V1`,
      kind: 'poll',
      target: `${chat}:P1`,
      text: 'Colour?',
      poll: { question: 'Colour?', options: ['Blue'] },
    });
  });

  it('a vote for a poll the connector never saw is a service message, not a drop', async () => {
    const { connector, sock, sink } = await openConnector(redis, prefix, 'poll2');
    connectors.push(connector);
    sock.upsert(
      [
        wa('V2', {
          pollUpdateMessage: {
            pollCreationMessageKey: { remoteJid: PN, fromMe: true, id: 'UNKNOWN' },
            vote: { encPayload: randomBytes(20), encIv: randomBytes(12) },
          },
        }),
      ],
      'notify',
    );
    await sink.waitFor(1);
    expect(sink.stored[0]).toMatchObject({ kind: 'service', text: SERVICE_TEXTS.ru.pollVoteUnreadable('unknown_poll') });
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { proto, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import {
  findMediaPart,
  normalizeWaMessage,
  unwrapContent,
  type NormalizeContext,
} from '../../../src/channels/whatsapp/inbound-normalize.ts';
import { ChatIdentity, type LidPnMapping } from '../../../src/channels/whatsapp/inbound-identity.ts';
import { SERVICE_TEXTS } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';

const PN = '79991234567@s.whatsapp.net';
const LID = '123456789012345@lid';
const CHAT = `wa:main:${PN}`;

/** A WAMessage built by Baileys' own proto, plus the key fields Baileys adds outside the proto (remoteJidAlt…). */
function wa(message: Record<string, unknown> | null, key: Partial<WAMessageKey> = {}, extra: Record<string, unknown> = {}): WAMessage {
  const info = proto.WebMessageInfo.fromObject({
    key: { remoteJid: PN, fromMe: false, id: 'ABC123', ...key },
    ...(message ? { message } : {}),
    messageTimestamp: 1_764_324_000,
    pushName: 'Ivan',
    ...extra,
  }) as WAMessage;
  Object.assign(info.key, key); // remoteJidAlt / participantAlt are not proto fields
  return info;
}

const ctx: NormalizeContext = {
  account: 'main',
  chatKey: CHAT,
  chatType: 'private',
  chatTitle: 'Ivan',
  sender: { id: `wa:${PN}`, name: 'Ivan', username: null, phone: '+79991234567' },
  media: [],
  mediaNote: null,
  receivedAt: '2025-11-28T10:00:00.120Z',
};

function norm(m: WAMessage, c: Partial<NormalizeContext> = {}) {
  const r = normalizeWaMessage(m, { ...ctx, ...c });
  if (r.action !== 'ingest') throw new Error(`expected ingest, got ${r.action}: ${r.reason}`);
  return r.message;
}

describe('normalizeWaMessage', () => {
  it('text: conversation and extendedTextMessage, with id, sentAt and sender', () => {
    const a = norm(wa({ conversation: 'Hello' }));
    expect(a).toMatchObject({
      id: `${CHAT}:ABC123`,
      chatId: CHAT,
      kind: 'text',
      text: 'Hello',
      channel: 'whatsapp',
      account: 'main',
      replyTo: null,
      target: null,
    });
    expect(a.sentAt).toBe(new Date(1_764_324_000 * 1000).toISOString());
    expect(a.sender.phone).toBe('+79991234567');
    expect(norm(wa({ extendedTextMessage: { text: 'link https://x.y' } }))).toMatchObject({ kind: 'text', text: 'link https://x.y' });
  });

  it('media kinds: image, video, audio, ptt → voice, document, documentWithCaption, sticker', () => {
    expect(norm(wa({ imageMessage: { caption: 'photo!', mimetype: 'image/jpeg' } }))).toMatchObject({ kind: 'photo', text: 'photo!' });
    expect(norm(wa({ videoMessage: { caption: 'clip', mimetype: 'video/mp4' } }))).toMatchObject({ kind: 'video', text: 'clip' });
    expect(norm(wa({ audioMessage: { mimetype: 'audio/mpeg', ptt: false } }))).toMatchObject({ kind: 'audio', text: null });
    expect(norm(wa({ audioMessage: { mimetype: 'audio/ogg; codecs=opus', ptt: true } }))).toMatchObject({ kind: 'voice' });
    expect(norm(wa({ documentMessage: { fileName: 'a.pdf', mimetype: 'application/pdf' } }))).toMatchObject({
      kind: 'document',
      text: null,
    });
    const dwc = wa({
      documentWithCaptionMessage: { message: { documentMessage: { fileName: 'b.pdf', caption: 'see this', mimetype: 'application/pdf' } } },
    });
    expect(norm(dwc)).toMatchObject({ kind: 'document', text: 'see this' });
    expect(findMediaPart(unwrapContent(dwc.message))).toMatchObject({ type: 'document', fileName: 'b.pdf', mime: 'application/pdf' });
    expect(norm(wa({ stickerMessage: { mimetype: 'image/webp' } }))).toMatchObject({ kind: 'sticker' });
  });

  it('location, live location, contact, contacts array', () => {
    expect(norm(wa({ locationMessage: { degreesLatitude: 55.75, degreesLongitude: 37.62, name: 'Red Square' } }))).toMatchObject({
      kind: 'location',
      location: { lat: 55.75, lon: 37.62, name: 'Red Square' },
    });
    expect(norm(wa({ liveLocationMessage: { degreesLatitude: 1.5, degreesLongitude: 2.5, caption: 'on my way' } }))).toMatchObject({
      kind: 'location',
      text: 'on my way',
      location: { lat: 1.5, lon: 2.5, name: null },
    });
    const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Petr\nTEL;type=CELL;waid=79990001122:+7 999 000-11-22\nEND:VCARD';
    expect(norm(wa({ contactMessage: { displayName: 'Petr', vcard } }))).toMatchObject({
      kind: 'contact',
      contact: { name: 'Petr', phone: '+79990001122' },
    });
    const arr = norm(
      wa({
        contactsArrayMessage: {
          displayName: '2 contacts',
          contacts: [{ displayName: 'A', vcard: 'BEGIN:VCARD\nTEL:+1 555 0100\nEND:VCARD' }, { displayName: 'B' }],
        },
      }),
    );
    expect(arr).toMatchObject({ kind: 'contact', text: 'A, B', contact: { name: 'A', phone: '+15550100' } });
  });

  it('polls v1, v2, v3', () => {
    for (const field of ['pollCreationMessage', 'pollCreationMessageV2', 'pollCreationMessageV3']) {
      const m = norm(wa({ [field]: { name: 'Which?', options: [{ optionName: 'x' }, { optionName: 'y' }], selectableOptionsCount: 1 } }));
      expect(m).toMatchObject({ kind: 'poll', text: 'Which?', poll: { question: 'Which?', options: ['x', 'y'] } });
    }
  });

  it('reaction, revoke → delete, edit: ids of their own, target = original', () => {
    const r = norm(
      wa({ reactionMessage: { key: { remoteJid: PN, fromMe: true, id: 'ORIG1' }, text: '👍', senderTimestampMs: 1 } }, { id: 'REACT1' }),
    );
    expect(r).toMatchObject({ id: `${CHAT}:REACT1`, kind: 'reaction', text: '👍', target: `${CHAT}:ORIG1` });
    const del = norm(
      wa({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: PN, id: 'ORIG2' } } }, { id: 'REVOKE1' }),
    );
    expect(del).toMatchObject({ id: `${CHAT}:REVOKE1`, kind: 'delete', target: `${CHAT}:ORIG2` });
    const edit = norm(
      wa(
        {
          editedMessage: {
            message: {
              protocolMessage: {
                type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
                key: { remoteJid: PN, id: 'ORIG3' },
                editedMessage: { conversation: 'fixed text' },
              },
            },
          },
        },
        { id: 'EDIT1' },
      ),
    );
    expect(edit).toMatchObject({ id: `${CHAT}:EDIT1`, kind: 'edit', text: 'fixed text', target: `${CHAT}:ORIG3` });
    const edit2 = norm(
      wa(
        {
          protocolMessage: {
            type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
            key: { id: 'ORIG4' },
            editedMessage: { extendedTextMessage: { text: 'v2' } },
          },
        },
        { id: 'EDIT2' },
      ),
    );
    expect(edit2).toMatchObject({ id: `${CHAT}:EDIT2`, kind: 'edit', text: 'v2', target: `${CHAT}:ORIG4` });
  });

  it('replies: contextInfo.stanzaId → replyTo', () => {
    const m = norm(
      wa({
        extendedTextMessage: {
          text: 'answer',
          contextInfo: { stanzaId: 'Q1', participant: PN, quotedMessage: { conversation: 'question' } },
        },
      }),
    );
    expect(m.replyTo).toBe(`${CHAT}:Q1`);
    const img = norm(wa({ imageMessage: { caption: 'c', contextInfo: { stanzaId: 'Q2' } } }));
    expect(img.replyTo).toBe(`${CHAT}:Q2`);
  });

  it('wrappers: ephemeral, viewOnce v1/v2/v2Extension, deviceSent', () => {
    const inner = { imageMessage: { caption: 'secret', mimetype: 'image/jpeg' } };
    for (const w of ['ephemeralMessage', 'viewOnceMessage', 'viewOnceMessageV2', 'viewOnceMessageV2Extension']) {
      expect(norm(wa({ [w]: { message: inner } }))).toMatchObject({ kind: 'photo', text: 'secret' });
    }
    expect(norm(wa({ ephemeralMessage: { message: { viewOnceMessageV2: { message: { conversation: 'deep' } } } } }))).toMatchObject({
      kind: 'text',
      text: 'deep',
    });
    expect(
      unwrapContent(proto.Message.fromObject({ deviceSentMessage: { destinationJid: PN, message: { conversation: 'mirror' } } })),
    ).toMatchObject({ conversation: 'mirror' });
  });

  it('groups use the context sender; unknown content → service; stubs → service; never throws', () => {
    const g = norm(wa({ conversation: 'hi all' }, { remoteJid: '120363000000000000@g.us', participant: LID }), {
      chatKey: 'wa:main:120363000000000000@g.us',
      chatType: 'group',
      chatTitle: null,
      sender: { id: `wa:${LID}`, name: 'Ivan', username: null, phone: null },
    });
    expect(g).toMatchObject({ chatId: 'wa:main:120363000000000000@g.us', chat: { type: 'group' }, sender: { id: `wa:${LID}` } });
    // the connector's own note: in the account's language, `ru` by default
    expect(norm(wa({ eventMessage: { name: 'Party' } }))).toMatchObject({
      kind: 'service',
      text: 'Клиент прислал сообщение типа, который коннектор не поддерживает (eventMessage)',
    });
    expect(norm(wa({ eventMessage: { name: 'Party' } }), { texts: SERVICE_TEXTS.en })).toMatchObject({
      kind: 'service',
      text: 'The customer sent a message of a type the connector does not support (eventMessage)',
    });
    expect(norm(wa({ pollUpdateMessage: {} }), { texts: SERVICE_TEXTS.ru, pollVote: { unknown: 'no_key' } })).toMatchObject({
      kind: 'service',
      text: 'Пришёл голос в опросе, но его не удалось прочитать: в голосе нет ключа опроса.',
    });
    const stub = norm(
      wa(null, {}, { messageStubType: proto.WebMessageInfo.StubType.GROUP_PARTICIPANT_ADD, messageStubParameters: ['1@s.whatsapp.net'] }),
    );
    expect(stub).toMatchObject({ kind: 'service', text: 'GROUP_PARTICIPANT_ADD: 1@s.whatsapp.net' });
    expect(normalizeWaMessage({ key: {} }, ctx).action).toBe('malformed');
    expect(normalizeWaMessage(wa({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE } }), ctx).action).toBe('malformed');
  });

  it('skips our own, status broadcasts, undecryptable stubs, non-content protocol messages and key distribution', () => {
    const skip = (m: WAMessage) => {
      const r = normalizeWaMessage(m, ctx);
      return r.action === 'skip' ? r.reason : r.action;
    };
    expect(skip(wa({ conversation: 'sent by us' }, { fromMe: true }))).toBe('from_me');
    expect(skip(wa({ conversation: 'story' }, { remoteJid: 'status@broadcast', participant: PN }))).toBe('broadcast');
    expect(skip(wa(null, {}, { messageStubType: proto.WebMessageInfo.StubType.CIPHERTEXT }))).toBe('undecryptable');
    expect(skip(wa({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION } }))).toBe('protocol');
    expect(skip(wa({ senderKeyDistributionMessage: { groupId: 'g', axolotlSenderKeyDistributionMessage: Buffer.from([1]) } }))).toBe(
      'key_distribution',
    );
  });

  it('a missing attachment is noted in the text', () => {
    const m = norm(wa({ imageMessage: { caption: 'look' } }), { mediaNote: 'attachment not stored: too large' });
    expect(m.text).toBe('look\n[attachment not stored: too large]');
  });
});

describe('ChatIdentity: one person, one chat key (real Redis)', () => {
  const prefix = uniquePrefix('wa-id');
  const redis = newRedis();
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });
  const noMapping: LidPnMapping = { pnForLid: async () => null, lidForPn: async () => null };

  it('a PN-addressed and a later LID-addressed message of the same person share the PN chat key', async () => {
    const id = new ChatIdentity(redis, prefix, 'a1', noMapping);
    const first = await id.resolve(PN, LID); // PN-addressed, Baileys gives the LID as remoteJidAlt
    const later = await id.resolve(LID, null); // LID-addressed, no alt this time
    expect(first.stableJid).toBe(PN);
    expect(later.stableJid).toBe(PN);
    expect(later.phone).toBe('+79991234567');
    // and the normalized messages land in one chat
    const a = norm(wa({ conversation: 'one' }, { remoteJid: PN, remoteJidAlt: LID, id: 'M1' }), { chatKey: `wa:a1:${first.stableJid}` });
    const b = norm(wa({ conversation: 'two' }, { remoteJid: LID, id: 'M2' }), { chatKey: `wa:a1:${later.stableJid}` });
    expect(a.chatId).toBe(b.chatId);
  });

  it('a person first seen only by LID keeps the LID key when the PN becomes known', async () => {
    const id = new ChatIdentity(redis, prefix, 'a2', noMapping);
    const lid = '555000111222@lid';
    const pn = '79995550000@s.whatsapp.net';
    expect((await id.resolve(lid)).stableJid).toBe(lid);
    const later = await id.resolve(pn, lid);
    expect(later.stableJid).toBe(lid);
    expect(later.phone).toBe('+79995550000');
    expect((await id.resolve(pn)).stableJid).toBe(lid);
  });

  it("uses Baileys' lid-mapping when the message carries no alternative", async () => {
    const mapping: LidPnMapping = { pnForLid: async (l) => (l === LID ? PN : null), lidForPn: async (p) => (p === PN ? LID : null) };
    const id = new ChatIdentity(redis, prefix, 'a3', mapping);
    const r = await id.resolve(`${LID.split('@')[0]}:3@lid`); // a device jid is normalized
    expect(r).toMatchObject({ stableJid: PN, pn: PN, lid: LID, phone: '+79991234567' });
  });
});

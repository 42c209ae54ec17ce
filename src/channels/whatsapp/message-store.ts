/**
 * What the channel remembers about messages, in Redis with a TTL (bounded):
 *  - what we sent, as protobuf, so Baileys' `getMessage` can serve a recipient's decrypt
 *    retry (Socket/messages-recv.js `sendMessagesAgain`);
 *  - WhatsApp key.id → our outbound id, so receipts become statuses of our ids;
 *  - our message id (inbound or outbound) → WhatsApp key + content, so a reply can quote
 *    it (`sendMessage(..., { quoted })` needs both, Utils/messages.js).
 */
import { proto, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import type { Redis } from 'ioredis';
import { accountKeys, type AccountKeys } from './redis-keys.ts';

export interface MessageStoreOptions {
  redis: Redis;
  prefix: string;
  account: string;
  /** How long sent messages, id mappings and quotable messages are kept (default 7 days). */
  ttlSeconds?: number;
}

interface StoredQuote {
  key: WAMessageKey;
  message: string;
}

function encodeMessage(m: proto.IMessage): string {
  return Buffer.from(proto.Message.encode(m).finish()).toString('base64');
}

function decodeMessage(b64: string): proto.IMessage {
  return proto.Message.decode(Buffer.from(b64, 'base64'));
}

function plainKey(key: WAMessageKey): WAMessageKey {
  const out: WAMessageKey = { remoteJid: key.remoteJid ?? null, fromMe: !!key.fromMe, id: key.id ?? null };
  if (key.participant) out.participant = key.participant;
  // the alternative addresses (PN / LID) name a poll's creator for decrypting its votes
  if (key.remoteJidAlt) out.remoteJidAlt = key.remoteJidAlt;
  if (key.participantAlt) out.participantAlt = key.participantAlt;
  return out;
}

export class WaMessageStore {
  private readonly keys: AccountKeys;
  private readonly ttl: number;

  constructor(private readonly opts: MessageStoreOptions) {
    this.keys = accountKeys(opts.prefix, opts.account);
    this.ttl = opts.ttlSeconds ?? 7 * 24 * 3600;
  }

  /** Records one WhatsApp message we sent for our outbound message `ourId`. */
  async rememberSent(ourId: string, sent: WAMessage, first: boolean): Promise<void> {
    const waId = sent.key.id;
    if (!waId || !sent.message) return;
    const multi = this.opts.redis.multi();
    multi.set(this.keys.sent(waId), encodeMessage(sent.message), 'EX', this.ttl);
    multi.set(this.keys.outId(waId), ourId, 'EX', this.ttl);
    if (first)
      multi.set(
        this.keys.quote(ourId),
        JSON.stringify({ key: plainKey(sent.key), message: encodeMessage(sent.message) } satisfies StoredQuote),
        'EX',
        this.ttl,
      );
    await multi.exec();
  }

  /** For the socket's `getMessage` option. */
  async getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined> {
    if (!key.id) return undefined;
    const raw = await this.opts.redis.get(this.keys.sent(key.id));
    return raw ? decodeMessage(raw) : undefined;
  }

  async outboundIdOf(waId: string): Promise<string | null> {
    return this.opts.redis.get(this.keys.outId(waId));
  }

  /** Keeps an inbound message quotable under our id. */
  async rememberQuotable(messageId: string, msg: WAMessage): Promise<void> {
    if (!msg.message || !msg.key.id) return;
    await this.opts.redis.set(
      this.keys.quote(messageId),
      JSON.stringify({ key: plainKey(msg.key), message: encodeMessage(msg.message) } satisfies StoredQuote),
      'EX',
      this.ttl,
    );
  }

  /** The WAMessage to quote for our message id, or null when unknown or expired. */
  async quoted(messageId: string): Promise<WAMessage | null> {
    const raw = await this.opts.redis.get(this.keys.quote(messageId));
    if (!raw) return null;
    const q = JSON.parse(raw) as StoredQuote;
    return { key: q.key, message: decodeMessage(q.message) };
  }
}

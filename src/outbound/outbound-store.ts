/**
 * The record of each outbound message in Redis (one hash per id): what `GET
 * /api/v1/messages/:id` shows and what makes `POST` idempotent.
 *
 * - `accept` stores a new record atomically (one Lua call): of two racing requests with the
 *   same id exactly one creates it; the other sees the first one's record.
 * - `advance` moves the status forward only (queued → sent → failed → delivered → read; see
 *   STATUS_RANK), so a late or repeated receipt never moves it back. Timestamps and the
 *   messenger's ids are recorded even when the status itself does not move.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DeliveryStatus, OutboundMessage, StatusEvent } from '../core/index.ts';

/**
 * Order of statuses. `failed` ranks above `sent` (a late failure after the send was
 * accepted) and below `delivered`/`read` (a receipt proves the message arrived after all).
 */
export const STATUS_RANK: Record<DeliveryStatus, number> = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };

export interface OutboundRecord {
  id: string;
  chatId: string;
  operatorId: string | null;
  status: DeliveryStatus;
  /** The reason of `failed`. */
  error: string | null;
  /** The `code` of the error behind `failed` (e.g. `telegram_blocked`). */
  errorCode: string | null;
  nativeIds: string[];
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  failedAt: string | null;
  updatedAt: string;
  /** Fingerprint of the request body (idempotency conflicts). */
  fingerprint: string;
  /** The message itself while it is queued (dropped once it is sent or failed). */
  message: OutboundMessage | null;
}

export type AcceptResult = { created: true } | { created: false; record: OutboundRecord };

export type AdvanceResult = { outcome: 'missing' } | { outcome: 'advanced' | 'same' | 'stale'; chatId: string; operatorId: string | null };

export interface OutboundStoreOptions {
  redis: Redis;
  /** Key prefix (QUEUE_PREFIX); records are `<prefix>:outbound:msg:<id>`. */
  prefix: string;
  /** How long a record (and so idempotency by id) is kept (default 30 days). */
  recordTtlS?: number;
}

/** ARGV: key, ttlS, then field/value pairs. Returns {1} created, or {0} when the key exists. */
const ACCEPT = `
if redis.call('EXISTS', ARGV[1]) == 1 then return {0} end
local kv = {}
for i = 3, #ARGV do kv[#kv + 1] = ARGV[i] end
redis.call('HSET', ARGV[1], unpack(kv))
redis.call('EXPIRE', ARGV[1], tonumber(ARGV[2]))
return {1}
`;

/**
 * ARGV: key, status, rank, at, error, errorCode, nativeIdsJson ('' = none).
 * Returns {outcome, chatId, operatorId}.
 */
const ADVANCE = `
local key = ARGV[1]
if redis.call('EXISTS', key) == 0 then return {'missing'} end
local ranks = { queued = 0, sent = 1, failed = 2, delivered = 3, read = 4 }
local status, rank, at = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local cur = redis.call('HGET', key, 'status') or 'queued'
local curRank = ranks[cur] or 0
redis.call('HSETNX', key, status .. 'At', at)
if ARGV[7] ~= '' then redis.call('HSET', key, 'nativeIds', ARGV[7]) end
local outcome = 'stale'
if rank > curRank then
  outcome = 'advanced'
  redis.call('HSET', key, 'status', status, 'updatedAt', at)
  if status == 'failed' then redis.call('HSET', key, 'error', ARGV[5], 'errorCode', ARGV[6]) end
  redis.call('HDEL', key, 'message')
elseif rank == curRank then
  outcome = 'same'
end
local ids = redis.call('HMGET', key, 'chatId', 'operatorId')
return {outcome, ids[1] or '', ids[2] or ''}
`;

type StoreRedis = Redis & {
  outboundAccept(...args: (string | number)[]): Promise<number[]>;
  outboundAdvance(...args: (string | number)[]): Promise<string[]>;
};

/** A stable fingerprint of what was asked to be sent (not of `createdAt`). */
export function fingerprintOf(m: Pick<OutboundMessage, 'chatId' | 'text' | 'media' | 'replyTo' | 'operatorId'>): string {
  const canon = JSON.stringify([
    m.chatId,
    m.text,
    m.media.map((x) => [x.url ?? null, x.base64 ?? null, x.mediaId ?? null, x.mime ?? null, x.fileName ?? null, x.kind ?? null]),
    m.replyTo,
    m.operatorId,
  ]);
  return createHash('sha256').update(canon).digest('hex');
}

export class OutboundStore {
  private readonly redis: StoreRedis;
  private readonly prefix: string;
  readonly recordTtlS: number;

  constructor(o: OutboundStoreOptions) {
    const r = o.redis as StoreRedis;
    if (typeof r.outboundAccept !== 'function') {
      // KEYS[1] is only a routing key (the record's own key, which the bodies take from ARGV[1]):
      // a Redis Cluster client sends a script without keys to any node. The scripts helper
      // makes the record a KEYS argument proper.
      o.redis.defineCommand('outboundAccept', { numberOfKeys: 1, lua: ACCEPT });
      o.redis.defineCommand('outboundAdvance', { numberOfKeys: 1, lua: ADVANCE });
    }
    this.redis = r;
    this.prefix = o.prefix;
    this.recordTtlS = o.recordTtlS ?? 30 * 24 * 3600;
  }

  private key(id: string): string {
    return `${this.prefix}:outbound:msg:${id}`;
  }

  /** Creates the record of a new message, or returns the existing one of the same id. */
  async accept(message: OutboundMessage, fingerprint: string): Promise<AcceptResult> {
    const fields: Record<string, string> = {
      id: message.id,
      chatId: message.chatId,
      operatorId: message.operatorId ?? '',
      status: 'queued',
      createdAt: message.createdAt,
      updatedAt: message.createdAt,
      fingerprint,
      message: JSON.stringify(message),
    };
    const res = await this.redis.outboundAccept(
      this.key(message.id),
      this.key(message.id),
      this.recordTtlS,
      ...Object.entries(fields).flat(),
    );
    if (Number(res[0]) === 1) return { created: true };
    const record = await this.get(message.id);
    // Expired between the two calls (after recordTtlS): treat as new.
    if (!record) return this.accept(message, fingerprint);
    return { created: false, record };
  }

  async get(id: string): Promise<OutboundRecord | null> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h.id) return null;
    return {
      id: h.id,
      chatId: h.chatId,
      operatorId: h.operatorId || null,
      status: (h.status as DeliveryStatus) ?? 'queued',
      error: h.error || null,
      errorCode: h.errorCode || null,
      nativeIds: h.nativeIds ? (JSON.parse(h.nativeIds) as string[]) : [],
      createdAt: h.createdAt,
      sentAt: h.sentAt ?? null,
      deliveredAt: h.deliveredAt ?? null,
      readAt: h.readAt ?? null,
      failedAt: h.failedAt ?? null,
      updatedAt: h.updatedAt ?? h.createdAt,
      fingerprint: h.fingerprint,
      message: h.message ? (JSON.parse(h.message) as OutboundMessage) : null,
    };
  }

  /** Records a status event; the status only ever moves forward (see STATUS_RANK). */
  async advance(event: StatusEvent & { errorCode?: string }): Promise<AdvanceResult> {
    const res = await this.redis.outboundAdvance(
      this.key(event.id),
      this.key(event.id),
      event.status,
      STATUS_RANK[event.status],
      event.at,
      event.error ?? '',
      event.errorCode ?? '',
      event.status === 'sent' && event.nativeIds?.length ? JSON.stringify(event.nativeIds) : '',
    );
    const outcome = String(res[0]) as AdvanceResult['outcome'];
    if (outcome === 'missing') return { outcome };
    return { outcome, chatId: String(res[1]), operatorId: res[2] ? String(res[2]) : null };
  }
}

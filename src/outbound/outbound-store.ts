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
import { defineScripts, luaScript } from '../redis/redis-scripts.ts';

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

const SCRIPTS = [
  luaScript(new URL('./scripts/outboundAccept-1.lua', import.meta.url)),
  luaScript(new URL('./scripts/outboundAdvance-1.lua', import.meta.url)),
];

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
    defineScripts(o.redis, SCRIPTS);
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
    const res = await this.redis.outboundAccept(this.key(message.id), this.recordTtlS, ...Object.entries(fields).flat());
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

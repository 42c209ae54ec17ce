/**
 * The update log of pull mode (onec-pull.md): ONE ordered, durable log per deployment of
 * everything push mode would have sent to 1C — inbound messages, delivery statuses,
 * routing events — which a job in 1C reads with `GET /api/v1/onec/updates` and commits
 * with `POST /api/v1/onec/ack`.
 *
 *   lane driver ──laneHandoff-4 (Lua: XADD … + ZREMRANGEBYSCORE, lock-fenced)──▶ stream
 *   GET /updates ──XRANGE (after ──▶ or XREAD BLOCK on a dedicated connection──▶ 1C
 *   POST /ack ──updateLogAck-2 (Lua: committed = max(committed, cursor); XTRIM MINID)──▶ trimmed
 *
 * - A Redis Stream, no MAXLEN: unacknowledged entries stay for as long as it takes.
 *   Acknowledged ones are trimmed, so XLEN is "updates waiting" and the first entry's id
 *   is the age of the oldest.
 * - Order: the lanes hand a key's items off from its head, in seq order, under the key's
 *   lock, and the stream keeps the order of XADD — so a chat's messages (and a message's
 *   statuses, a chat's routing events) appear exactly in push mode's order.
 * - The cursor is the stream id plus the log's epoch (a random name made when the log is
 *   first used), encoded as `<epoch>-<ms base36, 9><seq base36, 5>`: opaque, increasing in
 *   serving order (also as text), and a cursor of another deployment or of a wiped Redis
 *   is recognised as unknown instead of silently skipping or repeating updates.
 * - Waking: XREAD BLOCK returns as soon as an instance XADDs to the stream — no
 *   pub/sub needed. Each waiting request holds its own connection (released when the
 *   client goes away); a few idle ones are kept for the next poll.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConnectorError } from '../core/index.ts';
import { defineScripts } from '../redis/redis-scripts.ts';
import { UPDATE_LOG_ACK_SCRIPT, UPDATE_LOG_APPEND_SCRIPT } from './update-log-scripts.js';

export type UpdateType = 'message' | 'status' | 'routing';

/** One stored update: its stream id, type and payload (the JSON text push mode would send). */
export interface UpdateEntry {
  id: string;
  type: UpdateType;
  payload: string;
}

export interface UpdateLogOptions {
  redis: Redis;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** Idle blocking connections kept for the next long poll (default 2). */
  idleBlockers?: number;
}

export interface UpdateLogStats {
  /** Updates not acknowledged yet. */
  waiting: number;
  /** When the oldest of them was stored (ms), or null when none wait. */
  oldestMs: number | null;
  /** When 1C last asked for updates (ms, any instance), or null when it never has. */
  lastPollMs: number | null;
}

interface Meta {
  epoch: string;
  committed: string;
  last: string;
}

type LogRedis = Redis & {
  updateLogAck(stream: string, meta: string, id: string, next: string): Promise<number>;
  updateLogAppendOnce(...args: (string | number)[]): Promise<number>;
};

/** How long a hand-off's record (appendOnce) is kept: far beyond any driver stall (the lanes' dedupe window). */
const HANDED_TTL_S = 7 * 24 * 3600;

const CURSOR = /^([0-9a-z]{8})-([0-9a-z]{9})([0-9a-z]{5})$/;

export function invalidCursor(cursor: string): ConnectorError {
  const shown = cursor.length > 40 ? `${cursor.slice(0, 40)}…` : cursor;
  return new ConnectorError(
    'invalid_cursor',
    `The cursor "${shown}" is not one this connector gave out; start again without "after" to read from the oldest unacknowledged update.`,
    { httpStatus: 400 },
  );
}

/** Compares two stream ids (`ms-seq`). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

export function encodeCursor(epoch: string, id: string): string {
  const [ms, seq] = id.split('-').map(Number);
  return `${epoch}-${ms.toString(36).padStart(9, '0')}${seq.toString(36).padStart(5, '0')}`;
}

/** The epoch and stream id of a cursor, or null when it is malformed. */
export function decodeCursor(cursor: string): { epoch: string; id: string } | null {
  const m = CURSOR.exec(cursor);
  if (!m) return null;
  return { epoch: m[1], id: `${parseInt(m[2], 36)}-${parseInt(m[3], 36)}` };
}

function entryOf(raw: [string, string[]]): UpdateEntry {
  const [id, fields] = raw;
  let type = '';
  let payload = '';
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 't') type = fields[i + 1];
    else if (fields[i] === 'u') payload = fields[i + 1];
  }
  return { id, type: type as UpdateType, payload };
}

export class UpdateLog {
  readonly streamKey: string;
  readonly metaKey: string;
  /** QUEUE_PREFIX: a lane under another prefix (a shard) hands off with `appendOnce`. */
  readonly prefix: string;
  private readonly redis: LogRedis;
  private readonly idle: Redis[] = [];
  private readonly busy = new Set<Redis>();
  private closed = false;

  constructor(private readonly o: UpdateLogOptions) {
    this.streamKey = `${o.prefix}:updates:stream`;
    this.metaKey = `${o.prefix}:updates:meta`;
    this.prefix = o.prefix;
    this.redis = o.redis as LogRedis;
    defineScripts(this.redis, [UPDATE_LOG_ACK_SCRIPT, UPDATE_LOG_APPEND_SCRIPT]);
  }

  /**
   * QUEUE_SHARDS > 1: appends one hand-off's updates (a shard lane's items, recorded under
   * `handOffId` in the lane — ordered-lane.ts) unless that hand-off was added before
   * (updateLogAppendOnce-3). Returns how many were added (0 for a repeat).
   */
  async appendOnce(handOffId: string, updates: { type: UpdateType; payload: string }[]): Promise<number> {
    if (updates.length === 0) return 0;
    const args: (string | number)[] = [this.streamKey, this.metaKey, `${this.prefix}:updates:handed:${handOffId}`, HANDED_TTL_S];
    for (const u of updates) args.push(u.type, u.payload);
    return Number(await this.redis.updateLogAppendOnce(...args));
  }

  /** The log's epoch, committed pointer and last stream id (the epoch is made on first use). */
  private async meta(): Promise<Meta> {
    const [stored, committed, last] = await this.redis.hmget(this.metaKey, 'epoch', 'committed', 'last');
    let epoch = stored;
    if (!epoch) {
      const made = randomBytes(6).readUIntBE(0, 6).toString(36).padStart(8, '0').slice(-8);
      await this.redis.hsetnx(this.metaKey, 'epoch', made);
      epoch = (await this.redis.hget(this.metaKey, 'epoch')) ?? made;
    }
    return { epoch, committed: committed ?? '0-0', last: last ?? '0-0' };
  }

  /** The stream id a cursor stands for; throws `400 invalid_cursor` for a malformed or unknown one. */
  private idOf(cursor: string, m: Meta): string {
    const d = decodeCursor(cursor);
    if (!d || d.epoch !== m.epoch || compareIds(d.id, m.last) > 0) throw invalidCursor(cursor);
    return d.id;
  }

  /**
   * Updates after `after` (absent: after the committed pointer), oldest first. With none
   * and `waitMs` > 0, waits for the first new one (an XADD by whichever instance wakes it) until
   * `waitMs` passes or `signal` aborts (the client went away).
   */
  async fetch(q: { after: string | null; limit: number; waitMs: number; signal?: AbortSignal }): Promise<{
    updates: UpdateEntry[];
    next: string;
    epoch: string;
  }> {
    const fast = q.after !== null ? await this.readAfter(q.after, q.limit) : null;
    let m: Meta;
    let from: string;
    let range: [string, string[]][];
    if (fast) ({ m, from, range } = fast);
    else {
      m = await this.meta();
      from = m.committed;
      if (q.after !== null) {
        const id = this.idOf(q.after, m);
        // Entries up to the pointer are trimmed: reading after an older cursor starts at the pointer.
        if (compareIds(id, m.committed) > 0) from = id;
      }
      [, range] = await Promise.all([
        this.redis.hset(this.metaKey, 'poll', Date.now()),
        this.redis.xrange(this.streamKey, `(${from}`, '+', 'COUNT', q.limit),
      ]);
    }
    let updates = range.map(entryOf);
    if (updates.length === 0 && q.waitMs > 0 && !q.signal?.aborted) updates = await this.block(from, q.limit, q.waitMs, q.signal);
    const next = updates.length ? encodeCursor(m.epoch, updates[updates.length - 1].id) : (q.after ?? encodeCursor(m.epoch, from));
    return { updates, next, epoch: m.epoch };
  }

  /**
   * The usual poll (a cursor ahead of the pointer) in ONE round trip: the meta hash, the
   * poll time and the page after the cursor, pipelined; the cursor is checked against the
   * meta read in the same pipeline before anything is returned. Null when that read cannot
   * serve the poll (no epoch yet, or a cursor at or behind the pointer): the caller then
   * takes the two-step path.
   */
  private async readAfter(after: string, limit: number): Promise<{ m: Meta; from: string; range: [string, string[]][] } | null> {
    const d = decodeCursor(after);
    if (!d) throw invalidCursor(after);
    const res = await this.redis
      .pipeline()
      .hmget(this.metaKey, 'epoch', 'committed', 'last')
      .hset(this.metaKey, 'poll', Date.now())
      .xrange(this.streamKey, `(${d.id}`, '+', 'COUNT', limit)
      .exec();
    if (!res) return null;
    for (const [err] of res) if (err) throw err;
    const [epoch, committed, last] = res[0][1] as (string | null)[];
    if (!epoch) return null;
    const m: Meta = { epoch, committed: committed ?? '0-0', last: last ?? '0-0' };
    const id = this.idOf(after, m);
    if (compareIds(id, m.committed) <= 0) return null;
    return { m, from: id, range: res[2][1] as [string, string[]][] };
  }

  private async block(from: string, limit: number, waitMs: number, signal?: AbortSignal): Promise<UpdateEntry[]> {
    if (this.closed) return [];
    const conn = this.idle.pop() ?? this.redis.duplicate({ connectionName: 'chat-connector-updates-wait' });
    this.busy.add(conn);
    // XREAD BLOCK cannot be cancelled on its connection: a client that leaves closes it.
    const onAbort = () => conn.disconnect();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await conn.xread('COUNT', limit, 'BLOCK', waitMs, 'STREAMS', this.streamKey, from);
      return res?.[0]?.[1].map(entryOf) ?? [];
    } catch (err) {
      if (signal?.aborted || this.closed) return [];
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.busy.delete(conn);
      if (!signal?.aborted && !this.closed && this.idle.length < (this.o.idleBlockers ?? 2)) this.idle.push(conn);
      else conn.disconnect();
    }
  }

  /** Entries after `afterId` up to and including `toId`, oldest first (at most `limit`). */
  async range(afterId: string, toId: string, limit: number): Promise<UpdateEntry[]> {
    const raw = await this.redis.xrange(this.streamKey, `(${afterId}`, toId, 'COUNT', limit);
    return raw.map(entryOf);
  }

  /** The stream id of a cursor and the committed pointer before an ack (for rejected ids). */
  async resolve(cursor: string): Promise<{ id: string; committed: string }> {
    const m = await this.meta();
    return { id: this.idOf(cursor, m), committed: m.committed };
  }

  /** Commits every update up to and including the stream id; returns how many that removed. */
  async commit(id: string): Promise<number> {
    const [ms, seq] = id.split('-');
    return Number(await this.redis.updateLogAck(this.streamKey, this.metaKey, id, `${ms}-${Number(seq) + 1}`));
  }

  /** The committed pointer as a cursor (where a poller without `after` starts). */
  async committedCursor(): Promise<string> {
    const m = await this.meta();
    return encodeCursor(m.epoch, m.committed);
  }

  async stats(): Promise<UpdateLogStats> {
    const [waiting, first, poll] = await Promise.all([
      this.redis.xlen(this.streamKey),
      this.redis.xrange(this.streamKey, '-', '+', 'COUNT', 1),
      this.redis.hget(this.metaKey, 'poll'),
    ]);
    const oldest = first[0]?.[0];
    return { waiting, oldestMs: oldest ? Number(oldest.split('-')[0]) : null, lastPollMs: poll === null ? null : Number(poll) };
  }

  /** Ends every waiting long poll (they answer with no updates) and drops idle connections. */
  close(): void {
    this.closed = true;
    for (const c of [...this.idle.splice(0), ...this.busy]) c.disconnect();
    this.busy.clear();
  }
}

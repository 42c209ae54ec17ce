/**
 * The operator live feed (connector-api.md `GET /api/v1/operators/feed`): one durable Redis
 * Stream per operator (`<prefix>:operators:feed:<operatorId>`, bounded with `MAXLEN ~`),
 * served as Server-Sent Events. The SSE event id is the stream id, so a client that
 * reconnects with `Last-Event-ID` gets exactly the entries after the last one it saw — no
 * gap, no repeat — as long as they are still within the bound.
 *
 * Each open feed reads with `XREAD BLOCK` on a Redis connection of its own, closed when the
 * client goes away; a comment line every `heartbeatMs` keeps proxies from closing an idle
 * stream.
 */
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { describeError, silentLogger, type Logger } from '../core/index.ts';

/**
 * `session-ended` is a control entry, never shown to the client: an admin revoke writes it
 * so every open feed of that operator, on any instance, re-checks its login at once
 * instead of at the next heartbeat.
 */
export type FeedEventType = 'message' | 'routing' | 'status' | 'session-ended';

export interface FeedEntry {
  operatorId: string;
  type: FeedEventType;
  data: unknown;
}

export interface OperatorFeedOptions {
  redis: Redis;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** Most entries kept per operator, approximately (default 10 000). */
  maxLen?: number;
  /** An operator's stream is dropped after this long without new entries (default 7 days). */
  retentionS?: number;
  /** Comment line interval when nothing happens (default 15 000 ms). */
  heartbeatMs?: number;
  logger?: Logger;
}

export interface ServeOptions {
  operatorId: string;
  /** Last-Event-ID of a reconnecting client, or where a fresh feed starts (a stream id). */
  after: string;
  /** Checked at every heartbeat: false ends the feed (token expired or logged out). */
  stillValid?: () => Promise<boolean>;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function isStreamId(v: unknown): v is string {
  return typeof v === 'string' && STREAM_ID.test(v);
}

/** The stream id just before the given time (a fresh feed starts at its login). */
export function streamIdBefore(ms: number): string {
  return `${Math.max(0, ms - 1)}-18446744073709551615`;
}

export class OperatorFeed {
  private readonly r: Redis;
  private readonly base: string;
  private readonly maxLen: number;
  private readonly retentionS: number;
  readonly heartbeatMs: number;
  private readonly log: Logger;
  private readonly open = new Set<{ close(): void }>();

  constructor(o: OperatorFeedOptions) {
    this.r = o.redis;
    this.base = `${o.prefix}:operators:feed:`;
    this.maxLen = o.maxLen ?? 10_000;
    this.retentionS = o.retentionS ?? 7 * 24 * 3600;
    this.heartbeatMs = o.heartbeatMs ?? 15_000;
    this.log = o.logger ?? silentLogger;
  }

  key(operatorId: string): string {
    return this.base + operatorId;
  }

  /** Appends entries (in the given order per operator). */
  async publish(entries: FeedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const p = this.r.pipeline();
    for (const e of entries) {
      const k = this.key(e.operatorId);
      p.xadd(k, 'MAXLEN', '~', String(this.maxLen), '*', 'type', e.type, 'data', JSON.stringify(e.data));
      p.expire(k, this.retentionS);
    }
    const res = await p.exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** Feeds open in this process right now. */
  get openFeeds(): number {
    return this.open.size;
  }

  /** Serves one feed on a raw response until the client disconnects (or the login ends). */
  async serve(res: ServerResponse, opts: ServeOptions): Promise<void> {
    const key = this.key(opts.operatorId);
    const conn = this.r.duplicate();
    conn.on('error', () => undefined);
    let closed = false;
    const handle = {
      close: () => {
        closed = true;
        conn.disconnect();
      },
    };
    this.open.add(handle);
    res.on('close', handle.close);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 3000\n: feed of ${opts.operatorId}\n\n`);
    let last = opts.after;
    try {
      while (!closed) {
        let batch: [string, [string, string[]][]][] | null;
        try {
          batch = await conn.xread('COUNT', 100, 'BLOCK', this.heartbeatMs, 'STREAMS', key, last);
        } catch (err) {
          if (closed) break;
          this.log.warn({ err: describeError(err) }, 'feed read failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        if (closed) break;
        if (!batch) {
          if (!res.write(': heartbeat\n\n')) await drain(res);
          if (opts.stillValid && !(await opts.stillValid())) {
            res.write('event: logout\ndata: {}\n\n');
            break;
          }
          continue;
        }
        let chunk = '';
        let recheck = false;
        for (const [, entries] of batch) {
          for (const [id, fields] of entries) {
            const f = fieldsOf(fields);
            last = id;
            if (f.type === 'session-ended') {
              recheck = true;
              continue;
            }
            chunk += `id: ${id}\nevent: ${f.type ?? 'message'}\ndata: ${f.data ?? '{}'}\n\n`;
          }
        }
        if (chunk && !res.write(chunk)) await drain(res);
        if (recheck && opts.stillValid && !(await opts.stillValid())) {
          res.write('event: logout\ndata: {}\n\n');
          break;
        }
      }
    } finally {
      this.open.delete(handle);
      res.off('close', handle.close);
      conn.disconnect();
      if (!res.writableEnded) res.end();
    }
  }

  /** Ends every open feed (shutdown). */
  closeAll(): void {
    for (const h of [...this.open]) h.close();
  }
}

function fieldsOf(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

async function drain(res: ServerResponse): Promise<void> {
  if (res.destroyed) return;
  await Promise.race([once(res, 'drain'), once(res, 'close')]);
}

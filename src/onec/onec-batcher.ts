/**
 * Coalesces concurrent deliveries to one endpoint into batches of at most `batchMax`
 * items. A caller's items always travel in one request; a batch leaves as soon as a
 * session is free (no linger: items gather while earlier calls are in flight); each
 * caller gets the results of its own items, matched by id.
 *
 * The session is the scarce thing (one 1C session costs a license and serves one call at
 * a time), so nothing of the connector's own work stands between one call and the next
 * (issue 19): a caller's items are encoded to JSON when they are queued, while a call is
 * in flight; when an answer comes, the session goes to the next queued batch — whose
 * request is on the wire before the answer's results are handed to their callers (who then
 * acknowledge, route and read the next items while 1C works on that request).
 *
 * Side traffic lingers while the sessions are busy (`lingerWhenBusyMs`): routing events come
 * one or two per chat when a backlog of many chats drains, and each call costs 1C its fixed
 * price (tens of ms) — sent as they came, they took every other call of the one session
 * (186 routing calls beside 200 message calls in a 200-chat drain). While every session is
 * taken, such a batch waits until it is full or its oldest item has waited the linger; with a
 * session free it leaves at once, so light traffic sees no delay.
 */
import { ValidationError } from '../core/index.ts';
import { OnecProtocolError } from './onec-errors.ts';
import type { OnecSessionPool, PooledSession } from './onec-session-pool.ts';
import type { OnecTransport } from './onec-transport.ts';
import { ONEC_ITEM_STATUSES, type OnecItemResult } from './onec-types.ts';

interface Entry<I> {
  items: I[];
  /** The items on the wire: their JSON, without the enclosing brackets. */
  json: string;
  /** When it was queued (the linger counts from the oldest). */
  at: number;
  resolve: (r: OnecItemResult[]) => void;
  reject: (e: unknown) => void;
}

export interface OnecBatcherOptions<I> {
  /** `messages`, `statuses` or `routing` (the path without the slash). */
  endpoint: 'messages' | 'statuses' | 'routing';
  /** The body's list field: `messages`, `statuses` or `events`. */
  key: string;
  batchMax: number;
  pool: OnecSessionPool;
  transport: OnecTransport;
  /** What of an item goes on the wire (default: the item itself). */
  toWire?: (item: I) => unknown;
  /**
   * While every session is busy, a batch that is not full waits until its oldest item is
   * this old (see the header). Default 0: never waits (inbound messages: the main traffic).
   */
  lingerWhenBusyMs?: number;
}

export class OnecBatcher<I extends { id: string }> {
  private readonly queue: Array<Entry<I>> = [];
  private acquiring = false;
  private queuedItems = 0;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: OnecBatcherOptions<I>) {}

  async submit(items: I[]): Promise<OnecItemResult[]> {
    if (items.length > this.o.batchMax) {
      throw new ValidationError(
        `At most ${this.o.batchMax} items can be delivered to 1C in one call, got ${items.length}.`,
        'onec_batch_too_large',
      );
    }
    if (items.length === 0) return [];
    const toWire = this.o.toWire;
    // Encoded now, while the session may be busy with an earlier call (not after it frees).
    const json = JSON.stringify(toWire ? items.map(toWire) : items).slice(1, -1);
    return new Promise<OnecItemResult[]>((resolve, reject) => {
      this.queue.push({ items: [...items], json, at: Date.now(), resolve, reject });
      this.queuedItems += items.length;
      this.kick();
    });
  }

  private kick(): void {
    if (this.acquiring || this.queue.length === 0 || this.lingers()) return;
    this.acquiring = true;
    this.o.pool.acquire().then(
      (s) => {
        this.acquiring = false;
        const batch = this.take();
        if (batch.length === 0) {
          this.o.pool.release(s);
          return;
        }
        this.kick();
        void this.send(s, batch);
      },
      (err: unknown) => {
        this.acquiring = false;
        this.queuedItems = 0;
        for (const e of this.queue.splice(0)) e.reject(err);
      },
    );
  }

  /** True while a partial batch waits for more items (sessions busy, linger not over). */
  private lingers(): boolean {
    const linger = this.o.lingerWhenBusyMs ?? 0;
    if (linger <= 0 || this.queuedItems >= this.o.batchMax || !this.o.pool.saturated) return false;
    const left = this.queue[0].at + linger - Date.now();
    if (left <= 0) return false;
    if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.kick();
      }, left);
    }
    return true;
  }

  /** Whole entries from the head of the queue while they fit in one batch. */
  private take(): Array<Entry<I>> {
    const batch: Array<Entry<I>> = [];
    let n = 0;
    while (this.queue.length > 0 && n + this.queue[0].items.length <= this.o.batchMax) {
      const e = this.queue.shift() as Entry<I>;
      n += e.items.length;
      this.queuedItems -= e.items.length;
      batch.push(e);
    }
    return batch;
  }

  /** One call with the batch; gives the session back (exactly once) before its callers hear. */
  private async send(s: PooledSession, batch: Array<Entry<I>>): Promise<void> {
    const path = `/${this.o.endpoint}`;
    let byId: Map<string, OnecItemResult[]>;
    try {
      const json = `{${JSON.stringify(this.o.key)}:[${batch.map((e) => e.json).join(',')}]}`;
      const res = await this.o.pool.call(s, { method: 'POST', path, json });
      byId = indexResults(this.o.transport.json(res, path), path);
    } catch (err) {
      this.o.pool.release(s);
      for (const e of batch) e.reject(err);
      return;
    }
    // The next queued batch takes the session now; its request is written out (the rest of
    // this turn of the event loop) before the callers below go on with their own work.
    this.o.pool.release(s);
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const e of batch) {
      const out: OnecItemResult[] = [];
      const missing = e.items.find((item) => {
        const r = byId.get(item.id)?.shift();
        if (r) out.push(r);
        return !r;
      });
      if (missing) e.reject(new OnecProtocolError(`1C's answer to ${path} has no result for item ${missing.id}.`));
      else e.resolve(out);
    }
  }
}

/** Results by id (a list per id, in order, so an id sent twice gets both answers). */
function indexResults(data: unknown, path: string): Map<string, OnecItemResult[]> {
  const results = typeof data === 'object' && data !== null ? (data as { results?: unknown }).results : undefined;
  if (!Array.isArray(results)) throw new OnecProtocolError(`1C's answer to ${path} has no "results" list.`);
  const byId = new Map<string, OnecItemResult[]>();
  for (const r of results as unknown[]) {
    const o = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    if (typeof o.id !== 'string' || typeof o.status !== 'string' || !ONEC_ITEM_STATUSES.has(o.status)) {
      throw new OnecProtocolError(`1C's answer to ${path} has a result that is not {id, status}.`);
    }
    const item: OnecItemResult = { id: o.id, status: o.status as OnecItemResult['status'] };
    if (typeof o.error === 'string') item.error = o.error;
    let list = byId.get(o.id);
    if (!list) byId.set(o.id, (list = []));
    list.push(item);
  }
  return byId;
}

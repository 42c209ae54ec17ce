/**
 * The 1C job of pull mode, emulated: fetches `GET /api/v1/onec/updates`, stores each
 * update by id in the emulator's store exactly as `POST /messages`, `/statuses`,
 * `/routing` would (so a repeat is a `duplicate`, never a second copy), and acknowledges
 * with `POST /api/v1/onec/ack`, listing the messages the store rejected.
 *
 * Like a real job it can be slow (pauses), read small or large pages, and crash between
 * fetch and ack: the page is then dropped without an ack and the next poll starts again
 * from the oldest unacknowledged update (a restarted job keeps no cursor in memory).
 *
 * `prefetch` asks for the next page while the current one is being stored (after the
 * current page's cursor, before its ack — the contract allows it: `after` is what the
 * caller has stored, the ack only moves the pointer). A real 1C job, one background job
 * making synchronous HTTP calls, cannot do this; the bench reports it separately.
 */
import type { ItemResult } from './emulator-store.ts';
import type { OnecEmulator } from './onec-emulator.ts';

export interface EmulatorPullPollerOptions {
  /** The connector's base URL (a function: it may change when the connector restarts). */
  connectorUrl: () => string | null;
  apiToken: string;
  /** Updates per page, 1–500 (default 100). */
  pageSize?: number;
  /** Long-poll wait, seconds (default 25). */
  waitS?: number;
  /** Pause between polls, ms (default 0). */
  pauseMs?: number;
  /** Decides per fetched page whether the job "crashes" before the ack (default never). */
  crashBeforeAck?: (page: { n: number; pageNo: number }) => boolean;
  /** Fetch the next page while storing the current one (default false). */
  prefetch?: boolean;
  /** Pause after an error (connector down), ms (default 200). */
  errorPauseMs?: number;
  /** Called with each run of updates the job stored (demo output). */
  onStored?(type: 'message' | 'status' | 'routing', items: Record<string, unknown>[], results: ItemResult[]): void;
}

interface Update {
  cursor: string;
  type: 'message' | 'status' | 'routing';
  message?: Record<string, unknown>;
  status?: Record<string, unknown>;
  routing?: Record<string, unknown>;
}

export interface EmulatorPullStats {
  polls: number;
  pages: number;
  updates: number;
  acknowledged: number;
  crashes: number;
  errors: number;
  lastError: string | null;
  /** Time spent waiting for GET /updates answers (not overlapped with storing), storing, and waiting for acks, ms. */
  fetchMs: number;
  storeMs: number;
  ackMs: number;
}

interface Page {
  updates: Update[];
  next: string;
}

const ENDPOINT = { message: 'messages', status: 'statuses', routing: 'routing' } as const;

export class EmulatorPullPoller {
  private running = false;
  private abort = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private cursor: string | null = null;
  private pageNo = 0;
  /** The next page, asked for while the current one is stored (`prefetch`). */
  private prefetched: { after: string; page: Promise<Page> } | null = null;
  readonly stats: EmulatorPullStats = {
    polls: 0,
    pages: 0,
    updates: 0,
    acknowledged: 0,
    crashes: 0,
    errors: 0,
    lastError: null,
    fetchMs: 0,
    storeMs: 0,
    ackMs: 0,
  };

  constructor(
    private readonly emulator: OnecEmulator,
    private readonly o: EmulatorPullPollerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loopDone = this.loop();
  }

  /** Stops polling; an in-flight long poll is abandoned (a page it held is not acknowledged). */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loopDone;
    await this.settle();
  }

  /** Waits for a prefetched page still in flight and drops it (its updates are served again). */
  async settle(): Promise<void> {
    const pre = this.prefetched;
    this.prefetched = null;
    await pre?.page.catch(() => undefined);
  }

  private async fetchPage(base: string, after: string | null, waitS: number): Promise<Page> {
    const q = new URLSearchParams({ limit: String(this.o.pageSize ?? 100), wait: String(waitS) });
    if (after) q.set('after', after);
    const res = await fetch(`${base}/api/v1/onec/updates?${q.toString()}`, {
      headers: { authorization: `Bearer ${this.o.apiToken}` },
      signal: this.abort.signal,
    });
    const body = (await res.json()) as Page & { error?: { code: string; message: string } };
    if (res.status === 400 && body.error?.code === 'invalid_cursor') {
      this.cursor = null;
      throw new Error(body.error.message);
    }
    if (res.status !== 200) throw new Error(`GET /updates answered ${res.status}: ${body.error?.message ?? ''}`);
    return body;
  }

  /** One poll: fetch a page, store it, acknowledge it. Returns how many updates it had. */
  async pollOnce(waitS = this.o.waitS ?? 25): Promise<number> {
    const base = this.o.connectorUrl();
    if (!base) throw new Error('the connector is not listening');
    this.stats.polls++;
    const pre = this.prefetched;
    this.prefetched = null;
    let body: Page;
    const t0 = performance.now();
    if (pre && pre.after === this.cursor) body = await pre.page;
    else {
      // Asked for after a cursor the job no longer holds (it "crashed"): not used.
      void pre?.page.catch(() => undefined);
      body = await this.fetchPage(base, this.cursor, waitS);
    }
    const t1 = performance.now();
    this.stats.fetchMs += t1 - t0;
    if (body.updates.length === 0) {
      this.cursor = body.next;
      return 0;
    }
    if (this.o.prefetch) {
      const page = this.fetchPage(base, body.next, waitS);
      page.catch(() => undefined);
      this.prefetched = { after: body.next, page };
    }
    this.stats.pages++;
    this.pageNo++;
    const rejected = await this.store(body.updates);
    const t2 = performance.now();
    this.stats.storeMs += t2 - t1;
    this.stats.updates += body.updates.length;
    if (this.o.crashBeforeAck?.({ n: body.updates.length, pageNo: this.pageNo })) {
      // The job died after storing and before the ack: it restarts with no cursor.
      this.stats.crashes++;
      this.cursor = null;
      return body.updates.length;
    }
    const ack = await fetch(`${base}/api/v1/onec/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.o.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cursor: body.next, rejected }),
      signal: this.abort.signal,
    });
    const a = (await ack.json()) as { acknowledged?: number; error?: { message: string } };
    if (ack.status !== 200) throw new Error(`POST /ack answered ${ack.status}: ${a.error?.message ?? ''}`);
    this.stats.ackMs += performance.now() - t2;
    this.stats.acknowledged += a.acknowledged ?? 0;
    this.cursor = body.next;
    return body.updates.length;
  }

  /** Stores runs of same-type updates with one store call each, in the page's order. */
  private async store(updates: Update[]): Promise<{ id: string; error: string }[]> {
    const rejected: { id: string; error: string }[] = [];
    let i = 0;
    while (i < updates.length) {
      const type = updates[i].type;
      const run: Record<string, unknown>[] = [];
      while (i < updates.length && updates[i].type === type) run.push(updates[i++][type] as Record<string, unknown>);
      const results: ItemResult[] = await this.emulator.storePulled(ENDPOINT[type], run);
      this.o.onStored?.(type, run, results);
      if (type === 'message')
        for (const r of results) if (r.status === 'rejected') rejected.push({ id: r.id, error: r.error ?? 'rejected' });
    }
    return rejected;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
        if (this.o.pauseMs) await this.sleep(this.o.pauseMs);
      } catch (err) {
        if (!this.running) break;
        this.stats.errors++;
        const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
        this.stats.lastError = err instanceof Error ? `${err.message}${cause}` : String(err);
        await this.sleep(this.o.errorPauseMs ?? 200);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((r) => {
      const onAbort = () => {
        clearTimeout(t);
        r();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        r();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

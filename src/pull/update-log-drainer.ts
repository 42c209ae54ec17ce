/**
 * Switching pull → push without losing or holding anything: in push mode, updates a 1C
 * job had not acknowledged yet are still in the update log. This drainer pushes them to
 * 1C (`POST /messages`, `/statuses`, `/routing`), oldest first, and acknowledges them,
 * exactly as the 1C job would have.
 *
 * Order: those updates are older than anything still pending in the lanes (a lane hands
 * a key off from its head), so the push sinks wait (`gate`) until the log is empty once;
 * only then do the lanes deliver newer items of the same chats. After that the log stays
 * empty in push mode and the gate is a resolved promise.
 *
 * Several instances: one drains at a time (a Redis lease); the others only watch the log
 * empty out.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeError, type InboundMessage, type Logger, silentLogger } from '../core/index.ts';
import type { InboundPipeline } from '../lanes/inbound-pipeline.js';
import { RetryPolicy } from '../lanes/retry-policy.js';
import type { UpdateEntry, UpdateLog } from '../lanes/update-log.js';
import type { OnecDelivery } from '../onec/onec-client.ts';
import type { OnecItemResult, OnecRoutingEvent, OnecStatusUpdate } from '../onec/onec-types.ts';

export interface UpdateLogDrainerOptions {
  log: UpdateLog;
  redis: Redis;
  prefix: string;
  onec: OnecDelivery;
  inbound: InboundPipeline;
  /** Most updates per 1C call (ONEC_BATCH_MAX). */
  batchMax: number;
  retryPolicy?: RetryPolicy;
  logger?: Logger;
}

/** A push delivery found updates from pull mode not yet drained while draining does not run; the lane retries. */
export class PullLogNotDrainedError extends Error {
  constructor() {
    super('push deliveries wait until the updates left from pull mode are drained, which runs while the chat module is licensed');
  }
}

const LEASE_MS = 15_000;

/** A promise with its resolve (Node 20 has no Promise.withResolvers). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const WATCH_MS = 250;

export class UpdateLogDrainer {
  private running = false;
  private drained = false;
  private release: () => void = () => undefined;
  private readonly done: Promise<void>;
  private wake: (() => void) | null = null;
  private readonly log: Logger;
  private readonly policy: RetryPolicy;
  private readonly token = randomBytes(8).toString('hex');
  /** Resolved by stop(): deliveries waiting in ready() give up (retryable) instead of holding their lane. */
  private stopped = signal();

  constructor(private readonly o: UpdateLogDrainerOptions) {
    this.done = new Promise((r) => (this.release = r));
    this.log = (o.logger ?? silentLogger).child({ component: 'update-log-drainer' });
    this.policy = o.retryPolicy ?? new RetryPolicy();
  }

  /** The push sinks: each call waits until the log has been emptied once. */
  gate(onec: OnecDelivery): OnecDelivery {
    return {
      deliverMessages: async (m) => (await this.ready(), onec.deliverMessages(m)),
      deliverStatuses: async (s) => (await this.ready(), onec.deliverStatuses(s)),
      deliverRouting: async (e) => (await this.ready(), onec.deliverRouting(e)),
    };
  }

  /**
   * Resolves once the log was emptied. While the drainer is not running (before the license
   * is applied, or after it was withdrawn) a push delivery must not wait here: the lane that
   * asked would hold its kick, and pausing that lane (start-up, license withdrawn) waits for
   * the kick — neither would ever finish. It fails as retryable instead; the lane keeps the
   * items and tries again after its back-off.
   */
  async ready(): Promise<void> {
    if (this.drained) return;
    if (!this.running) throw new PullLogNotDrainedError();
    await Promise.race([this.done, this.stopped.promise]);
    if (!this.drained) throw new PullLogNotDrainedError();
  }

  /** Starts draining (while the chat module is licensed). */
  start(): void {
    if (this.running || this.drained) return;
    this.running = true;
    this.stopped = signal();
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.stopped.resolve();
    this.wake?.();
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    const leaseKey = `${this.o.prefix}:updates:drain-lease`;
    while (this.running && !this.drained) {
      try {
        if ((await this.o.redis.xlen(this.o.log.streamKey)) === 0) {
          this.finish();
          break;
        }
        const mine =
          (await this.o.redis.set(leaseKey, this.token, 'PX', LEASE_MS, 'NX')) === 'OK' ||
          (await this.o.redis.get(leaseKey)) === this.token;
        if (!mine) {
          await this.sleep(WATCH_MS);
          continue;
        }
        await this.o.redis.pexpire(leaseKey, LEASE_MS);
        const batch = await this.o.log.range('0-0', '+', this.o.batchMax);
        if (batch.length) await this.push(batch);
        attempt = 0;
      } catch (err) {
        attempt++;
        this.log.warn({ err: describeError(err), attempt }, 'pushing the updates left from pull mode failed; will retry');
        await this.sleep(this.policy.delayMs(attempt, err));
      }
    }
    const held = await this.o.redis.get(leaseKey).catch(() => null);
    if (held === this.token) await this.o.redis.del(leaseKey).catch(() => undefined);
  }

  private finish(): void {
    if (!this.drained) this.log.info('no updates left from pull mode; push deliveries run');
    this.drained = true;
    this.release();
  }

  /** Pushes one page to 1C the way the 1C job would store it, then acknowledges it. */
  private async push(batch: UpdateEntry[]): Promise<void> {
    const messages: InboundMessage[] = [];
    const statuses: OnecStatusUpdate[] = [];
    const routing: OnecRoutingEvent[] = [];
    for (const u of batch) {
      const p = JSON.parse(u.payload) as Record<string, unknown>;
      if (u.type === 'message') messages.push(p as unknown as InboundMessage);
      else if (u.type === 'status') {
        const { error, ...rest } = p;
        statuses.push({ ...(rest as unknown as OnecStatusUpdate), ...(typeof error === 'string' ? { error } : {}) });
      } else {
        const { comment, ...rest } = p;
        routing.push({ ...(rest as unknown as OnecRoutingEvent), ...(typeof comment === 'string' && comment ? { comment } : {}) });
      }
    }
    if (messages.length) {
      const results = await this.o.onec.deliverMessages(messages);
      for (const m of messages) {
        const r = resultOf(results, m.id, 'message');
        if (r.status === 'rejected') await this.o.inbound.rejectPulled(m, r.error ?? null);
      }
    }
    if (statuses.length) await this.o.onec.deliverStatuses(statuses);
    if (routing.length) {
      const results = await this.o.onec.deliverRouting(routing);
      for (const e of routing) resultOf(results, e.id, 'routing event');
    }
    await this.o.log.commit(batch[batch.length - 1].id);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        r();
      }
      this.wake = done;
    });
  }
}

function resultOf(results: OnecItemResult[], id: string, what: string): OnecItemResult {
  const r = results.find((x) => x.id === id);
  if (!r) throw new Error(`1C gave no result for ${what} ${id}`);
  if (r.status !== 'accepted' && r.status !== 'duplicate' && r.status !== 'rejected')
    throw new Error(`1C answered "${r.status}" for ${what} ${id}`);
  return r;
}

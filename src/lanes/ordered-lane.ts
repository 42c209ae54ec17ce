/**
 * The ordered lane: per-key (per-chat) order, dedupe and at-least-once delivery on top of
 * BullMQ, designed around the ways BullMQ reorders work (retries, delays, stalled jobs,
 * several workers).
 *
 * Order does not live in BullMQ jobs — it lives in one Redis sorted set per key, scored by
 * `seq`. A BullMQ job is only a *kick*: "key K has pending items". Whoever processes a kick
 * takes the key's lock and delivers the key's pending items from the head, in `seq` order,
 * until none are left; it releases the lock only atomically with "nothing pending" (see
 * scripts/laneReleaseIfEmpty-3.lua). So it does not matter which kick runs, when, how
 * often, or after how many retries: items always leave from the head of their key. A kick
 * that finds the lock taken completes at once — the holder will deliver its items.
 *
 *   append ──Lua: dedupe id, seq = HINCRBY, ZADD q:<key>──▶ kick job (BullMQ)
 *   kick ──laneStart-5: lock key + head──▶ sink.deliver(items) ──▶ laneAckNext-3: ack + next head ──▶ …
 *
 * A gathering lane (option `gather`, inbound push mode) has no kick job per key: appended
 * keys wait in the lane's `ready` set and one wake-up job per lane (only when none is queued)
 * starts a driver that claims keys from there (laneClaim-3), round after round, until
 * `ready` is empty; so many chats share one call downstream, and a chat costs no BullMQ job.
 *
 * A crash at any point leaves items in the sorted set; the lock expires, the stalled kick
 * is re-run by BullMQ, and a periodic sweep kicks any key with pending items and no lock
 * (a gathering lane's sweep puts such keys back in `ready` and adds one wake-up job).
 * Items the sink rejects for good go to the dead-letter queue `<name>-dead` (a BullMQ
 * failed job with the reason); retrying that job puts the item back at its own `seq`.
 *
 * Pull mode (onec-pull.md) swaps only the delivery end: with a `handoff`, items leave the
 * head of their key into the update log (src/lanes/update-log.ts) — XADD and the ack in
 * one Lua script, fenced by the key's lock — instead of going to `sink.deliver`.
 *
 *   kick ──lock key──▶ ZRANGE head ──▶ laneHandoff-4 (XADD updates + ZREMRANGEBYSCORE) ──▶ …
 */
import type { ConnectionOptions } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { Queue, Worker, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeError, retryAfterMs, type Logger, silentLogger } from '../core/index.ts';
import { awaitReplicas } from '../redis/redis-connection.js';
import { defineScripts } from '../redis/redis-scripts.ts';
import { releaseLock, renewLock, renewLocks } from '../redis/token-lock.ts';
import { RetryPolicy } from './retry-policy.js';
import { DeadLetterRecords } from './dead-letter-records.js';
import { LANE_SCRIPTS } from './lane-scripts.js';
import type { UpdateLog, UpdateType } from './update-log.js';
import { HAND_BEGIN_SCRIPT, HAND_END_SCRIPT, HANDOFF_SCRIPT } from './update-log-scripts.js';
import { isLaneDeferral } from './lane-deferral.ts';

/** An item as stored: the body the appender gave, plus its per-key `seq`. */
export interface LaneItem<T> {
  seq: number;
  body: T;
}

export type ItemOutcome = { kind: 'done' } | { kind: 'rejected'; reason: string } | { kind: 'retry'; error: unknown };

/** What a sink may ask the lane while it delivers. */
export interface DeliveryContext {
  /**
   * Does this driver still hold the key's lock? A sink with side effects that cannot be
   * made idempotent (a message sent to a messenger) asks right before each one: after a
   * stall (a Redis outage, a paused process) the lock may have expired and another driver
   * may be delivering the same items — carrying on would send out of order.
   */
  stillOwner(): Promise<boolean>;
}

/** Delivers a key's items, in order. Returns one outcome per item given, or throws (= retry all). */
export interface LaneSink<T> {
  deliver(key: string, items: LaneItem<T>[], ctx: DeliveryContext): Promise<ItemOutcome[]>;
  /**
   * Gathering lanes (issue 19): delivers one round of several keys at once — e.g. in one
   * downstream call — returning each key's outcomes in the order given; throws = retry
   * them all. Without it, the lane calls `deliver` per key, side by side.
   */
  deliverRound?(round: { key: string; items: LaneItem<T>[]; ctx: DeliveryContext }[]): Promise<ItemOutcome[][]>;
}

/**
 * Pull mode's delivery end: the lane's items become updates of the update log. The
 * handoff is atomic with removing them from the lane, so a crash neither loses nor
 * repeats one; 1C then acknowledges them through the log, not through the lane.
 */
export interface LaneHandoff<T> {
  log: UpdateLog;
  /** One update per item, in order (the object push mode would send, as JSON). Throws = retry. */
  toUpdates(key: string, items: LaneItem<T>[]): Promise<{ type: UpdateType; payload: string }[]>;
  /** Called after the items are in the log (operator feed, metrics). */
  onHandedOff?(key: string, items: LaneItem<T>[]): void;
}

export interface AppendEntry<T> {
  key: string;
  /** Idempotency id: the same id again is a no-op that returns the first seq. */
  id: string;
  body: T;
}

export interface AppendResult {
  id: string;
  seq: number;
  duplicate: boolean;
}

export interface LaneHooks<T> {
  /** Called after items are acknowledged as delivered. */
  onDelivered?(key: string, items: LaneItem<T>[]): void;
  /** Called when an item is moved to the dead-letter queue. */
  onDeadLettered?(key: string, item: LaneItem<T>, reason: string): void;
  /** Called when a delivery attempt fails and will be retried. */
  onRetry?(key: string, error: unknown, attempt: number): void;
}

export interface OrderedLaneOptions<T> {
  /** Lane and BullMQ queue name, e.g. `inbound` (no `:`). */
  name: string;
  /** Redis for the lane's own keys (shared; must have maxRetriesPerRequest: null). */
  redis: Redis;
  /** Connection options for BullMQ's own connections (default `{ url }` of the lane's Redis). */
  bullConnection: LaneBullConnection;
  /** Key prefix (QUEUE_PREFIX), also BullMQ's prefix. */
  prefix: string;
  sink: LaneSink<T>;
  /** Pull mode: items go to the update log instead of the sink (see LaneHandoff). */
  handoff?: LaneHandoff<T> | null;
  /** Most items handed to one `deliver` call (default 100). */
  batchMax?: number;
  /** Kicks processed at once per process = keys delivered in parallel (default 50). */
  concurrency?: number;
  /**
   * Gathering (issue 19): appended keys wait in the lane's `ready` set instead of getting a
   * kick job each; one wake-up job per lane (when none is queued) starts a driver that fills
   * each batch, up to `batchMax` items, with keys from `ready` (laneClaim-3) and delivers
   * them side by side, so many keys with a few items each share one call downstream
   * (inbound → one `POST /messages`) and a key costs no BullMQ job. For sinks that batch
   * across keys; per-key order and the lock rules are unchanged (each key is still driven
   * by one driver at a time). Push mode only (with a handoff, keys are kicked one by one).
   */
  gather?: boolean;
  /**
   * Gathering lanes: drivers per process that hold a batch at once (default 4). Bounds the
   * items read and not yet acknowledged to about `gatherSlots × batchMax`, while keeping
   * the next batches ready while one is in flight downstream (pipelining).
   */
  gatherSlots?: number;
  /** Lock of a key while a driver delivers it; renewed at a third of it (default 10 000 ms). */
  lockMs?: number;
  /** How often the sweep looks for keys with pending items and no driver (default 5 000 ms). */
  sweepIntervalMs?: number;
  /** Keys one sweep round looks at; the next round goes on from there (default 1 000). */
  sweepSlice?: number;
  /** How long an id is remembered for dedupe (default 7 days). */
  dedupeTtlS?: number;
  /**
   * `key` (default): each key numbers its own items (chats: 1C sees a per-chat seq).
   * `lane`: one counter for the whole lane — for lanes keyed per message (statuses), so
   * the `seq` hash does not gain a field per message forever.
   */
  seqScope?: 'key' | 'lane';
  retryPolicy?: RetryPolicy;
  /** Readable BullMQ job name for a kick (default `<key> from #<seq>`). */
  jobName?: (key: string, seq: number) => string;
  hooks?: LaneHooks<T>;
  logger?: Logger;
}

interface KickData {
  key: string;
  seq: number;
}

/** The `seq` hash field of a lane-wide counter (`seqScope: 'lane'`; such a lane has no per-key fields to collide with). */
const LANE_SEQ_FIELD = '*lane*';

/** Keys of `active` one sweep round looks at (the next round goes on from there). */
const SWEEP_SLICE = 1000;

/** The key of a gathering lane's wake-up job (no chat key is empty). */
const WAKE_KEY = '';

/** How long a "kick queued" flag outlives a caller that died before adding the kick. */
export const KICK_FLAG_TTL_S = 60;
interface DeadData<T> {
  key: string;
  seq: number;
  id: string;
  body: T;
  reason: string;
  parked: boolean;
}

type LaneRedis = Redis & {
  laneAppend(...args: (string | number)[]): Promise<number[]>;
  laneStart(...args: (string | number)[]): Promise<string[] | null>;
  lanePeek(...args: (string | number)[]): Promise<number>;
  laneSweep(...args: (string | number)[]): Promise<(string | number)[]>;
  laneAckNext(...args: (string | number)[]): Promise<(string | number)[]>;
  laneAckNextMany(...args: (string | number)[]): Promise<(string | number)[]>;
  laneClaim(...args: (string | number)[]): Promise<(string | number)[]>;
  laneReinsert(...args: (string | number)[]): Promise<number>;
  laneAck(...args: (string | number)[]): Promise<number>;
  laneReleaseIfEmpty(...args: (string | number)[]): Promise<number>;
  laneHandoff(...args: (string | number)[]): Promise<number>;
  laneHandBegin(...args: (string | number)[]): Promise<string | number>;
  laneHandEnd(...args: (string | number)[]): Promise<number>;
};

function withLaneScripts(redis: Redis): LaneRedis {
  defineScripts(redis, [...LANE_SCRIPTS, HANDOFF_SCRIPT, HAND_BEGIN_SCRIPT, HAND_END_SCRIPT]);
  return redis as LaneRedis;
}

/**
 * What BullMQ's connections are made from: options (each Queue/Worker opens its own), or a
 * client instance it shares (a Redis Cluster client: BullMQ cannot make a Cluster from
 * options; a Worker duplicates it for its blocking connection). The instance must have
 * `maxRetriesPerRequest: null` (createRedis sets it).
 */
export type LaneBullConnection = ConnectionOptions;

function bullConnectionOf(c: LaneBullConnection): ConnectionOptions {
  if (typeof (c as { duplicate?: unknown }).duplicate === 'function') return c;
  return { ...c, maxRetriesPerRequest: null };
}

/** A key a driver holds the lock of, with the items it read and has not settled yet. */
interface HeldKey<T> {
  key: string;
  lockKey: string;
  items: LaneItem<T>[];
  /** The renewal found the lock gone: another driver continues this key. */
  lost: boolean;
}

/** ioredis's pipeline does not know our scripts by type; they are defined on its client. */
type LanePipeline = ReturnType<Redis['pipeline']> & {
  laneAckNext(...args: (string | number)[]): LanePipeline;
  laneAckNextMany(...args: (string | number)[]): LanePipeline;
  laneAck(...args: (string | number)[]): LanePipeline;
};

/** A counting gate: at most `n` holders at once, the others wait in order. */
class Gate {
  private readonly waiters: Array<() => void> = [];
  constructor(private free: number) {}
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiters.push(r));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** BullMQ job ids may not contain `:`; keys (chat keys) do. */
export function encodeJobId(...parts: (string | number)[]): string {
  return parts.map((p) => String(p).replace(/[:%]/g, (c) => (c === ':' ? '%3A' : '%25'))).join('!');
}

export class OrderedLane<T extends object> {
  readonly name: string;
  readonly deadName: string;
  readonly queue: Queue;
  readonly deadQueue: Queue;
  private readonly redis: LaneRedis;
  private readonly base: string;
  private readonly deadRecords: DeadLetterRecords;
  private readonly opts: Required<Pick<OrderedLaneOptions<T>, 'batchMax' | 'concurrency' | 'lockMs' | 'sweepIntervalMs' | 'dedupeTtlS'>>;
  private readonly policy: RetryPolicy;
  private readonly log: Logger;
  private worker: Worker<KickData> | null = null;
  private deadWorker: Worker<DeadData<T>> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Where in `active` the next sweep round goes on (see scripts/laneSweep-1.lua). */
  private sweepOffset = 0;
  /** When this process last started driving a kick, and how many drives are running (watchWorker). */
  private lastDriveAt = 0;
  private driving = 0;
  /** Since when the sweep has kicked keys that no drive of this process took (0 = not now). */
  private unservedSince = 0;
  private stopping = false;
  /** Aborts drivers between batches when the lane pauses or stops. */
  private drainSignal = new AbortController();
  /** Gathering lanes: the drivers that hold a batch at once (see gatherSlots). */
  private readonly gate: Gate | null;
  private readonly gatherSlots: number;
  /** Gathering lanes: wake-up drivers of this process (running or waiting for a slot). */
  private wakeDrivers = 0;

  constructor(private readonly o: OrderedLaneOptions<T>) {
    if (o.name.includes(':')) throw new Error(`lane name may not contain ':' (${o.name})`);
    this.name = o.name;
    this.deadName = `${o.name}-dead`;
    this.redis = withLaneScripts(o.redis);
    this.base = `${o.prefix}:lane:${o.name}:`;
    this.deadRecords = new DeadLetterRecords(this.redis, this.base);
    this.opts = {
      batchMax: o.batchMax ?? 100,
      concurrency: o.concurrency ?? 50,
      lockMs: o.lockMs ?? 10_000,
      sweepIntervalMs: o.sweepIntervalMs ?? 5_000,
      dedupeTtlS: o.dedupeTtlS ?? 7 * 24 * 3600,
    };
    this.gatherSlots = Math.max(1, o.gatherSlots ?? 4);
    this.gate = o.gather && !o.handoff ? new Gate(this.gatherSlots) : null;
    this.policy = o.retryPolicy ?? new RetryPolicy();
    this.log = (o.logger ?? silentLogger).child({ lane: o.name });
    const connection = bullConnectionOf(o.bullConnection);
    this.queue = new Queue(o.name, { connection, prefix: o.prefix });
    this.deadQueue = new Queue(this.deadName, { connection, prefix: o.prefix });
    // Queues emit connection errors; they reconnect by themselves.
    this.queue.on('error', () => undefined);
    this.deadQueue.on('error', () => undefined);
  }

  // ---------------------------------------------------------------- appending

  /**
   * Stores items durably (one Lua call: dedupe, seq, pending set) and kicks their keys.
   * Resolves only when Redis has both; a crash in between is healed by the sweep.
   */
  async append(entries: AppendEntry<T>[]): Promise<AppendResult[]> {
    if (entries.length === 0) return [];
    const keys: string[] = [`${this.base}seq`, `${this.base}active`, `${this.base}ready`, `${this.base}wake`];
    const args: (string | number)[] = [
      Date.now(),
      this.opts.dedupeTtlS,
      KICK_FLAG_TTL_S,
      this.o.seqScope === 'lane' ? LANE_SEQ_FIELD : '',
      this.gate ? '1' : '',
    ];
    for (const e of entries) {
      const json = JSON.stringify(e.body);
      // laneAppend splices `"seq":N,` into the JSON text after its `{` (see the script).
      if (!json.startsWith('{') || json === '{}') throw new Error('lane item body must be a non-empty JSON object');
      keys.push(`${this.base}id:${e.id}`, `${this.base}q:${e.key}`, `${this.base}kick:${e.key}`);
      args.push(e.key, json);
    }
    const flat = await this.redis.laneAppend(keys.length, ...keys, ...args);
    // The append is what callers confirm outside (Telegram offset, 202 to 1C): with Redis
    // replicas configured, they must hold it first (REDIS_WAIT_REPLICAS).
    await awaitReplicas(this.redis);
    const results: AppendResult[] = entries.map((e, i) => ({
      id: e.id,
      seq: Number(flat[i * 3]),
      duplicate: Number(flat[i * 3 + 1]) === 1,
    }));
    if (this.gate) {
      // Gathering: the keys wait in `ready`; one wake-up job when none is queued (laneAppend).
      if (entries.some((_, i) => Number(flat[i * 3 + 2]) === 1)) await this.addWake();
      return results;
    }
    // At most one kick per key per call, named after the first seq that asked for it, and
    // only where no kick of the key is queued yet. A duplicate still kicks (same job id as
    // the first time): if the first append died before its kick, this one heals it; if the
    // kick exists, BullMQ ignores the add.
    const firstSeq = new Map<string, number>();
    entries.forEach((e, i) => {
      if (Number(flat[i * 3 + 2]) !== 1) return;
      const seq = results[i].seq;
      const cur = firstSeq.get(e.key);
      if (cur === undefined || seq < cur) firstSeq.set(e.key, seq);
    });
    await this.kick([...firstSeq].map(([key, seq]) => ({ key, seq, jobId: encodeJobId(key, seq) })));
    return results;
  }

  /**
   * Kicks a key whose item was appended by another script (an outbox writing the lane's
   * keys itself, e.g. routing-scripts.ts); the job id is the one `append` would use.
   */
  kickKey(key: string, seq: number): Promise<void> {
    return this.kick([{ key, seq, jobId: encodeJobId(key, seq) }]);
  }

  private async kick(kicks: { key: string; seq: number; jobId: string }[]): Promise<void> {
    if (kicks.length === 0) return;
    await this.queue.addBulk(
      kicks.map((k) => ({
        name: this.o.jobName ? this.o.jobName(k.key, k.seq) : `${k.key} from #${k.seq}`,
        data: { key: k.key, seq: k.seq } satisfies KickData,
        opts: {
          jobId: k.jobId,
          // Never give up: the item stays pending until delivered or dead-lettered.
          attempts: Number.MAX_SAFE_INTEGER,
          backoff: { type: 'lane' },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      })),
    );
  }

  // ---------------------------------------------------------------- running

  /** Starts the kick worker, the dead-letter worker and the sweep. */
  async start(): Promise<void> {
    if (this.worker) return;
    this.stopping = false;
    this.drainSignal = new AbortController();
    const connection = bullConnectionOf(this.o.bullConnection);
    this.worker = this.kickWorker();
    this.lastDriveAt = Date.now();
    this.unservedSince = 0;
    this.deadWorker = new Worker<DeadData<T>>(this.deadName, (job) => this.dead(job), {
      connection,
      prefix: this.o.prefix,
      concurrency: 5,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
    });
    this.deadWorker.on('error', () => undefined);
    await Promise.all([this.worker.waitUntilReady(), this.deadWorker.waitUntilReady()]);
    const adopted = await this.deadRecords.adoptExisting(() => this.failedDeadLetters());
    if (adopted) this.log.info({ adopted }, `${adopted} dead letters from before this version may be retried as before`);
    // Whatever a crash left pending gets a driver now, not at the first sweep.
    await this.sweep(0);
    this.scheduleSweep();
  }

  /** The worker that takes this lane's kicks. */
  private kickWorker(): Worker<KickData> {
    const worker = new Worker<KickData>(this.name, (job) => this.drive(job), {
      connection: bullConnectionOf(this.o.bullConnection),
      prefix: this.o.prefix,
      concurrency: this.opts.concurrency,
      // A kick that stalls (its process died) is simply run again; its items are still pending.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      lockDuration: Math.max(this.opts.lockMs, 5_000),
      settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => this.policy.delayMs(attemptsMade, err) },
    });
    worker.on('error', (err) => this.log.warn({ err: describeError(err) }, 'queue worker connection problem; it reconnects'));
    return worker;
  }

  /**
   * The sweep's watchdog over this process's kick worker. After a Redis Cluster failover a
   * worker's blocking wait for the next kick (BullMQ's blocking connection, a duplicate of
   * the Cluster client) was seen never to return: kicks piled up in the queue's wait list
   * (200+ in 60 s, test/ha/cluster-failover.test.ts) while the worker, idle, took none, and
   * the chats of that shard stalled for good — the sweep re-kicked them every round, into the
   * same unwatched list. A healthy worker takes a kick within a moment; so when the sweep has
   * kicked keys for `unservedMs` and this process started no drive since, while it had room
   * for more, the worker is replaced (the old one is closed without waiting: its close may
   * hang on the same connection). Not while paused or stopping: then no drive is expected.
   */
  private async watchWorker(kicked: number): Promise<void> {
    const now = Date.now();
    if (kicked === 0 || this.stopping || this.drainSignal.signal.aborted || !this.worker) {
      this.unservedSince = 0;
      return;
    }
    if (this.unservedSince === 0 || this.lastDriveAt >= this.unservedSince) {
      this.unservedSince = now;
      return;
    }
    const unservedMs = Math.max(3 * this.opts.sweepIntervalMs, 2 * this.opts.lockMs, 5_000);
    if (now - this.unservedSince < unservedMs || this.driving >= this.opts.concurrency) return;
    this.log.warn(
      { waitedMs: now - this.unservedSince, kicked },
      `the ${this.name} queue worker took no kick for ${Math.round((now - this.unservedSince) / 1000)} s while chats waited; replacing it`,
    );
    const old = this.worker;
    this.worker = this.kickWorker();
    this.unservedSince = 0;
    this.lastDriveAt = now;
    old.close(true).catch(() => undefined);
    await this.worker.waitUntilReady();
  }

  private scheduleSweep(): void {
    if (this.stopping) return;
    this.sweepTimer = setTimeout(() => {
      this.sweep(this.opts.sweepIntervalMs)
        .then((kicked) => this.watchWorker(kicked))
        .catch((err) => this.log.warn({ err: describeError(err) }, 'sweep failed; will try again'))
        .finally(() => this.scheduleSweep());
    }, this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * Kicks keys that have had pending items for at least `minAgeMs` and no driver — what a
   * crash between an append and its kick, or a driver's death, leaves.
   * One call (laneSweep-1) per round looks at up to `sweepSlice` keys and the next round goes on
   * from there, so a round's cost does not grow with the number of chats. The job id is
   * per sweep round, so a round never piles on another round's kick.
   */
  async sweep(minAgeMs: number): Promise<number> {
    const cutoff = Date.now() - minAgeMs;
    const flat = await this.redis.laneSweep(`${this.base}active`, this.base, cutoff, this.sweepOffset, this.o.sweepSlice ?? SWEEP_SLICE);
    this.sweepOffset = Number(flat[0] ?? 0);
    const round = Math.floor(Date.now() / Math.max(1, this.opts.sweepIntervalMs));
    if (this.gate) {
      // Gathering: the keys go back to `ready` and one wake-up job claims them — not a kick
      // per key. Not gated by the wake flag: the flag may belong to a wake-up job that was
      // lost. A new id each time (a finished job's id, kept by removeOnComplete, would make
      // BullMQ ignore the add).
      const found = (flat.length - 1) / 2;
      if (found < 1) return 0;
      const now = Date.now();
      const args: (string | number)[] = [];
      for (let i = 1; i + 1 < flat.length; i += 2) args.push(now, String(flat[i]));
      await this.redis.zadd(`${this.base}ready`, 'NX', ...args);
      await this.addWake('wake: swept chats');
      return found;
    }
    const kicks: { key: string; seq: number; jobId: string }[] = [];
    for (let i = 1; i + 1 < flat.length; i += 2) {
      const key = String(flat[i]);
      const seq = Number(flat[i + 1]);
      kicks.push({ key, seq, jobId: encodeJobId(key, seq, 'sweep', round) });
    }
    await this.kick(kicks);
    return kicks.length;
  }

  /** Stops taking kicks (in-flight drivers finish their current batch). Items stay pending. */
  async pause(): Promise<void> {
    this.drainSignal.abort();
    // On a shared (Cluster) client BullMQ's waiting pause never resolves: it waits for the
    // blocking connection's 'end', which a Cluster client does not emit when it reconnects.
    // There the workers stop taking kicks at once, and a driver in the middle of a batch
    // stops at its end (the drain signal), after this resolves.
    const doNotWaitActive = typeof (this.o.bullConnection as { duplicate?: unknown }).duplicate === 'function';
    await Promise.all([this.worker?.pause(doNotWaitActive), this.deadWorker?.pause(doNotWaitActive)]);
  }

  async resume(): Promise<void> {
    this.drainSignal = new AbortController();
    await Promise.all([this.worker?.resume(), this.deadWorker?.resume()]);
    await this.sweep(0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.drainSignal.abort();
    await Promise.all([this.worker?.close(), this.deadWorker?.close()]);
    this.worker = null;
    this.deadWorker = null;
  }

  /** Closes the producer side too. */
  async close(): Promise<void> {
    await this.stop();
    await Promise.all([this.queue.close(), this.deadQueue.close()]);
  }

  // ---------------------------------------------------------------- driving a key

  /** Adds a gathering lane's wake-up job: a driver with no key of its own, claiming from `ready`. */
  private async addWake(name = 'wake: gather ready chats'): Promise<void> {
    await this.queue.add(name, { key: WAKE_KEY, seq: 0 } satisfies KickData, {
      jobId: encodeJobId('wake', Date.now(), randomBytes(4).toString('hex')),
      attempts: Number.MAX_SAFE_INTEGER,
      backoff: { type: 'lane' },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    });
  }

  /**
   * More keys wait in `ready` than this driver takes: another driver prepares the next batch
   * while this one is in flight (pipelining), up to gatherSlots wake-up drivers per process,
   * and only when no wake-up job is queued yet (the same flag as laneAppend's).
   */
  private async wakeAnother(): Promise<void> {
    if (this.wakeDrivers >= this.gatherSlots) return;
    if ((await this.redis.set(`${this.base}wake`, '1', 'EX', KICK_FLAG_TTL_S, 'NX')) === 'OK') await this.addWake();
  }

  private async drive(job: Job<KickData>): Promise<string> {
    this.lastDriveAt = Date.now();
    this.driving++;
    try {
      return await this.driveKick(job);
    } finally {
      this.driving--;
    }
  }

  private async driveKick(job: Job<KickData>): Promise<string> {
    const { key } = job.data;
    const token = randomBytes(12).toString('hex');
    if (key === WAKE_KEY && this.gate) {
      this.wakeDrivers++;
      try {
        const release = await this.gate.acquire();
        try {
          return await this.driveKeys(job, null, token, []);
        } finally {
          release();
        }
      } finally {
        this.wakeDrivers--;
      }
    }
    // Gathering: only a few drivers hold a batch at once (the memory bound). A kick waits
    // for a slot without the key's lock, so the drivers that have one can claim its key;
    // a kick whose key another driver already emptied ends without waiting (lanePeek-3).
    let release: (() => void) | null = null;
    if (this.gate) {
      const peek = await this.redis.lanePeek(`${this.base}q:${key}`, `${this.base}kick:${key}`, `${this.base}ready`, key);
      if (Number(peek) === 0) return 'delivered 0 items';
      release = await this.gate.acquire();
    }
    try {
      // One call (laneStart-5): this kick has started — appends from now on must queue a kick
      // of their own, the driver may already be past the point where it would see their
      // items — then the key's token lock (as acquireLock, src/redis/token-lock.ts) and its
      // head. A key with nothing pending is released at once.
      const first = await this.redis.laneStart(
        `${this.base}kick:${key}`,
        `${this.base}ready`,
        `${this.base}lock:${key}`,
        `${this.base}q:${key}`,
        `${this.base}active`,
        key,
        token,
        this.opts.lockMs,
        this.opts.batchMax,
      );
      if (first === null) return 'handed over: another driver holds this key';
      if (first.length === 0) return 'delivered 0 items';
      if (this.o.handoff) return await this.driveHandoff(job, key, token, first);
      return await this.driveKeys(job, key, token, first);
    } finally {
      release?.();
    }
  }

  /**
   * Push mode: delivers the kick's key and, in a gathering lane, other keys it claims,
   * round by round. A round reads at most `batchMax` items over all held keys, hands each
   * key's items to the sink (side by side: the sink may put them in one call), applies
   * the outcomes, and acknowledges every key and reads its next items in one pipelined
   * round trip (laneAckNext-3). A key leaves the driver when that finds nothing pending
   * (released atomically with that), when its lock is lost, or when its delivery fails
   * (released; the kick's own key fails the job so BullMQ retries it with backoff, a
   * claimed key gets a delayed kick of its own).
   */
  private async driveKeys(job: Job<KickData>, ownKey: string | null, token: string, first: string[]): Promise<string> {
    const held = new Map<string, HeldKey<T>>();
    if (ownKey !== null)
      held.set(ownKey, { key: ownKey, lockKey: `${this.base}lock:${ownKey}`, items: first.map((r) => this.parse(r)), lost: false });
    // A wake-up driver's first claim clears the lane's wake flag (laneClaim-3).
    let firstClaim = ownKey === null;
    const renew = setInterval(
      () => {
        const byLock = new Map([...held.values()].map((h) => [h.lockKey, h]));
        if (byLock.size === 0) return;
        renewLocks(this.redis, [...byLock.keys()], token, this.opts.lockMs)
          .then((lost) => {
            for (const k of lost) {
              const h = byLock.get(k);
              if (h) h.lost = true;
            }
          })
          .catch(() => undefined);
      },
      Math.max(100, Math.floor(this.opts.lockMs / 3)),
    );
    const signal = this.drainSignal.signal;
    const ctxOf = (h: HeldKey<T>): DeliveryContext => ({
      stillOwner: async () => {
        if (h.lost) return false;
        // Read on the same connection as the sink's own writes, so it sees them in order.
        if ((await this.redis.get(h.lockKey)) !== token) h.lost = true;
        return !h.lost;
      },
    });
    let delivered = 0;
    let ownError: { err: unknown } | null = null;
    try {
      for (;;) {
        for (const [k, h] of held) if (h.lost) held.delete(k);
        if (held.size === 0 && !this.gate) break;
        if (signal.aborted) {
          // Pausing (license gate, shutdown): leave the rest pending; resume() sweeps it.
          await this.releaseHeld(held, token, ownKey, false);
          return `paused after ${delivered} items`;
        }
        if (this.gate) {
          let n = 0;
          for (const h of held.values()) n += h.items.length;
          if (n < this.opts.batchMax) {
            const left = await this.claim(held, token, this.opts.batchMax - n, firstClaim);
            firstClaim = false;
            if (left > 0) await this.wakeAnother();
            // A gathering driver ends only right after a claim that left `ready` empty (or
            // looked at its most keys and took none: those were all driven by others).
            if (held.size === 0) {
              if (left > 0) continue;
              break;
            }
          }
        }
        const round = [...held.values()];
        const results = await this.deliverRound(round, ctxOf);
        const acks: { h: HeldKey<T>; upTo: number | null }[] = [];
        const doneOf: { key: string; items: LaneItem<T>[] }[] = [];
        const failed: { h: HeldKey<T>; upTo: number | null; err: unknown }[] = [];
        for (let i = 0; i < round.length; i++) {
          const h = round[i];
          const r = results[i];
          if (r.status === 'rejected') {
            failed.push({ h, upTo: null, err: r.reason });
            continue;
          }
          const s = await this.applyOutcomes(h.key, h.items, r.value);
          delivered += s.done;
          if (s.doneItems.length) doneOf.push({ key: h.key, items: s.doneItems });
          if (s.retry !== null) failed.push({ h, upTo: s.upTo, err: s.retry });
          else acks.push({ h, upTo: s.upTo });
        }
        // The keys that go on share the next round's budget.
        const per = Math.max(1, Math.floor(this.opts.batchMax / Math.max(1, acks.length)));
        // Every key going on in one call (laneAckNextMany); failed keys' acks beside it.
        const pipe = this.redis.pipeline() as LanePipeline;
        if (acks.length) {
          const keys: string[] = [`${this.base}active`];
          const args: (string | number)[] = [token, per];
          for (const a of acks) {
            keys.push(`${this.base}q:${a.h.key}`, a.h.lockKey);
            args.push(a.upTo ?? '', a.h.key);
          }
          pipe.laneAckNextMany(keys.length, ...keys, ...args);
        }
        for (const f of failed) if (f.upTo !== null) pipe.laneAck(`${this.base}q:${f.h.key}`, f.upTo);
        const res = (await pipe.exec()) ?? [];
        const err = res.find((x) => x[0])?.[0];
        if (err) throw err;
        // A failed key's lock goes only after its ack (else another driver could deliver the acked items again).
        await Promise.all(failed.map((f) => this.releaseAfterFailure(f.h.lockKey, token, f.err)));
        for (const d of doneOf) this.o.hooks?.onDelivered?.(d.key, d.items);
        const next = acks.length ? (res[0]?.[1] as (string | number)[]) : [];
        let at = 0;
        for (const a of acks) {
          const status = Number(next[at]);
          const n = Number(next[at + 1]);
          if (status === 1) {
            const items: LaneItem<T>[] = new Array<LaneItem<T>>(n);
            for (let j = 0; j < n; j++) items[j] = this.parse(String(next[at + 2 + j]));
            a.h.items = items;
          } else held.delete(a.h.key);
          at += 2 + n;
        }
        const rekick: { key: string; seq: number; err: unknown }[] = [];
        for (const f of failed) {
          held.delete(f.h.key);
          const head = f.h.items[f.upTo === null ? 0 : f.h.items.findIndex((it) => it.seq > (f.upTo as number))] ?? f.h.items[0];
          // A deferral (lane-deferral.ts) is pacing, not a failure: the key, still locked by
          // us until just before then, is kicked again when it is due; this job completes.
          if (isLaneDeferral(f.err)) {
            rekick.push({ key: f.h.key, seq: head.seq, err: f.err });
            continue;
          }
          const own = f.h.key === ownKey;
          this.o.hooks?.onRetry?.(f.h.key, f.err, own ? job.attemptsMade + 1 : 1);
          this.log.warn(
            {
              chat: f.h.key,
              messageId: idOf(head.body),
              seq: head.seq,
              attempt: own ? job.attemptsMade + 1 : 1,
              err: describeError(f.err),
            },
            `delivery of ${f.h.key} failed; will retry`,
          );
          if (own) ownError = { err: f.err };
          else rekick.push({ key: f.h.key, seq: head.seq, err: f.err });
        }
        await this.kickLater(rekick);
      }
      if (ownError) throw ownError.err;
      return `delivered ${delivered} items`;
    } finally {
      clearInterval(renew);
      // Whatever is still held (an exception above): released; claimed keys are kicked again.
      if (held.size) await this.releaseHeld(held, token, ownKey).catch(() => undefined);
    }
  }

  /**
   * After a failed delivery: a remote that named its own wait (Telegram's `retry_after`, a
   * flood wait) keeps the key locked by us for that wait, so neither the sweep nor a kick of
   * a new append delivers it before the time the remote asked for (the retry itself comes
   * when the wait is over: the retry policy obeys the same figure). Anything else: released
   * now, and the retry policy decides when the key is tried again.
   */
  private async releaseAfterFailure(lockKey: string, token: string, err: unknown): Promise<void> {
    const told = retryAfterMs(err);
    // 10 ms short of the wait, so the retry (due exactly then) finds the key free.
    if (told !== undefined && told > 50) await renewLock(this.redis, lockKey, token, told - 10);
    else await releaseLock(this.redis, lockKey, token);
  }

  /** One round's outcomes per key (or why that key's delivery failed as a whole). */
  private async deliverRound(
    round: HeldKey<T>[],
    ctxOf: (h: HeldKey<T>) => DeliveryContext,
  ): Promise<PromiseSettledResult<ItemOutcome[]>[]> {
    const sink = this.o.sink;
    if (!sink.deliverRound || round.length === 1) return Promise.allSettled(round.map((h) => sink.deliver(h.key, h.items, ctxOf(h))));
    try {
      const all = await sink.deliverRound(round.map((h) => ({ key: h.key, items: h.items, ctx: ctxOf(h) })));
      return round.map((_, i) => ({ status: 'fulfilled', value: all[i] ?? [] }));
    } catch (err) {
      return round.map(() => ({ status: 'rejected', reason: err }));
    }
  }

  /** Adds keys waiting in `ready` to the driver's batch (laneClaim-3), up to `budget` items; returns how many keys are left there. */
  private async claim(held: Map<string, HeldKey<T>>, token: string, budget: number, clearWake: boolean): Promise<number> {
    const flat = await this.redis.laneClaim(
      `${this.base}ready`,
      `${this.base}active`,
      `${this.base}wake`,
      this.base,
      token,
      this.opts.lockMs,
      budget,
      Math.min(1000, budget * 2),
      clearWake ? '1' : '',
    );
    for (let i = 1; i < flat.length;) {
      const key = String(flat[i]);
      const n = Number(flat[i + 1]);
      const items = flat.slice(i + 2, i + 2 + n).map((r) => this.parse(String(r)));
      i += 2 + n;
      held.set(key, { key, lockKey: `${this.base}lock:${key}`, items, lost: false });
    }
    return Number(flat[0] ?? 0);
  }

  /**
   * Releases held keys (pause, or an exception mid-round). Unless pausing (`rekick` false:
   * resume() sweeps), keys other than `ownKey` (its job is retried by BullMQ) get a kick
   * soon after, so they do not wait for the sweep.
   */
  private async releaseHeld(held: Map<string, HeldKey<T>>, token: string, ownKey: string | null, rekick = true): Promise<void> {
    const keys = [...held.values()];
    held.clear();
    // Sent back to back on one connection: one round trip, as a pipeline.
    await Promise.all(keys.map((h) => releaseLock(this.redis, h.lockKey, token)));
    if (!rekick) return;
    await this.kickLater(
      keys.filter((h) => h.key !== ownKey && h.items.length > 0).map((h) => ({ key: h.key, seq: h.items[0].seq, err: null })),
    );
  }

  /** Kicks keys after the retry policy's first delay (a claimed key whose delivery failed). */
  private async kickLater(keys: { key: string; seq: number; err: unknown }[]): Promise<void> {
    if (keys.length === 0) return;
    const now = Date.now();
    await this.queue.addBulk(
      keys.map((k) => ({
        name: this.o.jobName ? this.o.jobName(k.key, k.seq) : `${k.key} from #${k.seq}`,
        data: { key: k.key, seq: k.seq } satisfies KickData,
        opts: {
          jobId: encodeJobId(k.key, k.seq, 'retry', now),
          delay: this.policy.delayMs(1, k.err),
          attempts: Number.MAX_SAFE_INTEGER,
          backoff: { type: 'lane' },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      })),
    );
  }

  /** Pull mode: the key's items leave into the update log, batch by batch (see handOff). */
  private async driveHandoff(job: Job<KickData>, key: string, token: string, first: string[]): Promise<string> {
    const lockKey = `${this.base}lock:${key}`;
    let lost = false;
    const renew = setInterval(
      () => {
        renewLock(this.redis, lockKey, token, this.opts.lockMs)
          .then((ok) => {
            if (!ok) lost = true;
          })
          .catch(() => undefined);
      },
      Math.max(100, Math.floor(this.opts.lockMs / 3)),
    );
    const signal = this.drainSignal.signal;
    let delivered = 0;
    // The item at the head when a delivery failed: named in the log so an administrator can find it.
    let head: LaneItem<T> | null = null;
    let raw: string[] | null = first;
    try {
      for (;;) {
        if (lost) return `lock lost after ${delivered} items; another driver continues`;
        raw ??= await this.redis.zrange(`${this.base}q:${key}`, '0', String(this.opts.batchMax - 1));
        if (raw.length === 0) {
          raw = null;
          const rel = Number(await this.redis.laneReleaseIfEmpty(lockKey, `${this.base}q:${key}`, `${this.base}active`, token, key));
          // -1 (the lock is not ours) counts as done too: our lock expired and another driver
          // took the key over — it delivers whatever is still pending, in order, and releases
          // the key itself. Every item this driver acked was delivered; nothing is dropped.
          if (rel === 1 || rel === -1) return `delivered ${delivered} items`;
          continue;
        }
        if (signal.aborted) {
          // Pausing (license gate, shutdown): leave the rest pending; resume() sweeps it.
          await releaseLock(this.redis, lockKey, token);
          return `paused after ${delivered} items`;
        }
        const items = raw.map((s) => this.parse(s));
        raw = null;
        head = items[0];
        const n = await this.handOff(key, items, lockKey, token);
        if (n < 0) lost = true;
        else delivered += n;
      }
    } catch (err) {
      await releaseLock(this.redis, lockKey, token).catch(() => undefined);
      this.o.hooks?.onRetry?.(key, err, job.attemptsMade + 1);
      this.log.warn(
        {
          chat: key,
          messageId: head ? idOf(head.body) : null,
          seq: head?.seq ?? null,
          attempt: job.attemptsMade + 1,
          err: describeError(err),
        },
        `delivery of ${key} failed; will retry`,
      );
      throw err;
    } finally {
      clearInterval(renew);
    }
  }

  /** Moves the items into the update log atomically with leaving the lane; -1 = lock not ours. */
  private async handOff(key: string, items: LaneItem<T>[], lockKey: string, token: string): Promise<number> {
    const h = this.o.handoff as LaneHandoff<T>;
    const updates = await h.toUpdates(key, items);
    if (updates.length !== items.length) throw new Error(`the handoff gave ${updates.length} updates for ${items.length} items`);
    if (h.log.prefix !== this.o.prefix) return this.handOffToOtherSlot(h, key, items, updates, lockKey, token);
    const args: (string | number)[] = [`${this.base}q:${key}`, lockKey, h.log.streamKey, h.log.metaKey, token, items[items.length - 1].seq];
    for (const u of updates) args.push(u.type, u.payload);
    const n = Number(await this.redis.laneHandoff(...args));
    if (n >= 0) h.onHandedOff?.(key, items);
    return n;
  }

  /**
   * QUEUE_SHARDS > 1: the log is on the deployment's slot, this shard's lane on its own, so
   * the hand-off is three steps (update-log-scripts.ts): record it in the lane under the
   * key's lock (an id and the items' seqs; a hand-off another driver began and did not end
   * is finished first, with its own id and items), add it to the log once per id, drop
   * exactly those items from the lane. A crash or a stall between the steps repeats them
   * with the same id: nothing lost, nothing twice, the key's items in seq order.
   * Returns the items handed, or -1 when the lock is not ours.
   */
  private async handOffToOtherSlot(
    h: LaneHandoff<T>,
    key: string,
    items: LaneItem<T>[],
    updates: { type: UpdateType; payload: string }[],
    lockKey: string,
    token: string,
  ): Promise<number> {
    const handKey = `${this.base}hand:${key}`;
    const proposed = `${randomBytes(9).toString('base64url')}|${items.map((it) => it.seq).join(',')}`;
    const open = await this.redis.laneHandBegin(lockKey, handKey, token, proposed);
    if (open === -1) return -1;
    const record = String(open);
    const [handOffId, list] = record.split('|');
    const seqs = list.split(',').map(Number);
    let batch = items;
    let batchUpdates = updates;
    if (record !== proposed) {
      // Another driver's hand-off, not ended: its items (still pending until it ends), as it recorded them.
      const want = new Set(seqs);
      const raw = await this.redis.zrangebyscore(`${this.base}q:${key}`, Math.min(...seqs), Math.max(...seqs));
      batch = raw.map((r) => this.parse(r)).filter((it) => want.has(it.seq));
      batchUpdates = await h.toUpdates(key, batch);
    }
    const added = await h.log.appendOnce(handOffId, batchUpdates);
    await this.redis.laneHandEnd(`${this.base}q:${key}`, handKey, record, ...seqs);
    if (added > 0) h.onHandedOff?.(key, batch);
    return batch.length;
  }

  /**
   * Moves an item that 1C refused for good to the dead-letter queue, as a sink's `rejected`
   * outcome does (pull mode: a `rejected` id of `POST /api/v1/onec/ack`). Idempotent per
   * item and retry round.
   */
  deadLetterItem(key: string, item: LaneItem<T>, reason: string): Promise<void> {
    return this.deadLetter(key, item, reason);
  }

  private parse(raw: string): LaneItem<T> {
    const obj = JSON.parse(raw) as { seq: number } & T;
    return { seq: obj.seq, body: obj };
  }

  /**
   * Applies the outcomes in order: done and rejected items are final (rejected ones go to
   * the dead-letter queue first); the first `retry` (or missing outcome) stops the walk —
   * that item and everything after it stay pending, in place. Returns the last seq to
   * acknowledge (null: none); the caller acknowledges, then calls `onDelivered`.
   */
  private async applyOutcomes(
    key: string,
    items: LaneItem<T>[],
    outcomes: ItemOutcome[],
  ): Promise<{ done: number; doneItems: LaneItem<T>[]; upTo: number | null; retry: unknown }> {
    let upTo = -1;
    let retry: unknown = null;
    const doneItems: LaneItem<T>[] = [];
    for (let i = 0; i < items.length; i++) {
      const out = outcomes[i];
      if (!out) {
        retry = new Error(`the sink gave no outcome for item #${items[i].seq}`);
        break;
      }
      if (out.kind === 'retry') {
        retry = out.error ?? new Error(`the sink asked to retry item #${items[i].seq}`);
        break;
      }
      if (out.kind === 'rejected') await this.deadLetter(key, items[i], out.reason);
      else doneItems.push(items[i]);
      upTo = i;
    }
    return { done: upTo + 1, doneItems, upTo: upTo >= 0 ? items[upTo].seq : null, retry };
  }

  private async deadLetter(key: string, item: LaneItem<T>, reason: string): Promise<void> {
    const id = idOf(item.body) ?? `${key}#${item.seq}`;
    const data: DeadData<T> = { key, seq: item.seq, id, body: item.body, reason, parked: false };
    // The job id is the item id plus its retry round: dead-lettering the same item twice (a
    // crash between this and the ack) gives one failed job, while a rejection after someone
    // retried it gets a new job instead of colliding with the retried one.
    const round = Number((await this.redis.get(`${this.base}round:${id}`)) ?? 0);
    const jobId = encodeJobId(id, `r${round}`);
    // The lane's own record first: only a job that matches it is ever re-queued.
    await this.deadRecords.record(jobId, data);
    await this.deadQueue.add(id, data, {
      jobId,
      attempts: 1,
      removeOnComplete: { count: 1000 },
      removeOnFail: false,
    });
    this.o.hooks?.onDeadLettered?.(key, item, reason);
    this.log.warn({ chat: key, messageId: id, seq: item.seq, reason }, `item ${id} rejected for good; moved to ${this.deadName}`);
  }

  /**
   * The dead-letter worker. First run: fail the job with the reason (it shows in the failed
   * list). A later run means someone retried it (dashboard or CLI): put the item back at
   * its own seq and kick its key.
   */
  private async dead(job: Job<DeadData<T>>): Promise<string> {
    if (!job.data.parked) {
      await job.updateData({ ...job.data, parked: true });
      throw new UnrecoverableError(job.data.reason);
    }
    const { key, seq, body, id } = job.data;
    const jobId = String(job.id);
    if (!(await this.deadRecords.matches(jobId, { key, seq, id, body }))) {
      // Added or edited by hand (dashboard, script): not a dead letter of ours. Never sent.
      this.log.error(
        { queue: this.deadName, jobId },
        `refused to re-queue job ${jobId} of ${this.deadName}: the lane created no such dead letter (or its data was changed); nothing was sent`,
      );
      throw new UnrecoverableError('Refused: this lane created no such dead letter, or its data was changed. Nothing was sent.');
    }
    await this.redis.incr(`${this.base}round:${id}`);
    await this.redis.expire(`${this.base}round:${id}`, this.opts.dedupeTtlS);
    await this.redis.laneReinsert(`${this.base}q:${key}`, `${this.base}active`, Date.now(), key, seq, JSON.stringify({ ...body, seq }));
    await this.kick([{ key, seq, jobId: encodeJobId(key, seq, 'retry', Date.now()) }]);
    // Spent last: a crash before this re-runs the job, and the re-insert is idempotent.
    await this.deadRecords.spend(jobId);
    return `requeued at #${seq}`;
  }

  private async *failedDeadLetters(): AsyncIterable<{ id: string; data: DeadData<T> }> {
    for (let start = 0; ; start += 500) {
      const page = (await this.deadQueue.getJobs(['failed'], start, start + 499)).filter((j): j is Job<DeadData<T>> => !!j);
      for (const j of page) if (j.id) yield { id: j.id, data: j.data };
      if (page.length < 500) return;
    }
  }

  // ---------------------------------------------------------------- inspection

  /** Pending items of one key, head first. */
  async pending(key: string, limit = 100): Promise<LaneItem<T>[]> {
    const raw = await this.redis.zrange(`${this.base}q:${key}`, '0', String(limit - 1));
    return raw.map((s) => this.parse(s));
  }

  /** Keys with pending items and the time (ms) the oldest became pending. */
  async activeKeys(limit = 1000): Promise<{ key: string; sinceMs: number }[]> {
    const flat = await this.redis.zrange(`${this.base}active`, '0', String(limit - 1), 'WITHSCORES');
    const out: { key: string; sinceMs: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ key: flat[i], sinceMs: Number(flat[i + 1]) });
    return out;
  }

  /** Total pending items across keys (bounded scan of the active set). */
  async pendingCount(limit = 10_000): Promise<number> {
    const keys = await this.redis.zrange(`${this.base}active`, '0', String(limit - 1));
    if (keys.length === 0) return 0;
    const pipe = this.redis.pipeline();
    for (const k of keys) pipe.zcard(`${this.base}q:${k}`);
    const res = (await pipe.exec()) ?? [];
    return res.reduce((s, r) => s + Number(r?.[1] ?? 0), 0);
  }

  /** The seq an id was given, or null when unknown (or forgotten after the dedupe TTL). */
  async seqOf(id: string): Promise<number | null> {
    const v = await this.redis.get(`${this.base}id:${id}`);
    return v === null ? null : Number(v);
  }
}

function idOf(body: unknown): string | null {
  if (body && typeof body === 'object' && 'id' in body && typeof body.id === 'string') return (body as { id: string }).id;
  return null;
}

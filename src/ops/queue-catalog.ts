/**
 * Every queue of the product, for the dashboard, the metrics and the queue CLI.
 *
 * A queue is a lane (ordered-lane.ts): BullMQ queue `<name>` holds kick jobs per chat and
 * `<name>-dead` holds the dead letters. The names come from the list the connector knows
 * (`KNOWN_LANES`, or what the caller passes) joined with what Redis shows: BullMQ keeps a
 * `<prefix>:<queue>:meta` hash per queue, so a lane added later is found without a change
 * here.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, forEachPrimary, type RedisTarget } from '../redis/redis-connection.js';
import { laneActiveKey, SHARDED_LANES, shardPrefix, shardPrefixes } from '../lanes/lane-keys.ts';
import { mergedQueue, type QueueView } from '../lanes/sharded-queue.ts';

/** Lanes of the product: inbound (messenger → 1C), outbound (1C → messenger), statuses, routing. */
export const KNOWN_LANES: readonly string[] = ['inbound', 'outbound', 'statuses', 'routing'];

export const DEAD_SUFFIX = '-dead';

/** `inbound` → [`inbound`, `inbound-dead`] for each lane. */
export function queueNamesOfLanes(lanes: readonly string[]): string[] {
  return lanes.flatMap((l) => [l, `${l}${DEAD_SUFFIX}`]);
}

export function isDeadLetterQueue(name: string): boolean {
  return name.endsWith(DEAD_SUFFIX);
}

/** The lane a queue belongs to (`inbound-dead` → `inbound`). */
export function laneOfQueue(name: string): string {
  return isDeadLetterQueue(name) ? name.slice(0, -DEAD_SUFFIX.length) : name;
}

/**
 * Queue names found in Redis under `prefix` (SCAN for `<prefix>:*:meta`, never KEYS; on a
 * Cluster on every primary). Only names without `:` count: other keys of ours also end in `:meta`.
 */
export async function discoverQueueNames(redis: Redis, prefix: string, maxKeys = 100_000): Promise<string[]> {
  const found = new Set<string>();
  const head = `${prefix}:`;
  await forEachPrimary(redis, async (node) => {
    let cursor = '0';
    let seen = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*:meta`, 'COUNT', 1000);
      cursor = next;
      seen += keys.length;
      for (const k of keys) {
        const name = k.slice(head.length, -':meta'.length);
        if (name && !name.includes(':')) found.add(name);
      }
    } while (cursor !== '0' && seen < maxKeys);
  });
  return [...found].sort();
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export interface QueueCatalogOptions {
  /** Redis URL (REDIS_URL). */
  /** A URL, or a target with Sentinel. */
  redisUrl: string | RedisTarget;
  /** BullMQ prefix (QUEUE_PREFIX). */
  prefix: string;
  /** Lanes to show even before Redis holds a key of theirs (default KNOWN_LANES). */
  lanes?: readonly string[];
  /** Also list queues found in Redis (default true). */
  discover?: boolean;
  /** QUEUE_SHARDS (default 1): the sharded lanes' pending figures are summed over the shards. */
  shards?: number;
}

/**
 * BullMQ `Queue` handles for every queue, all on one shared Redis connection (BullMQ does
 * not close a connection it was given; `close()` here does).
 *
 * With QUEUE_SHARDS > 1 a sharded lane's queue (`inbound`, `inbound-dead`, …) exists once
 * per shard, under the shard's prefix; `queue(name)` is all of them as one (counts summed,
 * lists merged, a job found in the shard that holds it — sharded-queue.ts) and
 * `shardQueues(name)` the shards' own handles. The names people see and type are the
 * lane's names, as with one shard.
 */
export class QueueCatalog {
  readonly redis: Redis;
  readonly prefix: string;
  private readonly lanes: readonly string[];
  private readonly discover: boolean;
  private readonly queues = new Map<string, Queue[]>();
  private readonly shards: number;
  /** Queue names found under shard 0's prefix (a sharded lane the connector does not list). */
  private readonly shardedFound = new Set<string>();

  constructor(opts: QueueCatalogOptions) {
    this.prefix = opts.prefix;
    this.shards = opts.shards ?? 1;
    this.lanes = opts.lanes ?? KNOWN_LANES;
    this.discover = opts.discover ?? true;
    // createRedis: a Cluster client on a Cluster (it handles its own errors when no logger is given).
    this.redis = createRedis({ url: opts.redisUrl, name: 'chat-connector-ops' });
  }

  /** Every queue name: the known lanes and their dead-letter queues, plus whatever Redis shows. */
  async names(): Promise<string[]> {
    const names = new Set(queueNamesOfLanes(this.lanes));
    if (this.discover) {
      for (const n of await discoverQueueNames(this.redis, this.prefix)) names.add(n);
      if (this.shards > 1)
        for (const n of await discoverQueueNames(this.redis, shardPrefix(this.prefix, 0, this.shards))) {
          this.shardedFound.add(n);
          names.add(n);
        }
    }
    return [...names].sort(byLane);
  }

  /** Is this a queue of the product (known or present in Redis)? */
  async has(name: string): Promise<boolean> {
    return (await this.names()).includes(name);
  }

  /** Is this queue spread over the shards? (The sharded lanes and their dead-letter queues.) */
  isSharded(name: string): boolean {
    return this.shards > 1 && ((SHARDED_LANES as readonly string[]).includes(laneOfQueue(name)) || this.shardedFound.has(name));
  }

  /** The BullMQ handles of one queue, one per shard, shard 0 first (one when not sharded; made once). */
  shardQueues(name: string): Queue[] {
    let qs = this.queues.get(name);
    if (!qs) {
      qs = shardPrefixes(this.prefix, this.isSharded(name) ? this.shards : 1).map((prefix) => {
        const q = new Queue(name, { connection: this.redis, prefix });
        q.on('error', () => undefined);
        return q;
      });
      this.queues.set(name, qs);
    }
    return qs;
  }

  /** One queue over its shards (the BullMQ handle itself when not sharded). */
  queue(name: string): QueueView {
    return mergedQueue(this.shardQueues(name));
  }

  async all(): Promise<QueueView[]> {
    return (await this.names()).map((n) => this.queue(n));
  }

  /** The lane's pending-since set: the oldest score is when its oldest waiting item arrived. */
  async oldestPendingMs(lane: string): Promise<number | null> {
    const per = await Promise.all(
      this.activeKeys(lane).map(async (k) => {
        const r = await this.redis.zrange(k, '0', '0', 'WITHSCORES');
        return r.length >= 2 ? Number(r[1]) : Infinity;
      }),
    );
    const oldest = Math.min(...per);
    return Number.isFinite(oldest) ? oldest : null;
  }

  /** Chats with pending items in the lane (over its shards). */
  async pendingChats(lane: string): Promise<number> {
    const per = await Promise.all(this.activeKeys(lane).map((k) => this.redis.zcard(k)));
    return per.reduce((a, b) => a + b, 0);
  }

  /** The lane's pending-since set per shard (one for lanes that are not sharded). */
  private activeKeys(lane: string): string[] {
    return shardPrefixes(this.prefix, this.isSharded(lane) ? this.shards : 1).map((p) => laneActiveKey(p, lane));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].flat().map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
    this.redis.disconnect();
  }
}

/** Lane order: known lanes first in product order, each followed by its dead-letter queue. */
function byLane(a: string, b: string): number {
  const la = laneOfQueue(a);
  const lb = laneOfQueue(b);
  const ia = KNOWN_LANES.indexOf(la);
  const ib = KNOWN_LANES.indexOf(lb);
  if (la !== lb) {
    if (ia >= 0 && ib >= 0) return ia - ib;
    if (ia >= 0) return -1;
    if (ib >= 0) return 1;
    return la < lb ? -1 : 1;
  }
  return Number(isDeadLetterQueue(a)) - Number(isDeadLetterQueue(b));
}

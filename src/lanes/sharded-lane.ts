/**
 * A lane spread over QUEUE_SHARDS shards (lane-keys.ts): one OrderedLane per shard, each
 * with its own keys, BullMQ queues, worker and sweep under the shard's prefix. A key (chat)
 * always goes to the same shard, so per-key order, dedupe and the lock are exactly the
 * single lane's; chats of different shards proceed independently — on a Redis Cluster, on
 * different primaries.
 *
 * With one shard this is the plain OrderedLane under the deployment prefix: the same keys,
 * queues and connections as before sharding existed.
 *
 * Dedupe ids are per shard: an id is deduplicated within its key's shard, which is all a
 * lane promises (the same id is never appended under two keys).
 */
import { OrderedLane, type AppendEntry, type AppendResult, type LaneItem, type OrderedLaneOptions } from './ordered-lane.js';
import { shardOf, shardPrefix } from './lane-keys.ts';
import { mergedQueue, type QueueView } from './sharded-queue.ts';

export interface ShardedLaneOptions<T> extends OrderedLaneOptions<T> {
  /** QUEUE_SHARDS (default 1). */
  shards?: number;
}

export class ShardedLane<T extends object> {
  readonly name: string;
  readonly deadName: string;
  readonly shards: OrderedLane<T>[];

  constructor(o: ShardedLaneOptions<T>) {
    const n = Math.max(1, o.shards ?? 1);
    // The process's concurrency is shared by its shards, so a process drives as many keys at
    // once as before, whatever the shard count.
    const concurrency = Math.max(1, Math.ceil((o.concurrency ?? 50) / n));
    this.shards = Array.from(
      { length: n },
      (_, i) =>
        new OrderedLane<T>({
          ...o,
          prefix: shardPrefix(o.prefix, i, n),
          concurrency,
          logger: n > 1 ? o.logger?.child({ shard: i }) : o.logger,
        }),
    );
    this.name = this.shards[0].name;
    this.deadName = this.shards[0].deadName;
  }

  /** The lane of a key's shard. */
  of(key: string): OrderedLane<T> {
    return this.shards[shardOf(key, this.shards.length)];
  }

  /** The kick queues of every shard as one (with one shard: the lane's queue, as before sharding). */
  get queue(): QueueView {
    return mergedQueue(this.shards.map((s) => s.queue));
  }

  /** The dead-letter queues of every shard as one: counts summed, lists merged, a job found in its shard. */
  get deadQueue(): QueueView {
    return mergedQueue(this.shards.map((s) => s.deadQueue));
  }

  /** Appends each entry in its key's shard (one script call per shard touched, in parallel). */
  async append(entries: AppendEntry<T>[]): Promise<AppendResult[]> {
    if (this.shards.length === 1) return this.shards[0].append(entries);
    const groups = new Map<number, number[]>();
    entries.forEach((e, i) => {
      const s = shardOf(e.key, this.shards.length);
      const g = groups.get(s);
      if (g) g.push(i);
      else groups.set(s, [i]);
    });
    const out: AppendResult[] = new Array<AppendResult>(entries.length);
    await Promise.all(
      [...groups].map(async ([s, idx]) => {
        const res = await this.shards[s].append(idx.map((i) => entries[i]));
        idx.forEach((i, j) => (out[i] = res[j]!));
      }),
    );
    return out;
  }

  kickKey(key: string, seq: number): Promise<void> {
    return this.of(key).kickKey(key, seq);
  }

  deadLetterItem(key: string, item: LaneItem<T>, reason: string): Promise<void> {
    return this.of(key).deadLetterItem(key, item, reason);
  }

  pending(key: string, limit = 100): Promise<LaneItem<T>[]> {
    return this.of(key).pending(key, limit);
  }

  seqOf(key: string, id: string): Promise<number | null> {
    return this.of(key).seqOf(id);
  }

  /** Keys with pending items across shards, oldest first (at most `limit`). */
  async activeKeys(limit = 1000): Promise<{ key: string; sinceMs: number }[]> {
    const all = (await Promise.all(this.shards.map((s) => s.activeKeys(limit)))).flat();
    return all.sort((a, b) => a.sinceMs - b.sinceMs).slice(0, limit);
  }

  async pendingCount(limit = 10_000): Promise<number> {
    const counts = await Promise.all(this.shards.map((s) => s.pendingCount(limit)));
    return counts.reduce((a, b) => a + b, 0);
  }

  async sweep(minAgeMs: number): Promise<number> {
    const n = await Promise.all(this.shards.map((s) => s.sweep(minAgeMs)));
    return n.reduce((a, b) => a + b, 0);
  }

  async start(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.start()));
  }
  async pause(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.pause()));
  }
  async resume(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.resume()));
  }
  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop()));
  }
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

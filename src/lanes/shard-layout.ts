/**
 * QUEUE_SHARDS is part of where every chat's items live: a chat's shard is its hash modulo
 * the count (lane-keys.ts). Changing the count while items wait would strand them in shards
 * no driver reads and break per-chat order, so the count the queues were made with is
 * recorded in Redis and a different one is refused while anything waits under the old
 * layout — with a sentence saying how to drain first. A deployment with nothing waiting
 * simply takes the new count. Deployments from before the record existed used one shard.
 */
import type { Redis } from 'ioredis';
import { ConnectorError } from '../core/index.ts';
import { bullFailedKey, laneActiveKey, SHARDED_LANES, shardLayoutKey, shardPrefixes } from './lane-keys.ts';

export interface ShardLayoutResult {
  /** The count the deployment had before (1 when never recorded). */
  previous: number;
  /** True when the record changed (first record, or a new count on an empty deployment). */
  changed: boolean;
}

/** What still waits under a layout: chats with pending items and dead letters, over the sharded lanes. */
export async function waitingUnder(redis: Redis, prefix: string, shards: number): Promise<{ chats: number; dead: number }> {
  let chats = 0;
  let dead = 0;
  // One command per key: on a Cluster the shards live on different nodes.
  for (const p of shardPrefixes(prefix, shards))
    for (const lane of SHARDED_LANES) {
      const [c, d] = await Promise.all([redis.zcard(laneActiveKey(p, lane)), redis.zcard(bullFailedKey(p, `${lane}-dead`))]);
      chats += c;
      dead += d;
    }
  return { chats, dead };
}

/** Records the shard count, or refuses a changed one while the old layout holds work. */
export async function checkShardLayout(redis: Redis, prefix: string, shards: number): Promise<ShardLayoutResult> {
  const key = shardLayoutKey(prefix);
  const stored = await redis.get(key);
  const previous = stored === null ? 1 : Number(stored);
  if (previous === shards) {
    if (stored === null) await redis.set(key, String(shards), 'NX');
    return { previous, changed: stored === null };
  }
  const { chats, dead } = await waitingUnder(redis, prefix, previous);
  if (chats > 0 || dead > 0) {
    throw new ConnectorError(
      'queue_shards_changed',
      `QUEUE_SHARDS is ${shards}, but this deployment's queues were made with ${previous} shard(s) and still hold ` +
        `${chats} chat(s) with waiting items and ${dead} dead letter(s); to change it, start with QUEUE_SHARDS=${previous}, ` +
        `stop new traffic (channels and 1C's sends), wait until "chat-connector queues" shows nothing pending, retry or ` +
        `remove the dead letters, then start with QUEUE_SHARDS=${shards}.`,
    );
  }
  await redis.set(key, String(shards));
  return { previous, changed: true };
}

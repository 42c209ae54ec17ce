/**
 * Where the lanes' keys live — the one module that names them (other helpers add their
 * key builders here, so sharding and the key layout change in one place).
 *
 * Shards (QUEUE_SHARDS): a chat belongs to one shard, `fnv1a32(chat key) mod shards`, for
 * good (the function and its constants never change; a unit test pins sample values). Each
 * shard is a complete set of lanes — its own pending sets, locks, seq counters and BullMQ
 * queues — under its own prefix:
 *
 *   shards = 1   →  `<prefix>`               (today's layout, unchanged)
 *   shards = N   →  `{<prefix without braces>:s<n>}`, n = 0 … N-1
 *
 * The braces make the shard prefix a Redis Cluster hash tag: every key of a shard (lane keys
 * built inside the lane scripts, BullMQ's keys of the shard's queues) hashes to one slot, so
 * no script ever touches two slots, while different shards land on different slots and thus
 * on different primaries. Deployment-wide keys (licensing seats, settings, routing state,
 * operators, the update log of pull mode, the shard layout record itself) stay under the
 * deployment prefix, which on a Cluster is itself a hash tag (`{<QUEUE_PREFIX>}`, config.ts).
 *
 * A per-message lane (statuses, keyed by outbound message id) is sharded the same way by
 * its key; order only matters within a key, and a key lives in one shard.
 */

/** FNV-1a, 32 bits, over the UTF-8 bytes: stable across versions and platforms. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard of a key (a chat key, or a message id for per-message lanes). */
export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a32(key) % shards;
}

/** The prefix without hash-tag braces (a Cluster deployment prefix is `{chats}`). */
export function untagged(prefix: string): string {
  return prefix.replace(/[{}]/g, '');
}

/** The prefix of shard `n`'s keys and BullMQ queues (see the header). */
export function shardPrefix(prefix: string, n: number, shards: number): string {
  return shards <= 1 ? prefix : `{${untagged(prefix)}:s${n}}`;
}

/** Every shard's prefix, shard 0 first. */
export function shardPrefixes(prefix: string, shards: number): string[] {
  return Array.from({ length: Math.max(1, shards) }, (_, n) => shardPrefix(prefix, n, shards));
}

/** The key base of a lane under a (shard) prefix: `<prefix>:lane:<name>:` (lane-scripts.ts builds the rest). */
export function laneBase(prefix: string, lane: string): string {
  return `${prefix}:lane:${lane}:`;
}

/** The lane's set of keys with pending items (scored by when the oldest became pending). */
export function laneActiveKey(prefix: string, lane: string): string {
  return `${laneBase(prefix, lane)}active`;
}

/** BullMQ's failed list of a queue under a prefix (dead letters wait there). */
export function bullFailedKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:failed`;
}

/** Deployment-wide: the shard count the deployment's queues were made with (shard-layout.ts). */
export function shardLayoutKey(prefix: string): string {
  return `${prefix}:queue-shards`;
}

/** The lanes spread over shards (the routing lane stays on the deployment prefix: its outbox script writes the chat's routing state in the same step). */
export const SHARDED_LANES = ['inbound', 'outbound', 'statuses'] as const;

/**
 * QUEUE_SHARDS: a chat's shard never changes (pinned hash values), shards have their own
 * hash-tagged prefixes, a sharded lane keeps per-chat order across shards, and a changed
 * shard count is refused while the old layout holds work (and taken when it holds none).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fnv1a32, shardOf, shardPrefix, shardPrefixes } from '../../src/lanes/lane-keys.ts';
import { checkShardLayout } from '../../src/lanes/shard-layout.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ShardedLane } from '../../src/lanes/sharded-lane.ts';
import type { ItemOutcome, LaneItem } from '../../src/lanes/ordered-lane.js';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix, until } from '../helpers/redis.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function prefixForTest(label: string): string {
  const prefix = uniquePrefix(label);
  cleanups.push(async () => {
    await cleanupPrefix(prefix);
    await cleanupPrefix(`{${prefix}:s`);
  });
  return prefix;
}

describe('shard assignment', () => {
  it('is FNV-1a 32 of the key modulo the shard count, pinned so it never moves a chat', () => {
    expect(fnv1a32('')).toBe(2166136261);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('tg:bot1:100')).toBe(2120732175);
    expect(shardOf('tg:bot1:100', 16)).toBe(15);
    expect(shardOf('wa:acc:79001234567@s.whatsapp.net', 16)).toBe(2);
    expect(shardOf('tg:shop_bot:-1001234', 16)).toBe(4);
    expect(shardOf('tg:bot1:100', 1)).toBe(0);
  });

  it('spreads keys over every shard and names each shard with its own hash tag', () => {
    const seen = new Set(Array.from({ length: 2000 }, (_, i) => shardOf(`tg:bot:${i}`, 16)));
    expect(seen.size).toBe(16);
    expect(shardPrefix('chats', 3, 1)).toBe('chats');
    expect(shardPrefix('{chats}', 3, 16)).toBe('{chats:s3}');
    expect(shardPrefixes('chats', 2)).toEqual(['{chats:s0}', '{chats:s1}']);
  });
});

describe('sharded lane', () => {
  it('delivers each chat in seq order while its chats live in different shards', async () => {
    const prefix = prefixForTest('shards');
    const redis = newRedis();
    cleanups.push(async () => void redis.disconnect());
    const got = new Map<string, number[]>();
    const lane = new ShardedLane<{ text: string }>({
      name: 'inbound',
      shards: 4,
      redis,
      bullConnection: { url: REDIS_URL },
      prefix,
      sweepIntervalMs: 200,
      sink: {
        deliver: async (key: string, items: LaneItem<{ text: string }>[]): Promise<ItemOutcome[]> => {
          got.set(key, [...(got.get(key) ?? []), ...items.map((i) => Number(i.body.text))]);
          return items.map(() => ({ kind: 'done' }));
        },
      },
    });
    cleanups.push(() => lane.close());
    await lane.start();
    const chats = Array.from({ length: 12 }, (_, i) => `tg:b:${i}`);
    expect(new Set(chats.map((c) => shardOf(c, 4))).size).toBeGreaterThan(1);
    for (let n = 1; n <= 10; n++) await lane.append(chats.map((c) => ({ key: c, id: `${c}-${n}`, body: { text: String(n) } })));
    // A duplicate id answers its first seq and stores nothing.
    const [dup] = await lane.append([{ key: chats[0], id: `${chats[0]}-3`, body: { text: 'x' } }]);
    expect(dup).toMatchObject({ duplicate: true, seq: 3 });
    await until(() => chats.every((c) => (got.get(c)?.length ?? 0) >= 10), { what: 'every chat delivered' });
    for (const c of chats) expect(got.get(c)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Each chat's keys are in its own shard's prefix.
    const shard = shardOf(chats[0], 4);
    expect(await redis.hget(`{${prefix}:s${shard}}:lane:inbound:seq`, chats[0])).toBe('10');
    expect(await lane.pendingCount()).toBe(0);
  });
});

describe('changing QUEUE_SHARDS', () => {
  it('records the count, refuses a new one while items wait (saying how to drain), and takes it once drained', async () => {
    const prefix = prefixForTest('layout');
    const redis = newRedis();
    cleanups.push(async () => void redis.disconnect());
    expect(await checkShardLayout(redis, prefix, 1)).toEqual({ previous: 1, changed: true });
    expect(await checkShardLayout(redis, prefix, 1)).toEqual({ previous: 1, changed: false });

    // A chat waits in the one-shard layout.
    await redis.zadd(`${prefix}:lane:inbound:active`, Date.now(), 'tg:b:1');
    const refusal = await checkShardLayout(redis, prefix, 16).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(refusal).toMatch(/QUEUE_SHARDS is 16, but this deployment's queues were made with 1 shard\(s\) and still hold 1 chat/);
    expect(refusal).toMatch(/start with QUEUE_SHARDS=1.*nothing pending.*then start with QUEUE_SHARDS=16/);
    expect(await redis.get(`${prefix}:queue-shards`)).toBe('1');

    // Drained: the new count is taken, and from then on the old one is refused while its shards hold work.
    await redis.del(`${prefix}:lane:inbound:active`);
    expect(await checkShardLayout(redis, prefix, 16)).toEqual({ previous: 1, changed: true });
    await redis.zadd(`${shardPrefix(prefix, 7, 16)}:outbound-dead:failed`, 1, 'job');
    await expect(checkShardLayout(redis, prefix, 1)).rejects.toThrow(
      /made with 16 shard\(s\) and still hold 0 chat\(s\) with waiting items and 1 dead letter/,
    );
  });
});

describe('config', () => {
  const base = { REDIS_URL: 'redis://:pw@127.0.0.1:7000' };
  it('REDIS_CLUSTER_NODES: 16 shards by default, the prefix as a hash tag; one Redis keeps 1 shard and its prefix', () => {
    const c = loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000,[::1]:7001' }, { envFile: false, purpose: 'cli' });
    expect(c.redis.cluster).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
    });
    expect(c.queueShards).toBe(16);
    expect(c.queuePrefix).toBe('{chats}');
    const single = loadConfig(base, { envFile: false, purpose: 'cli' });
    expect([single.queueShards, single.queuePrefix, single.redis.cluster]).toEqual([1, 'chats', null]);
  });

  it('refuses what a Cluster cannot keep, one sentence per variable', () => {
    const err = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env }, { envFile: false, purpose: 'cli' });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err({ REDIS_CLUSTER_NODES: 'nope' })).toMatch(/REDIS_CLUSTER_NODES item 1 must be host:port, got "nope"/);
    expect(err({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_WAIT_REPLICAS: '1' })).toMatch(
      /REDIS_WAIT_REPLICAS is not supported with REDIS_CLUSTER_NODES/,
    );
    // Pull mode is sharded like push mode: the shards hand off to the one update log.
    expect(err({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', ONEC_MODE: 'pull', QUEUE_SHARDS: '4' })).toBe('');
    expect(
      loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000', ONEC_MODE: 'pull' }, { envFile: false, purpose: 'cli' }).queueShards,
    ).toBe(16);
    expect(err({ QUEUE_SHARDS: '0' })).toMatch(/QUEUE_SHARDS/);
  });
});

/**
 * Pull mode with QUEUE_SHARDS > 1: every shard's lane hands its chats' items to the ONE update
 * log of the deployment (another slot on a Cluster), in two steps — an idempotent append
 * (a per-chat high-water mark), then the lane drops them. The log gets every item once,
 * each chat in seq order, and a hand-off repeated after a crash between the steps adds
 * nothing. (On one Redis here; the e2e pull tests run the same on a local Cluster with
 * `npm run test:cluster-e2e test/e2e/onec-pull.test.ts`.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { laneBase, shardOf, shardPrefix } from '../../src/lanes/lane-keys.ts';
import { ShardedLane } from '../../src/lanes/sharded-lane.ts';
import { UpdateLog } from '../../src/lanes/update-log.js';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix, until } from '../helpers/redis.ts';

const SHARDS = 4;
const redis = newRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) {
    await cleanupPrefix(p);
    await cleanupPrefix(`{${p}:s`);
  }
  redis.disconnect();
});

function newPrefix(label: string): string {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
}

interface Body {
  chat: string;
  n: number;
}

const payloadOf = (raw: string) => JSON.parse(raw) as Body & { seq: number };

describe('pull mode over shards: one update log', () => {
  it('every chat of every shard reaches the log once, in seq order', async () => {
    const prefix = newPrefix('pull-shards');
    const log = new UpdateLog({ redis, prefix });
    const handed: string[] = [];
    const lane = new ShardedLane<Body>({
      name: 'inbound',
      shards: SHARDS,
      redis,
      bullConnection: { url: REDIS_URL },
      prefix,
      sweepIntervalMs: 200,
      batchMax: 7,
      sink: { deliver: async () => Promise.reject(new Error('pull mode: the sink is not used')) },
      handoff: {
        log,
        toUpdates: async (_key, items) =>
          items.map((it) => ({ type: 'message' as const, payload: JSON.stringify({ ...it.body, seq: it.seq }) })),
        onHandedOff: (key, items) => handed.push(...items.map((it) => `${key}#${it.seq}`)),
      },
    });
    try {
      await lane.start();
      const chats = Array.from({ length: 24 }, (_, i) => `tg:pull_bot:${i}`);
      expect(new Set(chats.map((c) => shardOf(c, SHARDS))).size).toBe(SHARDS);
      const PER = 30;
      for (let n = 1; n <= PER; n += 5)
        await lane.append(
          chats.flatMap((chat) => Array.from({ length: 5 }, (_, j) => ({ key: chat, id: `${chat}:${n + j}`, body: { chat, n: n + j } }))),
        );
      await until(async () => (await redis.xlen(log.streamKey)) >= chats.length * PER && (await lane.pendingCount()) === 0, {
        what: 'every item in the log',
        timeoutMs: 30_000,
      });
      const entries = await log.range('0-0', '+', 10_000);
      expect(entries).toHaveLength(chats.length * PER);
      const perChat = new Map<string, number[]>();
      for (const e of entries) {
        const p = payloadOf(e.payload);
        perChat.set(p.chat, [...(perChat.get(p.chat) ?? []), p.n]);
      }
      for (const chat of chats) expect(perChat.get(chat)).toEqual(Array.from({ length: PER }, (_, i) => i + 1));
      expect(handed).toHaveLength(chats.length * PER);
    } finally {
      await lane.close();
      log.close();
    }
  });

  it('a hand-off interrupted by a crash (before or after the log step) is finished once by the next driver, in order', async () => {
    const prefix = newPrefix('pull-once');
    const log = new UpdateLog({ redis, prefix });
    const make = () =>
      new ShardedLane<Body>({
        name: 'inbound',
        shards: SHARDS,
        redis,
        bullConnection: { url: REDIS_URL },
        prefix,
        sweepIntervalMs: 200,
        sink: { deliver: async () => Promise.reject(new Error('pull mode: the sink is not used')) },
        handoff: {
          log,
          toUpdates: async (_key, items) =>
            items.map((it) => ({ type: 'message' as const, payload: JSON.stringify({ ...it.body, seq: it.seq }) })),
        },
      });
    const before = 'tg:crash_bot:before-log';
    const after = 'tg:crash_bot:after-log';
    const lane = make();
    try {
      // Items wait (the lane is not started); a driver "died" holding a hand-off of #1–#2 of
      // each chat: one before it reached the log, one after (its entries are in the log).
      for (const chat of [before, after]) await lane.append([1, 2, 3].map((n) => ({ key: chat, id: `${chat}:${n}`, body: { chat, n } })));
      const handKey = (chat: string) => `${laneBase(shardPrefix(prefix, shardOf(chat, SHARDS), SHARDS), 'inbound')}hand:${chat}`;
      await redis.set(handKey(before), 'died-before|1,2');
      await redis.set(handKey(after), 'died-after|1,2');
      const upd = (chat: string, n: number) => ({ type: 'message' as const, payload: JSON.stringify({ chat, n, seq: n }) });
      expect(await log.appendOnce('died-after', [upd(after, 1), upd(after, 2)])).toBe(2);
      // The same hand-off id again (a stalled driver waking up) adds nothing.
      expect(await log.appendOnce('died-after', [upd(after, 1), upd(after, 2)])).toBe(0);

      await lane.start();
      await until(async () => (await lane.pendingCount()) === 0 && (await redis.xlen(log.streamKey)) >= 6, {
        what: 'both chats handed off',
      });
      const entries = (await log.range('0-0', '+', 100)).map((e) => payloadOf(e.payload));
      for (const chat of [before, after]) expect(entries.filter((p) => p.chat === chat).map((p) => p.n)).toEqual([1, 2, 3]);
      expect(entries).toHaveLength(6);
      for (const chat of [before, after]) expect(await redis.exists(handKey(chat))).toBe(0);
      // The cursor machinery sees the entries (the meta's `last` moved).
      expect((await log.fetch({ after: null, limit: 100, waitMs: 0 })).updates).toHaveLength(6);
    } finally {
      await lane.close();
      log.close();
    }
  });
});

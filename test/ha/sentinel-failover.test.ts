/**
 * Redis Sentinel, natively, on real servers: one primary, one replica, three sentinels (all
 * on loopback). Under steady inbound (customers on the emulated Bot API) and outbound (the
 * API) traffic the primary is killed with SIGKILL; Sentinel promotes the replica and the
 * connector follows it by itself. 1C must then hold every customer message once, in seq
 * order, and every accepted outbound message must reach the customer.
 *
 * With REDIS_WAIT_REPLICAS=1 a message is confirmed to Telegram (and a 202 answered) only
 * once the replica has it, so the failover can lose nothing that was acknowledged. The test
 * prints the figures: time from the kill to the promotion and to the next message in 1C,
 * and the replica's lag behind the primary just before the kill (the window a connector
 * without WAIT would have exposed).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundFeature } from '../../src/outbound/outbound-feature.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { until } from '../helpers/redis.ts';
import { FAST_PACING } from '../outbound/outbound-helpers.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { primaryPortOf, RedisTopology, sentinelView, stopBounded, type RedisProcess } from './redis-topology.ts';
import { gapFreeFromOne, runFailoverTraffic } from './traffic.ts';

const NAME = 'chats';
let topo: RedisTopology;
let primary: RedisProcess;
let replica: RedisProcess;
const sentinels: RedisProcess[] = [];
let ts: TestStack | null = null;

beforeAll(async () => {
  topo = new RedisTopology();
  primary = await topo.server();
  replica = await topo.server({ replicaOf: primary.port });
  for (let i = 0; i < 3; i++) sentinels.push(await topo.sentinel(NAME, primary.port));
  // Every sentinel knows the two others and sees the replica in sync: only then can they agree.
  await until(
    async () => {
      for (const s of sentinels) {
        const v = await sentinelView(s.port, NAME);
        if (v.sentinels < 2 || v.replicas < 1) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'sentinels to see each other and the replica' },
  );
}, 60_000);

afterAll(async () => {
  try {
    await stopBounded('the connector', () => ts?.stop(), 30_000);
  } finally {
    await topo?.stop();
  }
}, 60_000);

/** Bytes the replica is behind the primary (master_repl_offset − the replica's offset). */
async function replicaLag(primaryPort: number): Promise<number> {
  const r = new Redis({ port: primaryPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = await r.info('replication');
    const master = Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? 0);
    const slave = Number(/slave0:.*offset=(\d+)/.exec(info)?.[1] ?? master);
    return master - slave;
  } finally {
    r.disconnect();
  }
}

describe('Redis Sentinel failover', () => {
  it('kill -9 of the primary under traffic: every acknowledged message in 1C once and in order, every accepted outbound message delivered', async () => {
    const sentinelList = sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    ts = await startTestStack({
      redisUrl: primary.url,
      env: { REDIS_SENTINELS: sentinelList, REDIS_SENTINEL_NAME: NAME, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '2000' },
      connector: { features: [outboundFeature({ retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }), pacing: FAST_PACING })] },
    });
    const CHATS = 3;
    const PER_CHAT = 40;
    let lagBeforeKill = -1;
    const run = await runFailoverTraffic({
      ts,
      chats: CHATS,
      perChat: PER_CHAT,
      tag: 'ha',
      kill: async (keys) => {
        lagBeforeKill = await replicaLag(primary.port);
        primary.kill();
        return keys;
      },
      promoted: async () => (await primaryPortOf(sentinels[0].port, NAME)) === replica.port,
    });

    // With WAIT nothing confirmed is lost: every chat complete, once, in order, seq 1…n.
    for (const c of run.chats) {
      expect(c.missing, c.key).toEqual([]);
      expect(c.inOrder, c.key).toBe(true);
      expect(new Set(c.stored.map((m) => m.id)).size, c.key).toBe(PER_CHAT);
      expect(gapFreeFromOne(c.stored.map((m) => m.seq)), `${c.key}: seq 1…n`).toBe(true);
    }
    expect(run.outboundRepeats).toEqual([]);

    const figures = {
      inbound: run.inbound,
      outbound: run.outbound,
      replicaLagBytesBeforeKill: lagBeforeKill,
      promotionMs: run.promotedAt - run.killedAt,
      firstMessageIn1cAfterKillMs: run.resumedAt - run.killedAt,
      allSettledAfterKillMs: run.settledAt - run.killedAt,
      onecDuplicatesAnswered: run.onecDuplicates,
      outboundRepeats: run.outboundRepeats.length,
    };
    process.stdout.write(`sentinel failover figures: ${JSON.stringify(figures)}\n`);
    expect(figures.promotionMs).toBeGreaterThan(0);
  }, 150_000);
});

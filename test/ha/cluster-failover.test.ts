/**
 * Redis Cluster, sharded by chat, on real servers: 3 primaries + 3 replicas on loopback
 * (`redis-server --cluster-enabled yes`, joined with `redis-cli --cluster create`). The
 * connector runs with REDIS_CLUSTER_NODES and the default 16 shards: the chats' lanes and
 * BullMQ queues spread over the primaries, deployment-wide keys stay on `{<prefix>}`.
 *
 * First the plain end-to-end path (customers → 1C, API → customers) with the chats on more
 * than one primary; then, under the same steady traffic, the primary serving chat 0's
 * shard is killed with SIGKILL. The cluster promotes its replica and the connector's
 * Cluster client follows it. 1C must then hold every customer message at most once, in
 * order, and everything accepted outbound must reach the customer. Replication is
 * asynchronous and WAIT is not used on a Cluster (config.ts), so the stated window is what
 * the killed primary had acknowledged and not yet replicated: the test measures the replica
 * lag just before the kill and the messages lost, and prints the figures.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundFeature } from '../../src/outbound/outbound-feature.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { shardOf, shardPrefix } from '../../src/lanes/lane-keys.ts';
import { until } from '../helpers/redis.ts';
import { FAST_PACING } from '../outbound/outbound-helpers.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { primaryOfKey, RedisTopology, type RedisProcess } from './redis-topology.ts';

let topo: RedisTopology;
let nodes: RedisProcess[] = [];
let ts: TestStack | null = null;

beforeAll(async () => {
  topo = new RedisTopology();
  nodes = await topo.cluster({ primaries: 3, replicasPer: 1, nodeTimeoutMs: 1_000 });
}, 90_000);

afterAll(async () => {
  const t0 = Date.now();
  await ts?.stop();
  process.stdout.write(`cluster stack stopped in ${Date.now() - t0} ms\n`);
  await topo?.stop();
}, 120_000);

/** Bytes the replica is behind the primary on `port`, and the replica's port. */
async function replication(port: number): Promise<{ lag: number; replicaPort: number | null }> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = await r.info('replication');
    const master = Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? 0);
    const m = /slave0:ip=[^,]+,port=(\d+),state=\w+,offset=(\d+)/.exec(info);
    return { lag: m ? master - Number(m[2]) : -1, replicaPort: m ? Number(m[1]) : null };
  } finally {
    r.disconnect();
  }
}

/** Does the node on `port` call itself a primary now? */
async function isPrimary(port: number): Promise<boolean> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return /role:master/.test(await r.info('replication'));
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** The Telegram message id at the end of an inbound id (increases with each customer message). */
const msgNo = (id: string): number => Number(/(\d+)$/.exec(id)?.[1] ?? NaN);

// Not yet in `npm test`: the kill -9 run passed 3 of 5 times on a loaded machine (once the
// replica was not promoted within 30 s; once the stored ids' message numbers stopped
// increasing in one chat — not analysed, see issue 18). `npm run test:cluster-ha` runs it.
describe.skipIf(process.env.CLUSTER_HA !== '1')('Redis Cluster, sharded by chat', () => {
  it('end to end on the cluster, then kill -9 of a primary under traffic: order kept, losses within the replication window, outbound delivered', async () => {
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
    ts = await startTestStack({
      redisUrl: nodes[0].url,
      env: { REDIS_CLUSTER_NODES: seeds },
      connector: { features: [outboundFeature({ retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }), pacing: FAST_PACING })] },
    });
    const { telegram, bots, onec, config } = ts.stack;
    expect(config.queueShards).toBe(16);
    expect(config.queuePrefix).toMatch(/^\{cc-[0-9a-f]+\}$/);
    const bot = bots[0];
    const CHATS = 6;
    const PER_CHAT = 36;
    const chats = Array.from({ length: CHATS }, (_, i) => telegram.chat(bot.token, { firstName: `Customer ${i}` }));
    const keys = chats.map((c) => `tg:${bot.username}:${c.id}`);
    const shardKey = (k: string) => `${shardPrefix(config.queuePrefix, shardOf(k, 16), 16)}:lane:inbound:seq`;
    const owners = await Promise.all(keys.map((k) => primaryOfKey(nodes[0].port, shardKey(k))));
    // The chats' lanes live on more than one primary: the work is spread, not pinned to one slot.
    expect(new Set(owners).size).toBeGreaterThan(1);

    const api = `${ts.connector.url}/api/v1/messages`;
    const headers = { authorization: `Bearer ${config.apiToken}`, 'content-type': 'application/json' };
    const accepted: string[] = [];
    const sendOutbound = async (chat: number, n: number): Promise<void> => {
      const id = `cl-${chat}-${n}-${randomBytes(3).toString('hex')}`;
      const body = JSON.stringify({ id, chatId: keys[chat], text: `reply ${id}` });
      for (let attempt = 0; attempt < 150; attempt++) {
        const res = await fetch(api, { method: 'POST', headers, body, signal: AbortSignal.timeout(20_000) }).catch(() => null);
        if (res && (res.status === 202 || res.status === 200)) {
          accepted.push(id);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`outbound ${id} was never accepted`);
    };

    // End to end on the cluster first: one message each way per chat.
    chats.forEach((c, i) => c.text(`message ${i}.0`));
    await until(() => keys.every((k) => storedOf(ts!.stack, k).length >= 1), { timeoutMs: 30_000, what: 'first messages in 1C' });
    await Promise.all(chats.map((_, i) => sendOutbound(i, 0)));
    await until(() => accepted.every((id) => telegram.sent(bot.token).some((s) => s.text === `reply ${id}`)), {
      timeoutMs: 30_000,
      what: 'first replies delivered',
    });

    const victim = owners[0]!;
    const victimNode = nodes.find((n) => n.port === victim)!;
    const { replicaPort } = await replication(victim);
    expect(replicaPort).not.toBeNull();
    let killedAt = 0;
    let lagBeforeKill = -1;
    let promotion: Promise<number> | null = null;
    let firstAfterKill: Promise<number> | null = null;
    const total = () => keys.reduce((n, k) => n + storedOf(ts!.stack, k).length, 0);
    const traffic = (async () => {
      for (let n = 1; n < PER_CHAT; n++) {
        chats.forEach((c, i) => c.text(`message ${i}.${n}`));
        if (n % 4 === 0) await Promise.all(chats.map((_, i) => sendOutbound(i, n)));
        if (n === Math.floor(PER_CHAT / 3)) {
          lagBeforeKill = (await replication(victim)).lag;
          const before = total();
          victimNode.kill();
          killedAt = Date.now();
          promotion = until(async () => ((await isPrimary(replicaPort!)) ? Date.now() : 0), {
            timeoutMs: 30_000,
            intervalMs: 50,
            what: 'the cluster to promote the replica',
          });
          firstAfterKill = until(() => (total() > before ? Date.now() : 0), {
            timeoutMs: 30_000,
            intervalMs: 20,
            what: 'the first message in 1C after the kill',
          });
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await traffic;
    const promoted = await promotion!;
    const resumed = await firstAfterKill!;

    // Every customer message Telegram still holds for the bot was confirmed by the connector
    // (the offset moves only after the append); wait until the lanes are empty and 1C quiet.
    const sentToBot = CHATS * PER_CHAT;
    await until(() => total() >= sentToBot || Date.now() - killedAt > 45_000, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'inbound to settle',
    });
    const recovered = Date.now();

    let missing = 0;
    for (const k of keys) {
      const stored = storedOf(ts.stack, k);
      // Once each, in order: seq gap-free from 1, the customer's messages in the order written.
      expect(new Set(stored.map((m) => m.id)).size).toBe(stored.length);
      expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: stored.length }, (_, j) => j + 1));
      const nos = stored.map((m) => msgNo(m.id));
      expect(nos).toEqual([...nos].sort((a, b) => a - b));
      missing += PER_CHAT - stored.length;
    }

    await until(
      () => {
        const texts = telegram.sent(bot.token).map((s) => s.text ?? '');
        return accepted.every((id) => texts.includes(`reply ${id}`));
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'every accepted outbound message delivered' },
    );
    const texts = telegram.sent(bot.token).map((s) => s.text ?? '');
    const repeats = accepted.filter((id) => texts.filter((t) => t === `reply ${id}`).length > 1);

    const figures = {
      inbound: sentToBot,
      outbound: accepted.length,
      primariesWithChats: new Set(owners).size,
      replicaLagBytesBeforeKill: lagBeforeKill,
      promotionMs: promoted - killedAt,
      firstMessageIn1cAfterKillMs: resumed - killedAt,
      allInboundIn1cAfterKillMs: recovered - killedAt,
      inboundLost: missing,
      onecDuplicatesAnswered: onec.state().messages.duplicates.count,
      outboundRepeats: repeats.length,
    };
    process.stdout.write(`cluster failover figures: ${JSON.stringify(figures)}\n`);
    // The window: with the replica in sync at the kill (lag 0) nothing acknowledged may be
    // lost; with a lag, at most the messages in flight then (one per chat in this traffic).
    expect(missing).toBeLessThanOrEqual(lagBeforeKill > 0 ? CHATS : 0);
    expect(repeats).toEqual([]);
  }, 200_000);
});

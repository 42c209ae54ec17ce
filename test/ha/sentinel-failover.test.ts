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
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundFeature } from '../../src/outbound/outbound-feature.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { until } from '../helpers/redis.ts';
import { FAST_PACING } from '../outbound/outbound-helpers.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { primaryPortOf, RedisTopology, sentinelView, type RedisProcess } from './redis-topology.ts';

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
  await ts?.stop();
  await topo?.stop();
});

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
    const { telegram, bots, onec, config } = ts.stack;
    const bot = bots[0];
    const CHATS = 3;
    const PER_CHAT = 40;
    const chats = Array.from({ length: CHATS }, (_, i) => telegram.chat(bot.token, { firstName: `Customer ${i}` }));
    const keys = chats.map((c) => `tg:${bot.username}:${c.id}`);
    const api = `${ts.connector.url}/api/v1/messages`;
    const headers = { authorization: `Bearer ${config.apiToken}`, 'content-type': 'application/json' };

    // One outbound message, resent with the same id until the API answers (idempotent by id).
    const accepted: string[] = [];
    const sendOutbound = async (chat: number, n: number): Promise<void> => {
      const id = `ha-${chat}-${n}-${randomBytes(3).toString('hex')}`;
      const body = JSON.stringify({ id, chatId: keys[chat], text: `reply ${id}` });
      for (let attempt = 0; attempt < 100; attempt++) {
        const res = await fetch(api, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) }).catch(() => null);
        if (res && (res.status === 202 || res.status === 200)) {
          accepted.push(id);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const last = await fetch(api, { method: 'POST', headers, body }).then(
        async (r) => `${r.status} ${await r.text()}`,
        (e: Error) => e.message,
      );
      throw new Error(`outbound ${id} was never accepted: ${last}`);
    };

    let killedAt = 0;
    let lagBeforeKill = -1;
    let promotion: Promise<number> | null = null;
    let firstAfterKill: Promise<number> | null = null;
    const traffic = (async () => {
      for (let n = 1; n <= PER_CHAT; n++) {
        chats.forEach((c, i) => c.text(`message ${i}.${n}`));
        if (n === 1) await until(() => keys.every((k) => storedOf(ts!.stack, k).length >= 1), { what: 'first messages in 1C' });
        if (n % 4 === 0) await Promise.all(chats.map((_, i) => sendOutbound(i, n)));
        if (n === Math.floor(PER_CHAT / 3)) {
          lagBeforeKill = await replicaLag(primary.port);
          const storedBefore = keys.reduce((n, k) => n + storedOf(ts!.stack, k).length, 0);
          primary.kill();
          killedAt = Date.now();
          // Watched from the kill on: when Sentinel names the replica, and when 1C gets the next message.
          promotion = until(async () => ((await primaryPortOf(sentinels[0].port, NAME)) === replica.port ? Date.now() : 0), {
            timeoutMs: 30_000,
            intervalMs: 50,
            what: 'Sentinel to promote the replica',
          });
          firstAfterKill = until(() => (keys.reduce((n, k) => n + storedOf(ts!.stack, k).length, 0) > storedBefore ? Date.now() : 0), {
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

    await until(() => keys.every((k) => storedOf(ts!.stack, k).length >= PER_CHAT), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'every customer message in 1C after the failover',
    });
    const recovered = Date.now();

    for (const [i, k] of keys.entries()) {
      const stored = storedOf(ts.stack, k);
      expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: PER_CHAT }, (_, j) => j + 1));
      expect(new Set(stored.map((m) => m.id)).size).toBe(PER_CHAT);
      const texts = onec.state().messages.byChat[k]?.length;
      expect(texts, `chat ${i}`).toBe(PER_CHAT);
    }

    // Outbound: everything accepted reaches the customer; repeats are counted and reported.
    await until(
      () => {
        const texts = telegram.sent(bot.token).map((s) => s.text ?? '');
        return accepted.every((id) => texts.includes(`reply ${id}`));
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'every accepted outbound message delivered' },
    );
    const texts = telegram.sent(bot.token).map((s) => s.text ?? '');
    const repeats = accepted.filter((id) => texts.filter((t) => t === `reply ${id}`).length > 1);
    expect(repeats).toEqual([]);

    const figures = {
      inbound: CHATS * PER_CHAT,
      outbound: accepted.length,
      replicaLagBytesBeforeKill: lagBeforeKill,
      promotionMs: promoted - killedAt,
      firstMessageIn1cAfterKillMs: resumed - killedAt,
      allInboundIn1cAfterKillMs: recovered - killedAt,
      onecDuplicatesAnswered: onec.state().messages.duplicates.count,
      outboundRepeats: repeats.length,
    };
    process.stdout.write(`sentinel failover figures: ${JSON.stringify(figures)}\n`);
    expect(figures.promotionMs).toBeGreaterThan(0);
  }, 150_000);
});

/**
 * QUEUE_SHARDS > 1 (here 4 shards on one Redis — the keys are the same as on a Cluster): every
 * administrator's view covers all shards. `lane.deadQueue`, the queue CLI's admin (stats,
 * failed, retry, remove), the metrics and the dashboard see the dead letters of every shard
 * under the lane's own queue name, and a retry by the id they show finds the job's shard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/app.ts';
import { registerDashboard } from '../../src/ops/dashboard.ts';
import { JobDataScrubber } from '../../src/ops/job-view.ts';
import { QueueAdmin } from '../../src/ops/queue-admin.ts';
import { QueueCatalog } from '../../src/ops/queue-catalog.ts';
import { ConnectorMetrics } from '../../src/ops/metrics.ts';
import { shardOf } from '../../src/lanes/lane-keys.ts';
import { ShardedLane } from '../../src/lanes/sharded-lane.ts';
import type { ItemOutcome, LaneItem } from '../../src/lanes/ordered-lane.js';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix, until } from '../helpers/redis.ts';

const SHARDS = 4;

interface Body {
  text: string;
}

class Sink {
  delivered: { key: string; seq: number; text: string }[] = [];
  rejecting = true;
  async deliver(key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
    return items.map((it) => {
      if (this.rejecting && it.body.text.includes('#reject')) return { kind: 'rejected', reason: `bad ${it.body.text}` };
      this.delivered.push({ key, seq: it.seq, text: it.body.text });
      return { kind: 'done' };
    });
  }
}

/** A chat key in each of `n` different shards, none in shard 0 but the first. */
function chatsInShards(n: number): string[] {
  const byShard = new Map<number, string>();
  for (let i = 0; byShard.size < n; i++) {
    const key = `tg:shard_bot:${i}`;
    const s = shardOf(key, SHARDS);
    if (!byShard.has(s)) byShard.set(s, key);
  }
  return [...byShard.entries()].sort((a, b) => a[0] - b[0]).map(([, k]) => k);
}

const prefix = uniquePrefix('shard-views');
const redis = newRedis();
const sink = new Sink();
const lane = new ShardedLane<Body>({
  name: 'inbound',
  shards: SHARDS,
  redis,
  bullConnection: { url: REDIS_URL },
  prefix,
  sink,
  lockMs: 2000,
  sweepIntervalMs: 300,
  retryPolicy: new RetryPolicy({ baseMs: 5, capMs: 40 }),
});
const catalog = new QueueCatalog({ redisUrl: REDIS_URL, prefix, shards: SHARDS });
const admin = new QueueAdmin(catalog, new JobDataScrubber([]));
const chats = chatsInShards(SHARDS);

beforeAll(async () => {
  await lane.start();
  // One rejected message between two good ones in each chat, every chat in its own shard.
  await lane.append(
    chats.flatMap((key) => [
      { key, id: `${key}:1`, body: { text: 'one' } },
      { key, id: `${key}:2`, body: { text: `two #reject ${key}` } },
      { key, id: `${key}:3`, body: { text: 'three' } },
    ]),
  );
  await until(async () => (await lane.deadQueue.getFailedCount()) === SHARDS, { what: 'a dead letter in every shard' });
});

afterAll(async () => {
  await lane.close();
  await catalog.close();
  redis.disconnect();
  await cleanupPrefix(prefix);
  await cleanupPrefix(`{${prefix}:s`);
});

describe('queue views over every shard', () => {
  it('lane.deadQueue sums and merges the shards; shard 0 alone holds only its own', async () => {
    expect(await lane.shards[0].deadQueue.getFailedCount()).toBe(1);
    const failed = await lane.deadQueue.getFailed();
    expect(failed.map((j) => (j.data as { key: string }).key).sort()).toEqual([...chats].sort());
    expect((await lane.deadQueue.getFailed(0, 1)).length).toBe(2);
    for (const j of failed) expect(String((await lane.deadQueue.getJob(String(j.id)))?.id)).toBe(String(j.id));
    expect(await lane.deadQueue.getJob('no-such-job')).toBeUndefined();
    expect(sink.delivered.filter((d) => d.text === 'three')).toHaveLength(SHARDS);
  });

  it('the queue CLI admin: stats sum the shards, failed lists them all under the lane queue name', async () => {
    const stats = await admin.stats();
    const names = stats.map((s) => s.queue);
    expect(names.filter((n) => n === 'inbound-dead')).toHaveLength(1);
    expect(names.some((n) => n.includes('{') || n.includes(':s'))).toBe(false);
    expect(stats.find((s) => s.queue === 'inbound-dead')?.counts.failed).toBe(SHARDS);
    const jobs = await admin.failed('inbound-dead', 100);
    expect(jobs.map((j) => j.chat).sort()).toEqual([...chats].sort());
    expect((await admin.failed('inbound-dead', 2)).length).toBe(2);
  });

  it('metrics count the dead letters of every shard', async () => {
    const metrics = new ConnectorMetrics({
      catalog,
      redis,
      prefix,
      gate: { state: () => ({}) as never },
      seats: { usage: async () => 0 },
      onecSessionsOpen: () => 0,
      accounts: () => [],
      processMetrics: false,
    });
    const jobs = await metrics.registry.getSingleMetricAsString('chat_connector_queue_jobs');
    expect(jobs).toContain(`chat_connector_queue_jobs{queue="inbound-dead",state="failed"} ${SHARDS}`);
    const dead = await metrics.registry.getSingleMetricAsString('chat_connector_dead_letters');
    const total = [...dead.matchAll(/^chat_connector_dead_letters\{[^}]*lane="inbound"[^}]*\} (\d+)$/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    expect(total).toBe(SHARDS);
  });

  it('the dashboard shows one inbound-dead with every shard’s jobs, and retries a job of the last shard', async () => {
    const creds = { user: 'admin', password: 'dashboard-password-0123' };
    const app = await buildHttpApp({
      apiToken: 'api-token-0123456789',
      admin: creds,
      plugins: [async (a) => registerDashboard(a, { catalog, admin: creds, scrubber: new JobDataScrubber([]) })],
    });
    try {
      const authorization = `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}`;
      const res = await app.inject({
        method: 'GET',
        url: '/admin/queues/api/queues?activeQueue=inbound-dead&status=failed&page=1',
        headers: { authorization },
      });
      expect(res.statusCode).toBe(200);
      const list = res.json<{ queues: { name: string; counts: { failed: number }; jobs: { id: string; data: { key: string } }[] }[] }>();
      const dead = list.queues.filter((q) => q.name === 'inbound-dead');
      expect(dead).toHaveLength(1);
      expect(dead[0].counts.failed).toBe(SHARDS);
      expect(dead[0].jobs.map((j) => j.data.key).sort()).toEqual([...chats].sort());

      const last = chats[chats.length - 1];
      expect(shardOf(last, SHARDS)).toBe(SHARDS - 1);
      const job = dead[0].jobs.find((j) => j.data.key === last)!;
      sink.rejecting = false;
      const retry = await app.inject({
        method: 'PUT',
        url: `/admin/queues/api/queues/inbound-dead/${encodeURIComponent(job.id)}/retry`,
        headers: { authorization },
      });
      expect(retry.statusCode).toBe(204);
      await until(() => sink.delivered.some((d) => d.key === last && d.seq === 2), { what: 'retried from the dashboard' });
      expect(await lane.deadQueue.getFailedCount()).toBe(SHARDS - 1);
    } finally {
      await app.close();
    }
  });

  it('the CLI admin retries a job of another shard by the id it shows, and removes the rest of every shard', async () => {
    sink.rejecting = false;
    const jobs = await admin.failed('inbound-dead', 100);
    const other = jobs.find((j) => j.chat !== null && shardOf(j.chat, SHARDS) !== 0)!;
    expect(await admin.retry('inbound-dead', { id: other.id })).toEqual([other.id]);
    await until(() => sink.delivered.some((d) => d.key === other.chat && d.seq === 2), { what: 'retried from the CLI' });
    const removed = await admin.remove('inbound-dead', { all: true });
    expect(removed).toHaveLength(SHARDS - 2);
    expect(await lane.deadQueue.getFailedCount()).toBe(0);
    await expect(admin.retry('inbound-dead', { id: other.id })).rejects.toThrow(/is (completed|waiting|active|unknown)|No job/);
  });
});

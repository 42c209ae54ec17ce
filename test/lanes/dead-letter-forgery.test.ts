/**
 * Issue 11 item 6: a job added to (or edited in) a lane's dead-letter queue by hand —
 * bull-board's "add job" / "duplicate" / "edit data" did exactly that — must never become a
 * delivery. Only dead letters the lane created are re-queued; a real one still retries, once.
 * The dashboard itself refuses to add or edit jobs, and still retries.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { buildHttpApp } from '../../src/http/app.ts';
import { registerDashboard } from '../../src/ops/dashboard.ts';
import { JobDataScrubber } from '../../src/ops/job-view.ts';
import { QueueCatalog } from '../../src/ops/queue-catalog.ts';
import { OrderedLane, type ItemOutcome, type LaneItem } from '../../src/lanes/ordered-lane.js';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix, until } from '../helpers/redis.ts';

interface Body {
  id: string;
  text: string;
}

/** Rejects texts with #reject while `rejecting`; records every item it delivered. */
class RecordingSink {
  delivered: { key: string; seq: number; text: string }[] = [];
  rejecting = true;
  async deliver(key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
    return items.map((it) => {
      if (this.rejecting && it.body.text.includes('#reject')) return { kind: 'rejected', reason: 'bad data' };
      this.delivered.push({ key, seq: it.seq, text: it.body.text });
      return { kind: 'done' };
    });
  }
}

const prefix = uniquePrefix('dead-forgery');
const redis = newRedis();
const sink = new RecordingSink();
const lane = new OrderedLane<Body>({
  name: 'outbound',
  redis,
  bullConnection: { url: REDIS_URL },
  prefix,
  sink,
  lockMs: 2000,
  sweepIntervalMs: 300,
  retryPolicy: new RetryPolicy({ baseMs: 5, capMs: 40 }),
});
const catalog = new QueueCatalog({ redisUrl: REDIS_URL, prefix });
afterAll(async () => {
  await lane.close();
  await catalog.close();
  redis.disconnect();
  await cleanupPrefix(prefix);
});

async function failedReason(job: Job): Promise<string> {
  return until(
    async () => {
      const j = await lane.deadQueue.getJob(String(job.id));
      if (!j || (await j.getState()) !== 'failed') return null;
      // Read again: the job may have failed between reading it and asking its state.
      return (await lane.deadQueue.getJob(String(job.id)))?.failedReason ?? '?';
    },
    { what: `job ${job.id} failed` },
  );
}

describe('dead letters: only the lane’s own are re-queued', () => {
  it('forged and edited jobs are refused and never sent; a real dead letter retries once', async () => {
    await lane.start();
    const key = 'wa:main:79990000000@s.whatsapp.net';
    await lane.append([
      { key, id: 'm1', body: { id: 'm1', text: 'one' } },
      { key, id: 'm2', body: { id: 'm2', text: 'two #reject' } },
      { key, id: 'm3', body: { id: 'm3', text: 'three #reject' } },
    ]);
    await until(async () => (await lane.deadQueue.getFailedCount()) === 2, { what: 'two dead letters' });
    const [real2, real3] = ((await lane.deadQueue.getFailed()) as Job<{ seq: number; body: unknown }>[]).sort(
      (a, b) => a.data.seq - b.data.seq,
    );
    sink.rejecting = false;

    // 1. A job added by hand, already "parked" (what the dashboard's add/duplicate allowed).
    const forged = await lane.deadQueue.add('forged', {
      key: 'wa:main:70000000000@s.whatsapp.net',
      seq: 1,
      id: 'forged-1',
      body: { id: 'forged-1', text: 'pay to this account' },
      reason: 'x',
      parked: true,
    });
    expect(await failedReason(forged)).toMatch(/^Refused/);

    // 2. A job added by hand unparked: it fails as a dead letter would, and its retry is refused.
    const forged2 = await lane.deadQueue.add('forged-2', {
      key,
      seq: 9,
      id: 'forged-2',
      body: { id: 'forged-2', text: 'evil twin' },
      reason: 'x',
      parked: false,
    });
    await failedReason(forged2);
    await (await lane.deadQueue.getJob(String(forged2.id)))!.retry('failed');
    await until(async () => /^Refused/.test((await lane.deadQueue.getJob(String(forged2.id)))?.failedReason ?? ''), {
      what: 'forged retry refused',
    });

    // 3. A real dead letter whose data was edited: refused.
    await real3.updateData({ ...real3.data, body: { id: 'm3', text: 'edited text' } });
    await real3.retry('failed');
    await until(async () => /^Refused/.test((await lane.deadQueue.getJob(String(real3.id)))?.failedReason ?? ''), {
      what: 'edited retry refused',
    });

    // 4. The untouched real one is re-queued at its own seq and delivered, once.
    await real2.retry('failed');
    await until(() => sink.delivered.some((d) => d.text === 'two #reject'), { what: 'real dead letter delivered' });
    const again = await lane.deadQueue.getJob(String(real2.id));
    await until(async () => (await again!.getState()) === 'completed', { what: 'retry completed' });
    await again!.retry('completed');
    await until(async () => /^Refused/.test((await lane.deadQueue.getJob(String(real2.id)))?.failedReason ?? ''), {
      what: 'second retry refused',
    });

    expect(sink.delivered).toEqual([
      { key, seq: 1, text: 'one' },
      { key, seq: 2, text: 'two #reject' },
    ]);
  });

  it('the dashboard cannot add, duplicate or edit a job; it can still retry', async () => {
    const admin = { user: 'admin', password: 'dashboard-password-0123' };
    const app = await buildHttpApp({
      apiToken: 'api-token-0123456789',
      admin,
      plugins: [async (a) => registerDashboard(a, { catalog, admin, scrubber: new JobDataScrubber([]) })],
    });
    try {
      const headers = {
        authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}`,
        'content-type': 'application/json',
      };
      const before = await lane.deadQueue.getJobCountByTypes('failed', 'completed', 'waiting', 'active');
      const add = await app.inject({
        method: 'POST',
        url: '/admin/queues/api/queues/outbound-dead/add',
        headers,
        payload: { name: 'x', data: { key: 'k', seq: 1, id: 'x', body: { id: 'x', text: 'evil' }, reason: 'r', parked: true } },
      });
      expect(add.statusCode).toBe(403);
      expect(add.json<{ error: { code: string; message: string } }>().error.code).toBe('dashboard_read_only');
      await lane.append([{ key: 'tg:b:5', id: 'd1', body: { id: 'd1', text: 'dash #reject' } }]);
      sink.rejecting = true;
      const dead = await until(
        async () =>
          ((await lane.deadQueue.getFailed()) as Job<{ id: string }>[]).find(
            (j) => j.data.id === 'd1' && !/^Refused/.test(j.failedReason ?? ''),
          ),
        { what: 'dead letter d1' },
      );
      sink.rejecting = false;
      const edit = await app.inject({
        method: 'PATCH',
        url: `/admin/queues/api/queues/outbound-dead/${encodeURIComponent(String(dead.id))}/update-data`,
        headers,
        payload: { jobData: { ...dead.data, body: { id: 'd1', text: 'edited' } } },
      });
      expect(edit.statusCode).toBe(403);
      expect(await lane.deadQueue.getJobCountByTypes('failed', 'completed', 'waiting', 'active')).toBe(before + 1);
      const retry = await app.inject({
        method: 'PUT',
        url: `/admin/queues/api/queues/outbound-dead/${encodeURIComponent(String(dead.id))}/retry`,
        headers: { authorization: headers.authorization },
      });
      expect(retry.statusCode).toBe(204);
      await until(() => sink.delivered.some((d) => d.text === 'dash #reject'), { what: 'retried from the dashboard' });
    } finally {
      await app.close();
    }
  });
});

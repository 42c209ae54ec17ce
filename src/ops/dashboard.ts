/**
 * The queue dashboard: bull-board over every queue of the product, at `/admin/queues`,
 * behind HTTP Basic (ADMIN_USER / ADMIN_PASSWORD, compared in constant time).
 *
 * The routes live in an encapsulated fastify context whose `onRoute` hook gives each of them
 * route auth `admin` (checked by the app, src/http/app.ts, like every other credential) and
 * refuses the writes the dashboard must not do (`dashboardWriteAllowed`). Retrying a dead letter here puts the message back at its own
 * `seq` (the lane's dead-letter worker does that); removing or cleaning kick jobs is
 * harmless — pending items stay in Redis and the lane's sweep kicks them again.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Job, JobType, Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { ShardedQueue } from '../lanes/sharded-queue.ts';
export { basicAuthorized, basicCredentials } from '../http/basic-auth.ts';
import { readableJobName, type JobDataScrubber } from './job-view.ts';
import { isDeadLetterQueue, laneOfQueue, type QueueCatalog } from './queue-catalog.ts';

export interface DashboardOptions {
  catalog: QueueCatalog;
  admin: { user: string; password: string };
  scrubber: JobDataScrubber;
  /** Where the dashboard is served (default `/admin/queues`). */
  basePath?: string;
  /** How often the list of queues is looked up again in Redis, ms (default 30 000). */
  refreshMs?: number;
}

/**
 * The dashboard may inspect everything but change only what an operator of the queues needs:
 * retry and clean (remove) jobs. Adding, duplicating or editing a job is refused — a job
 * forged into a dead-letter queue must never become a message (issue 11 item 6; the lane
 * also refuses a retried dead letter it did not create). Paths are relative to basePath.
 */
const DASHBOARD_WRITES_ALLOWED = new Set([
  'PUT /api/queues/:queueName/:jobId/retry',
  'PUT /api/queues/:queueName/retry/:queueStatus',
  'PUT /api/queues/:queueName/:jobId/clean',
  'PUT /api/queues/:queueName/clean/:queueStatus',
]);

export function dashboardWriteAllowed(method: string, pathInDashboard: string): boolean {
  return method === 'GET' || method === 'HEAD' || DASHBOARD_WRITES_ALLOWED.has(`${method} ${pathInDashboard}`);
}

function describeQueue(name: string): string {
  const lane = laneOfQueue(name);
  return isDeadLetterQueue(name)
    ? `Dead letters of the ${lane} lane: items rejected for good. Retry puts an item back at its own place (seq) in its chat.`
    : `Kicks of the ${lane} lane: one job per chat with waiting items. The items themselves wait in Redis in per-chat order.`;
}

type AdapterOptions = ConstructorParameters<typeof BullMQAdapter>[1];

/**
 * A sharded lane's queue (QUEUE_SHARDS > 1) as one queue of the dashboard, under the lane's
 * name: counts summed, lists merged, a job found in the shard that holds it (its retry and
 * clean act there), pause/resume/clean/empty on every shard. What bull-board asks beyond that
 * (workers, metrics, Redis info) is answered by shard 0 — on a Cluster, Redis info covers the
 * cluster anyway.
 */
class ShardedBullMQAdapter extends BullMQAdapter {
  private readonly merged: ShardedQueue;
  constructor(
    private readonly shardQueues: Queue[],
    options: AdapterOptions,
  ) {
    super(shardQueues[0], options);
    this.merged = new ShardedQueue(shardQueues);
  }
  override getJob(id: string): Promise<Job | undefined> {
    return this.merged.getJob(id);
  }
  override getJobs(statuses: Parameters<BullMQAdapter['getJobs']>[0], start?: number, end?: number): Promise<Job[]> {
    const types: JobType[] = statuses.flatMap((s) => (s === 'paused' ? [] : [s]));
    return this.merged.getJobs(types, start, end);
  }
  override async getJobCounts(): ReturnType<BullMQAdapter['getJobCounts']> {
    return this.merged.getJobCounts();
  }
  override async clean(status: Parameters<BullMQAdapter['clean']>[0], graceTimeMs: number): Promise<void> {
    await this.merged.clean(graceTimeMs, Number.MAX_SAFE_INTEGER, status);
  }
  override async isPaused(): Promise<boolean> {
    return (await Promise.all(this.shardQueues.map((q) => q.isPaused()))).some(Boolean);
  }
  override async pause(): Promise<void> {
    await Promise.all(this.shardQueues.map((q) => q.pause()));
  }
  override async resume(): Promise<void> {
    await Promise.all(this.shardQueues.map((q) => q.resume()));
  }
  override async empty(): Promise<void> {
    await Promise.all(this.shardQueues.map((q) => q.drain()));
  }
  override async obliterate(opts?: { force?: boolean }): Promise<void> {
    await Promise.all(this.shardQueues.map((q) => q.obliterate({ force: opts?.force ?? false })));
  }
  override async promoteAll(): Promise<void> {
    await Promise.all(this.shardQueues.map((q) => q.promoteJobs()));
  }
}

/** Registers the dashboard in its own context of `app`. */
export async function registerDashboard(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  const basePath = o.basePath ?? '/admin/queues';
  const refreshMs = o.refreshMs ?? 30_000;
  const adapterOf = (name: string) => {
    const shards = o.catalog.shardQueues(name);
    const options: AdapterOptions = { description: describeQueue(name), allowRetries: true };
    const a = shards.length > 1 ? new ShardedBullMQAdapter(shards, options) : new BullMQAdapter(shards[0], options);
    a.setFormatter('name', (job: { name?: string; data?: unknown }) => readableJobName(job));
    a.setFormatter('data', (data: unknown) => o.scrubber.value(data));
    a.setFormatter('returnValue', (v: unknown) => o.scrubber.value(v));
    return a;
  };
  let shown = await o.catalog.names();
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  const board = createBullBoard({
    queues: shown.map(adapterOf),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'chat-connector queues' } },
  });
  let lastRefresh = Date.now();

  await app.register(async (scope) => {
    // bull-board's routes declare no credential of ours: every one of them gets the
    // dashboard login (`admin`, checked by the app), and the writes it must not do are refused.
    scope.addHook('onRoute', (r: RouteOptions) => {
      r.config = { ...r.config, auth: 'admin' };
      const rel = r.url.startsWith(basePath) ? r.url.slice(basePath.length) : r.url;
      for (const m of ([] as string[]).concat(r.method)) {
        if (dashboardWriteAllowed(m, rel)) continue;
        r.handler = async (_req: FastifyRequest, reply: FastifyReply) =>
          reply.code(403).send({
            error: { code: 'dashboard_read_only', message: 'The dashboard can retry and clean jobs only; it cannot add or edit them.' },
          });
      }
      // Only the page itself is in the API description; bull-board's internals are not ours to document.
      const entry = (rel === '' || rel === '/') && ([] as string[]).concat(r.method).includes('GET');
      r.schema = entry
        ? {
            ...r.schema,
            hide: false,
            summary: 'Queue dashboard (retry, inspect, clean)',
            tags: ['operations'],
            security: [{ dashboardLogin: [] }],
          }
        : { ...r.schema, hide: true };
    });
    scope.addHook('onRequest', async () => {
      if (Date.now() - lastRefresh > refreshMs) {
        lastRefresh = Date.now();
        const now = await o.catalog.names().catch(() => shown);
        if (now.join() !== shown.join()) {
          shown = now;
          board.replaceQueues(shown.map(adapterOf));
        }
      }
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: basePath });
  });
}

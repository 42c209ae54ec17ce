/**
 * The operations feature: the queue dashboard (`/admin/queues`) and the Prometheus
 * endpoint (`/metrics`).
 *
 * ```ts
 * const connector = await createConnector(config, { features: [opsFeature()] });
 * ```
 *
 * `/metrics` is public (`config.auth: 'public'`): Prometheus scrapers carry no bearer and the
 * API listens on loopback by default. The metrics hold counts and states, never message
 * content or secrets. Put the port behind a firewall or a proxy when HTTP_HOST is not
 * loopback.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { defineFeature, type ConnectorFeature, type FeatureModule } from '../features/feature-contract.ts';
import { secretsOf } from '../config/secrets.ts';
import { JobDataScrubber } from './job-view.ts';
import { ConnectorMetrics } from './metrics.ts';
import { KNOWN_LANES, QueueCatalog } from './queue-catalog.ts';

export interface OpsFeatureOptions {
  /** Lanes shown even before Redis has keys of theirs (default inbound, outbound, statuses, routing). */
  lanes?: readonly string[];
  /** Serve `/metrics` (default true). */
  metrics?: boolean;
  /** Path of the dashboard (default `/admin/queues`). */
  dashboardPath?: string;
  /** Include Node's process metrics (default true). */
  processMetrics?: boolean;
  /** How often the dashboard looks for new queues in Redis, ms (default 30 000). */
  refreshMs?: number;
}

/** `GET /metrics`: public (see the header). */
export function metricsRoutes(metrics: Pick<ConnectorMetrics, 'text'>): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/metrics',
      {
        config: { auth: 'public' },
        schema: {
          summary: 'Prometheus metrics (counts and states, no content)',
          tags: ['operations'],
          response: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      async (_req, reply) => {
        const { contentType, body } = await metrics.text();
        return reply.header('Content-Type', contentType).send(body);
      },
    );
  };
}

const NEEDS = ['config', 'logger', 'redis', 'roles', 'bus', 'onec', 'gate', 'seats', 'accounts', 'updateLog'] as const;

export function opsFeature(opts: OpsFeatureOptions = {}): FeatureModule<(typeof NEEDS)[number]> {
  return defineFeature(NEEDS, (ctx): ConnectorFeature => {
    const { config } = ctx;
    const log = ctx.logger.child({ component: 'ops' });
    const catalog = new QueueCatalog({
      redisUrl: config.redis,
      prefix: config.queuePrefix,
      lanes: opts.lanes ?? KNOWN_LANES,
      shards: config.queueShards,
    });
    const scrubber = new JobDataScrubber(secretsOf(config));
    const metrics = new ConnectorMetrics({
      catalog,
      redis: ctx.redis,
      prefix: config.queuePrefix,
      gate: ctx.gate,
      seats: ctx.seats,
      onecSessionsOpen: () => ctx.onec.openSessions,
      accounts: () => ctx.accounts(),
      processMetrics: opts.processMetrics,
      updateLog: () => ctx.updateLog.stats(),
      pullMode: config.onec.mode === 'pull',
    });
    ctx.onec.setObserver(metrics.onecObserver());
    const unsubscribe = [
      ctx.bus.on('inbound.delivered', ({ messages }) => metrics.inboundDelivered(messages)),
      ctx.bus.on('outbound.status', ({ event, chatId }) => {
        if (event.status === 'sent') metrics.outboundSent(chatId);
      }),
    ];

    const dashboardPath = opts.dashboardPath ?? '/admin/queues';
    if (ctx.roles.has('http')) {
      if (config.admin) log.info(`queue dashboard at ${dashboardPath} (HTTP Basic, ADMIN_USER)`);
      else log.warn(`queue dashboard is off: ADMIN_USER and ADMIN_PASSWORD are not set, so ${dashboardPath} is not served`);
    }

    const routes = async (app: FastifyInstance): Promise<void> => {
      if (opts.metrics ?? true) await app.register(metricsRoutes(metrics));
      if (config.admin) {
        // bull-board is loaded by the process that serves the dashboard only (issue 19: memory).
        const { registerDashboard } = await import('./dashboard.ts');
        await registerDashboard(app, { catalog, admin: config.admin, scrubber, basePath: dashboardPath, refreshMs: opts.refreshMs });
      }
    };

    return {
      name: 'ops',
      routes,
      async stop() {
        for (const u of unsubscribe) u();
        ctx.onec.setObserver(undefined);
        await catalog.close();
      },
    };
  });
}

export { ConnectorMetrics } from './metrics.ts';
export { QueueCatalog, KNOWN_LANES } from './queue-catalog.ts';

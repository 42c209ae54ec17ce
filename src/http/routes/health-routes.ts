import type { FastifyPluginAsync } from 'fastify';

export interface ReadyCheck {
  name: string;
  ok: boolean;
  /** One sentence: what is wrong and what to do, or what is fine. */
  detail: string;
  /** A failing check that does not make the connector unready (shown, not counted). */
  advisory?: boolean;
  /** When failing: seconds a client should wait before asking again (sent as `Retry-After`). */
  retryAfterS?: number;
}

export interface HealthDeps {
  /** All checks of `/readyz`; ready when every non-advisory check is ok. */
  readiness(): Promise<ReadyCheck[]>;
}

export function healthRoutes(deps: HealthDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { config: { auth: 'public' } }, async () => ({ status: 'ok', uptimeS: Math.round(process.uptime()) }));
    app.get('/readyz', { config: { auth: 'public' } }, async (_req, reply) => {
      const checks = await deps.readiness();
      const ready = checks.every((c) => c.ok || c.advisory);
      const failing = checks.filter((c) => !c.ok && !c.advisory).map((c) => c.detail);
      const retryAfter = Math.max(0, ...checks.filter((c) => !c.ok && !c.advisory).map((c) => c.retryAfterS ?? 0));
      if (!ready && retryAfter > 0) reply.header('retry-after', String(retryAfter));
      return reply.code(ready ? 200 : 503).send({ ready, reason: ready ? null : failing.join(' '), checks });
    });
  };
}

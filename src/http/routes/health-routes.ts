import type { FastifyPluginAsync } from 'fastify';
import { bearerOf, secretEquals } from '../secret-compare.ts';
import { objectReply } from '../route-schema.ts';

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
  /** The API token: a request bearing it gets the details (null: nobody does). */
  apiToken: string | null;
}

export function healthRoutes(deps: HealthDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/healthz',
      {
        config: { auth: 'public' },
        schema: {
          summary: 'The process is alive',
          tags: ['health'],
          response: { 200: objectReply('Alive.', { status: { type: 'string' }, uptimeS: { type: 'integer' } }) },
        },
      },
      async () => ({ status: 'ok', uptimeS: Math.round(process.uptime()) }),
    );
    // Public (load balancers, orchestrators): states only. The details name hosts, ports and
    // remote error messages, so they go only to holders of the API token (issue 11 item 12).
    const ready = objectReply("Each check by name and state; with the API token also `reason` and each check's `detail`.", {
      ready: { type: 'boolean' },
      reason: { type: ['string', 'null'] },
      checks: {
        type: 'array',
        items: objectReply('One check.', {
          name: { type: 'string' },
          ok: { type: 'boolean' },
          advisory: { type: 'boolean' },
          detail: { type: 'string' },
        }),
      },
    });
    app.get(
      '/readyz',
      {
        config: { auth: 'public' },
        schema: { summary: 'Ready to work (Redis, license, accounts)', tags: ['health'], response: { 200: ready, 503: ready } },
      },
      async (req, reply) => {
        const checks = await deps.readiness();
        const ready = checks.every((c) => c.ok || c.advisory);
        const retryAfter = Math.max(0, ...checks.filter((c) => !c.ok && !c.advisory).map((c) => c.retryAfterS ?? 0));
        if (!ready && retryAfter > 0) reply.header('retry-after', String(retryAfter));
        if (!secretEquals(bearerOf(req.headers.authorization), deps.apiToken)) {
          const states = checks.map((c) => ({ name: c.name, ok: c.ok, ...(c.advisory ? { advisory: true } : {}) }));
          return reply.code(ready ? 200 : 503).send({ ready, checks: states });
        }
        const failing = checks.filter((c) => !c.ok && !c.advisory).map((c) => c.detail);
        return reply.code(ready ? 200 : 503).send({ ready, reason: ready ? null : failing.join(' '), checks });
      },
    );
  };
}

/**
 * The HTTP surface as a fastify app. Feature modules contribute route plugins; this file
 * owns only what is common: the error format, API-token auth for `/api/v1/*`, and the
 * one-sentence answer to anything malformed.
 *
 * Route auth is declared per route in `config.auth`:
 * - `api` (default under /api/v1): `Authorization: Bearer <API_TOKEN>`;
 * - `operator`: the route checks the operator token itself;
 * - `public`: no check (health, webhooks that carry their own secret).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { ConnectorError, type Logger } from '../core/index.ts';
import { bearerOf, secretEquals } from './secret-compare.ts';

export type RouteAuth = 'api' | 'operator' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
}

export interface HttpAppOptions {
  /** Bearer token of the API; null refuses every `api` route (nothing is open by accident). */
  apiToken: string | null;
  logger?: Logger;
  /** Feature plugins (routes), registered in order. */
  plugins: FastifyPluginAsync[];
  /** Largest request body (default 25 MiB: outbound media may come as base64). */
  bodyLimit?: number;
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export async function buildHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 25 * 1024 * 1024, forceCloseConnections: true });
  const log = opts.logger;

  app.addHook('onRequest', async (req, reply) => {
    const auth: RouteAuth = req.routeOptions.config?.auth ?? (req.url.startsWith('/api/') ? 'api' : 'public');
    if (auth !== 'api') return;
    if (!secretEquals(bearerOf(req.headers.authorization), opts.apiToken)) {
      reply.header('WWW-Authenticate', 'Bearer');
      return reply
        .code(401)
        .send(errorBody('unauthorized', 'This API needs "Authorization: Bearer <API_TOKEN>" with the connector\'s API token.'));
    }
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof ConnectorError) {
      if (err.retryAfterMs !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      return reply.code(err.httpStatus).send(err.toJSON());
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const field =
        (first?.instancePath || '').replace(/^\//, '').replace(/\//g, '.') ||
        String((first?.params as { missingProperty?: string } | undefined)?.missingProperty ?? 'body');
      return reply.code(400).send(errorBody('invalid_request', `Field "${field}" ${first?.message ?? 'is invalid'}.`));
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.code(415).send(errorBody('unsupported_media_type', 'Send the body as application/json.'));
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send(errorBody('body_too_large', 'The request body is larger than the connector accepts.'));
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply
        .code(fe.statusCode)
        .send(errorBody('invalid_request', fe.statusCode === 400 ? 'The request body is not valid JSON.' : fe.message));
    }
    log?.error({ err: err.message, url: req.url.split('?')[0] }, 'request failed');
    return reply.code(500).send(errorBody('internal_error', 'The connector failed to handle this request; see its log.'));
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody('not_found', `No such endpoint: ${req.method} ${req.url.split('?')[0]}.`)),
  );

  for (const p of opts.plugins) await app.register(p);
  return app;
}

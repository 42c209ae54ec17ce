/**
 * The HTTP surface as a fastify app. Feature modules contribute route plugins; this file
 * owns only what is common: the error format, route authentication, and the one-sentence
 * answer to anything malformed.
 *
 * ## Convention for every route (copy this when you add one)
 *
 * ```ts
 * import { errorResponses, objectReply, security } from '../route-schema.ts';
 *
 * app.get<{ Params: { id: string } }>(
 *   '/api/v1/things/:id',
 *   {
 *     config: { auth: 'api' },            // REQUIRED: who may call it (see RouteAuth)
 *     schema: {                            // REQUIRED: validated by fastify, published at /api/v1/openapi.json
 *       summary: 'One thing by id',
 *       tags: ['things'],
 *       security: security('api'),         // the credential, as OpenAPI shows it
 *       params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 200 } } },
 *       response: { 200: thingSchema, ...errorResponses(401, 404) },
 *     },
 *   },
 *   async (req) => …,
 * );
 * ```
 *
 * - The credential is a property of the MATCHED ROUTE (`config.auth`), never of the path's
 *   spelling: `/%61pi/v1/…` reaches the same route and needs the same credential (issue 11).
 * - A route without a valid `config.auth` makes `ready()` fail with the list of such routes,
 *   and is refused with 500 at request time should one slip through (default deny).
 * - A path no route matches is a bare `404 not_found` that echoes nothing back.
 * - Schemas: params, query, body and each reply (`errorResponses` for the error shape);
 *   a validation error becomes `400 invalid_request` naming the field in one sentence.
 *   Keep domain checks (does this chat exist?) in the handler. Params and query are coerced
 *   to their declared types (`?limit=10` → 10); a JSON body never is. Reply schemas filter
 *   what is sent: give objects `additionalProperties: true` (objectReply does) and no
 *   `required`, or a field the schema forgot silently disappears.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConnectorError, type Logger } from '../core/index.ts';
import { basicAuthorized } from './basic-auth.ts';
import { bearerOf, secretEquals } from './secret-compare.ts';
import { registerApiDocs } from './api-docs.ts';
import { installValidators, validationSentence } from './validation.ts';
import { ROUTE_AUTH_KINDS, type RouteAuth } from './route-auth.ts';
import { errorBody } from './error-body.ts';

export { ROUTE_AUTH_KINDS, type RouteAuth };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
}

export interface HttpAppOptions {
  /** Bearer token of the API; null refuses every `api` route (nothing is open by accident). */
  apiToken: string | null;
  /** The dashboard login (`admin` routes); null refuses every `admin` route. */
  admin?: { user: string; password: string } | null;
  logger?: Logger;
  /** Feature plugins (routes), registered in order. */
  plugins: FastifyPluginAsync[];
  /** Largest request body (default 25 MiB: outbound media may come as base64). */
  bodyLimit?: number;
}

export { errorBody };

export async function buildHttpApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 25 * 1024 * 1024, forceCloseConnections: true });
  const log = opts.logger;

  // Every route as registered (HEAD copies included). The options object is kept, not
  // copied: a plugin's own onRoute hook (the dashboard's) may set config.auth after ours ran.
  const registered: { method: string | string[]; url?: string; config?: { auth?: unknown } }[] = [];
  app.addHook('onRoute', (r) => {
    registered.push(r);
  });
  app.addHook('onReady', async () => {
    const undeclared = registered.filter((r) => !ROUTE_AUTH_KINDS.includes(r.config?.auth as RouteAuth));
    if (undeclared.length) {
      const list = undeclared.map((r) => `${([] as string[]).concat(r.method).join('|')} ${r.url}`).join(', ');
      throw new Error(`These routes declare no config.auth (api, operator, admin or public) and would be unreachable: ${list}.`);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    // No route matched: the not-found handler answers, whatever credential was sent.
    if (req.is404) return;
    return authenticate(req, reply);
  });

  const bearerRefused = (reply: FastifyReply, code: string, message: string): FastifyReply => {
    reply.header('WWW-Authenticate', 'Bearer');
    return reply.code(401).send(errorBody(code, message));
  };

  const authenticate = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const auth = req.routeOptions.config?.auth;
    switch (auth) {
      case 'public':
        return undefined;
      case 'api':
        if (secretEquals(bearerOf(req.headers.authorization), opts.apiToken)) return undefined;
        return bearerRefused(reply, 'unauthorized', 'This API needs "Authorization: Bearer <API_TOKEN>" with the connector\'s API token.');
      // The handler verifies the token; here only that one was sent.
      case 'operator':
        if (bearerOf(req.headers.authorization)) return undefined;
        return bearerRefused(
          reply,
          'invalid_operator_token',
          'This endpoint needs "Authorization: Bearer <operator token>" from a current operator login.',
        );
      case 'api_or_operator':
        if (bearerOf(req.headers.authorization)) return undefined;
        return bearerRefused(
          reply,
          'unauthorized',
          'This API needs "Authorization: Bearer <token>": the connector\'s API token or an operator token.',
        );
      case 'admin':
        if (opts.admin && basicAuthorized(req.headers.authorization, opts.admin)) return undefined;
        reply.header('WWW-Authenticate', 'Basic realm="chat-connector", charset="UTF-8"');
        return reply.code(401).send(errorBody('unauthorized', 'This page needs the dashboard login (ADMIN_USER and ADMIN_PASSWORD).'));
      default:
        // Default deny: a route that does not say who may call it is reachable by no one.
        log?.error({ route: req.routeOptions.url, method: req.method }, 'refused: the route declares no config.auth');
        return reply.code(500).send(errorBody('route_not_protected', 'This endpoint declares no credential, so it refuses every call.'));
    }
  };

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof ConnectorError) {
      if (err.retryAfterMs !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      return reply.code(err.httpStatus).send(err.toJSON());
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return reply.code(400).send(errorBody('invalid_request', validationSentence(fe.validation[0], fe.validationContext)));
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

  app.setNotFoundHandler((_req, reply) =>
    // Nothing of the request is echoed back (a reflected path is a gift to a phisher).
    reply.code(404).send(errorBody('not_found', 'No such endpoint.')),
  );

  installValidators(app);
  // Before the plugins: the document collects every route registered after it.
  await registerApiDocs(app);
  for (const p of opts.plugins) await app.register(p);
  return app;
}

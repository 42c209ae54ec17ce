/**
 * Operator endpoints (connector-api.md):
 * - `POST /api/v1/operators/login` — no token: the operator's credentials authenticate it
 *   (route auth `public`), throttled per workstation user, per client address and overall
 *   (LoginService + login-throttle.ts); the client address is the socket's (`req.ip`);
 * - `DELETE /api/v1/operators/:id/sessions` — API token: ends every login of the operator;
 * - `POST /api/v1/operators/heartbeat`, `POST /api/v1/operators/logout`,
 *   `GET /api/v1/operators/feed` (SSE) — the operator token as Bearer (route auth
 *   `operator`: these routes check it themselves).
 *
 * A login whose HTTP client hangs up before the answer aborts the 1C call; the short 1C
 * session is still finished (LoginService / OnecClient.authorize).
 */
import type { FastifyPluginAsync } from 'fastify';
import { bearerOf } from '../secret-compare.ts';
import type { LoginResult, LoginService, SeatInfo } from '../../operators/login-service.ts';
import type { OperatorLogin } from '../../operators/operator-store.ts';
import { isStreamId, streamIdBefore, type OperatorFeed } from '../../operators/operator-feed.ts';
import { ValidationError } from '../../core/index.ts';
import { operatorSchemas } from './operator-route-schemas.ts';

export interface OperatorRouteDeps {
  login: Pick<LoginService, 'login' | 'heartbeat' | 'logout' | 'authenticate' | 'revoke'>;
  feed: Pick<OperatorFeed, 'serve'>;
  /**
   * PANEL_USER_HEADER (lower case): for a `client: "panel"` login the workstation user is
   * this header's value, set by a trusted reverse proxy (SSO), whatever the body says.
   */
  panelUserHeader?: string | null;
}

export function operatorRoutes(deps: OperatorRouteDeps): FastifyPluginAsync {
  const withProxyUser = (body: unknown, headers: Record<string, string | string[] | undefined>): unknown => {
    if (!deps.panelUserHeader || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
    const b = body as Record<string, unknown>;
    const raw = headers[deps.panelUserHeader];
    const user = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    return b.client === 'panel' && user ? { ...b, workstationUser: user } : body;
  };
  return async (app) => {
    app.post(
      '/api/v1/operators/login',
      { config: { auth: 'public' }, schema: operatorSchemas.login },
      async (req, reply): Promise<LoginResult> => {
        const ctl = new AbortController();
        const res = reply.raw;
        // The response closing before it was written out = the client hung up mid-login.
        const onClose = () => {
          if (!res.writableFinished) ctl.abort(new Error('the client closed the connection during login'));
        };
        res.once('close', onClose);
        try {
          return await deps.login.login(withProxyUser(req.body, req.headers), ctl.signal, { address: req.ip });
        } finally {
          res.off('close', onClose);
        }
      },
    );

    app.delete<{ Params: { id: string } }>(
      '/api/v1/operators/:id/sessions',
      { config: { auth: 'api' }, schema: operatorSchemas.revoke },
      async (req): Promise<{ operatorId: string; revoked: number }> => ({
        operatorId: req.params.id,
        revoked: await deps.login.revoke(req.params.id),
      }),
    );

    app.post(
      '/api/v1/operators/heartbeat',
      { config: { auth: 'operator' }, schema: operatorSchemas.heartbeat },
      async (req): Promise<{ expiresAt: string; seat: SeatInfo }> => deps.login.heartbeat(bearerOf(req.headers.authorization)),
    );

    app.post('/api/v1/operators/logout', { config: { auth: 'operator' }, schema: operatorSchemas.logout }, async (req) => {
      await deps.login.logout(bearerOf(req.headers.authorization));
      return { ok: true };
    });

    app.get('/api/v1/operators/feed', { config: { auth: 'operator' }, schema: operatorSchemas.feed }, async (req, reply) => {
      const token = bearerOf(req.headers.authorization);
      const login: OperatorLogin = await deps.login.authenticate(token);
      const header = req.headers['last-event-id'];
      const lastId = Array.isArray(header) ? header[0] : header;
      if (lastId !== undefined && lastId !== '' && !isStreamId(lastId)) {
        throw new ValidationError('Header "Last-Event-ID" must be an event id this feed sent (e.g. 1700000000000-0).');
      }
      const after = lastId ? lastId : streamIdBefore(Date.parse(login.issuedAt));
      reply.hijack();
      await deps.feed.serve(reply.raw, {
        operatorId: login.operator.id,
        after,
        stillValid: async () =>
          await deps.login.authenticate(token).then(
            () => true,
            () => false,
          ),
      });
    });
  };
}

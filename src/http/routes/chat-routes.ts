/**
 * Chat routing endpoints (connector-api.md):
 * - `POST /api/v1/chats/:chatId/transfer` `{"operatorId" or "group", "comment"}`;
 * - `POST /api/v1/chats/:chatId/close`;
 * - `GET /api/v1/chats/:chatId` — status, owner, group, previous owner;
 * - `GET|PUT /api/v1/routing/rules` — the keyword rules (API token only).
 *
 * The chat endpoints take the API token (1C) or an operator token (the panel): route auth
 * `operator`, checked here. The rules take the API token only.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ValidationError } from '../../core/index.ts';
import { bearerOf, secretEquals } from '../secret-compare.ts';
import { chatSchemas } from './operator-route-schemas.ts';
import type { ChatRouteState, ChatRouting, RoutingEvent } from '../../routing/chat-routing.ts';
import { ChatNotFoundError } from '../../routing/chat-routing.ts';
import type { KeywordRule } from '../../routing/keyword-rules.ts';

export interface ChatRouteDeps {
  routing: Pick<ChatRouting, 'transfer' | 'close' | 'state' | 'rules' | 'setRules'>;
  /** The API token (null refuses it). */
  apiToken: string | null;
  /** Resolves an operator token (throws the 401 error when it is not a current login). */
  authenticateOperator(token: string | null): Promise<unknown>;
}

type ChatParams = { Params: { chatId: string } };

export function chatRoutes(deps: ChatRouteDeps): FastifyPluginAsync {
  const allow = async (req: FastifyRequest): Promise<void> => {
    const token = bearerOf(req.headers.authorization);
    if (secretEquals(token, deps.apiToken)) return;
    await deps.authenticateOperator(token);
  };

  return async (app) => {
    app.post<ChatParams>(
      '/api/v1/chats/:chatId/transfer',
      { config: { auth: 'operator' }, schema: chatSchemas.transfer },
      async (req): Promise<{ chat: ChatRouteState | null; event: RoutingEvent }> => {
        await allow(req);
        const b = (req.body ?? {}) as Record<string, unknown>;
        if (typeof b !== 'object' || Array.isArray(b)) throw new ValidationError('The request body must be a JSON object.');
        const operatorId = optString(b.operatorId, 'operatorId');
        const group = optString(b.group, 'group');
        if (!operatorId && !group) throw new ValidationError('Field "operatorId" or "group" is required.');
        const comment = b.comment === undefined || b.comment === null ? null : optString(b.comment, 'comment', 4000, true);
        const event = await deps.routing.transfer(req.params.chatId, { operatorId, group }, comment ?? null);
        return { chat: await deps.routing.state(req.params.chatId), event };
      },
    );

    app.post<ChatParams>(
      '/api/v1/chats/:chatId/close',
      { config: { auth: 'operator' }, schema: chatSchemas.close },
      async (req): Promise<{ chat: ChatRouteState | null; event: RoutingEvent | null }> => {
        await allow(req);
        const event = await deps.routing.close(req.params.chatId);
        return { chat: await deps.routing.state(req.params.chatId), event };
      },
    );

    app.get<ChatParams>(
      '/api/v1/chats/:chatId',
      { config: { auth: 'operator' }, schema: chatSchemas.state },
      async (req): Promise<ChatRouteState> => {
        await allow(req);
        const st = await deps.routing.state(req.params.chatId);
        if (!st) throw new ChatNotFoundError(req.params.chatId);
        return st;
      },
    );

    app.get(
      '/api/v1/routing/rules',
      { config: { auth: 'api' }, schema: chatSchemas.rules },
      async (): Promise<{ rules: KeywordRule[] }> => ({
        rules: await deps.routing.rules(),
      }),
    );

    app.put(
      '/api/v1/routing/rules',
      { config: { auth: 'api' }, schema: chatSchemas.setRules },
      async (req): Promise<{ rules: KeywordRule[] }> => ({
        rules: await deps.routing.setRules(req.body),
      }),
    );
  };
}

function optString(v: unknown, field: string, max = 200, allowEmpty = false): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || (!allowEmpty && !v.trim()) || v.length > max) {
    throw new ValidationError(`Field "${field}" must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${max} characters.`);
  }
  return allowEmpty ? v : v.trim();
}

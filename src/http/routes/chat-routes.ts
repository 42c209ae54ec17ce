/**
 * Chat routing endpoints (connector-api.md):
 * - `POST /api/v1/chats/:chatId/transfer` `{"operatorId" or "group", "comment"}`;
 * - `POST /api/v1/chats/:chatId/close`;
 * - `GET /api/v1/chats/:chatId` — status, owner, group, previous owner;
 * - `GET|PUT /api/v1/routing/rules` — the keyword rules (API token only).
 *
 * The chat endpoints take the API token (1C) or an operator token (the panel): route auth
 * `operator`; `ChatRouteDeps.actorOf` says who the bearer is (or throws the 401). Who may
 * change which chat (`403 not_chat_owner`) and which targets exist (`404`) is decided
 * behind `ChatRouteDeps` (src/operators/chat-actions.ts); this file only validates input.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../core/index.ts';
import { bearerOf } from '../secret-compare.ts';
import { chatSchemas } from './operator-route-schemas.ts';
import type { ChatRouteState, RoutingActor, RoutingEvent } from '../../routing/chat-routing.ts';
import type { KeywordRule } from '../../routing/keyword-rules.ts';

export interface ChatRouteDeps {
  /** Who presents this bearer: the API token, or a current operator login; else throws the 401. */
  actorOf(bearer: string | null): Promise<RoutingActor>;
  /** Transfers as `actor` (403 `not_chat_owner`, 404 for an unknown chat, operator or group). */
  transfer(
    chatId: string,
    to: { operatorId: string | null; group: string | null },
    comment: string | null,
    actor: RoutingActor,
  ): Promise<RoutingEvent>;
  /** Closes as `actor`; null when it was closed already. */
  close(chatId: string, actor: RoutingActor): Promise<RoutingEvent | null>;
  /** The chat's routing state, or null when routing does not know it. */
  state(chatId: string): Promise<ChatRouteState | null>;
  rules(): Promise<KeywordRule[]>;
  setRules(input: unknown): Promise<KeywordRule[]>;
  /** The 404 for a chat routing does not know. */
  chatNotFound(chatId: string): Error;
}

type ChatParams = { Params: { chatId: string } };

export function chatRoutes(deps: ChatRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.post<ChatParams>(
      '/api/v1/chats/:chatId/transfer',
      { config: { auth: 'operator' }, schema: chatSchemas.transfer },
      async (req): Promise<{ chat: ChatRouteState | null; event: RoutingEvent }> => {
        const actor = await deps.actorOf(bearerOf(req.headers.authorization));
        const b = (req.body ?? {}) as Record<string, unknown>;
        if (typeof b !== 'object' || Array.isArray(b)) throw new ValidationError('The request body must be a JSON object.');
        const operatorId = optString(b.operatorId, 'operatorId');
        const group = optString(b.group, 'group');
        if (!operatorId && !group) throw new ValidationError('Field "operatorId" or "group" is required.');
        const comment = b.comment === undefined || b.comment === null ? null : optString(b.comment, 'comment', 4000, true);
        const event = await deps.transfer(req.params.chatId, { operatorId, group }, comment ?? null, actor);
        return { chat: await deps.state(req.params.chatId), event };
      },
    );

    app.post<ChatParams>(
      '/api/v1/chats/:chatId/close',
      { config: { auth: 'operator' }, schema: chatSchemas.close },
      async (req): Promise<{ chat: ChatRouteState | null; event: RoutingEvent | null }> => {
        const actor = await deps.actorOf(bearerOf(req.headers.authorization));
        const event = await deps.close(req.params.chatId, actor);
        return { chat: await deps.state(req.params.chatId), event };
      },
    );

    app.get<ChatParams>(
      '/api/v1/chats/:chatId',
      { config: { auth: 'operator' }, schema: chatSchemas.state },
      async (req): Promise<ChatRouteState> => {
        await deps.actorOf(bearerOf(req.headers.authorization));
        const st = await deps.state(req.params.chatId);
        if (!st) throw deps.chatNotFound(req.params.chatId);
        return st;
      },
    );

    app.get(
      '/api/v1/routing/rules',
      { config: { auth: 'api' }, schema: chatSchemas.rules },
      async (): Promise<{ rules: KeywordRule[] }> => ({
        rules: await deps.rules(),
      }),
    );

    app.put(
      '/api/v1/routing/rules',
      { config: { auth: 'api' }, schema: chatSchemas.setRules },
      async (req): Promise<{ rules: KeywordRule[] }> => ({
        rules: await deps.setRules(req.body),
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

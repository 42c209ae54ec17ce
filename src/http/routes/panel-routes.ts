/**
 * The operator panel's HTTP surface (issue 17):
 * - `GET /panel` and `/panel/<file>` — the page and its static assets (route auth `public`:
 *   the page itself holds no data), with an ETag, `Cache-Control: no-cache` (revalidate:
 *   a new connector version is picked up at once, an unchanged file costs a 304) and a
 *   strict Content-Security-Policy (no inline script, nothing from other origins);
 * - `GET /panel/session.json` — what the page needs before login: the workstation user a
 *   trusted reverse proxy names in `PANEL_USER_HEADER`, if configured;
 * - `GET /api/v1/chats/:chatId/messages?before=&limit=` — the chat's recent history;
 * - `GET /api/v1/chats/:chatId/media/:mediaId` — a media item of that chat;
 * - `GET /api/v1/panel/chats` — the operator's chats and the queued chats of their groups
 *   among the most recently active ones, with each one's last message (the list after a
 *   login; the feed carries what happens from then on).
 * The last two take the API token or an operator token under the transfer rule (route auth
 * `operator`, checked by `OperatorAccess`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ValidationError, type MediaStore } from '../../core/index.ts';
import type { DeliveryStatus, InboundMessage, OperatorAccess, OutboundMessage } from '../../core/index.ts';
import { errorBody } from '../error-body.ts';
import { bearerOf } from '../secret-compare.ts';

/** One entry of a chat's panel history (stored by src/panel/panel-history.ts). */
export type HistoryItem =
  | { id: string; dir: 'in'; at: string; message: InboundMessage }
  | { id: string; dir: 'out'; at: string; message: OutboundMessage; status?: HistoryStatus }
  | { id: string; dir: 'routing'; at: string; event: Record<string, unknown> };

export interface HistoryStatus {
  status: DeliveryStatus;
  at: string;
  error?: string;
}

export interface PanelRouteDeps {
  /** Directory of the page's files (flat: html, css, js, svg). */
  staticDir: string;
  /** Lower-case header name set by a trusted proxy, or null. */
  userHeader: string | null;
  access: () => OperatorAccess | null;
  history: {
    page(chatId: string, before: string | null, limit: number): Promise<{ items: HistoryItem[]; before: string | null }>;
    hasMedia(chatId: string, mediaId: string): Promise<boolean>;
    recentChats(limit: number): Promise<string[]>;
    lastMessage(chatId: string): Promise<HistoryItem | null>;
  };
  media: Pick<MediaStore, 'open'>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export const PANEL_CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

function loadStatic(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return files;
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', PANEL_CSP);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('X-Frame-Options', 'DENY');
}

export function panelRoutes(deps: PanelRouteDeps): FastifyPluginAsync {
  const files = loadStatic(deps.staticDir);
  const access = (): OperatorAccess => {
    const a = deps.access();
    if (!a) throw new ValidationError('The operators feature is not running here.', 'operators_disabled', 404);
    return a;
  };
  return async (app) => {
    const serve = (name: string, ifNoneMatch: string | undefined, reply: FastifyReply) => {
      const f = files.get(name);
      securityHeaders(reply);
      if (!f) return reply.code(404).send(errorBody('not_found', `No panel file "${name}".`));
      reply.header('ETag', f.etag);
      reply.header('Cache-Control', 'no-cache');
      if (ifNoneMatch === f.etag) return reply.code(304).send();
      reply.type(f.type);
      return reply.send(f.body);
    };
    app.get('/panel', { config: { auth: 'public' } }, async (req, reply) => serve('index.html', req.headers['if-none-match'], reply));
    app.get('/panel/', { config: { auth: 'public' } }, async (req, reply) => serve('index.html', req.headers['if-none-match'], reply));
    app.get('/panel/session.json', { config: { auth: 'public' } }, async (req, reply) => {
      securityHeaders(reply);
      reply.header('Cache-Control', 'no-store');
      const raw = deps.userHeader ? req.headers[deps.userHeader] : undefined;
      const user = (Array.isArray(raw) ? raw[0] : raw)?.trim() || null;
      return { workstationUser: user, fromProxy: deps.userHeader !== null };
    });
    app.get<{ Params: { file: string } }>('/panel/:file', { config: { auth: 'public' } }, async (req, reply) =>
      serve(req.params.file, req.headers['if-none-match'], reply),
    );

    app.get<{ Params: { chatId: string }; Querystring: { before?: string; limit?: string } }>(
      '/api/v1/chats/:chatId/messages',
      { config: { auth: 'operator' } },
      async (req) => {
        const a = access();
        const actor = await a.actorOf(bearerOf(req.headers.authorization));
        const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200)
          throw new ValidationError('Query "limit" must be a whole number from 1 to 200.');
        const before = req.query.before ? String(req.query.before) : null;
        if (before !== null && before.length > 400) throw new ValidationError('Query "before" must be an item id from an earlier page.');
        await a.checkRead(req.params.chatId, actor);
        const page = await deps.history.page(req.params.chatId, before, limit);
        return { chatId: req.params.chatId, items: page.items, before: page.before };
      },
    );

    app.get('/api/v1/panel/chats', { config: { auth: 'operator' } }, async (req) => {
      const a = access();
      const actor = await a.actorOf(bearerOf(req.headers.authorization));
      if (actor.kind !== 'operator') throw new ValidationError("This list is an operator's: call it with an operator token.");
      const chats = [];
      // Bounded work per call: the 500 most recently active chats are looked at.
      for (const chatId of await deps.history.recentChats(500)) {
        const st = await a.chatState(chatId);
        if (!st) continue;
        const mine = st.status === 'assigned' && st.owner === actor.id;
        const queued =
          st.status === 'queued' &&
          (st.queuedFor === actor.id || (st.queuedFor === null && st.group !== null && actor.groups.includes(st.group)));
        if (!mine && !queued) continue;
        const last = await deps.history.lastMessage(chatId);
        chats.push({ chatId, status: st.status, owner: st.owner, group: st.group, last });
        if (chats.length >= 200) break;
      }
      return { chats };
    });

    app.get<{ Params: { chatId: string; mediaId: string } }>(
      '/api/v1/chats/:chatId/media/:mediaId',
      { config: { auth: 'operator' } },
      async (req, reply) => {
        const a = access();
        const actor = await a.actorOf(bearerOf(req.headers.authorization));
        await a.checkRead(req.params.chatId, actor);
        const { chatId, mediaId } = req.params;
        const ok = /^[A-Za-z0-9_-]{1,128}$/.test(mediaId) && (await deps.history.hasMedia(chatId, mediaId));
        const found = ok ? await deps.media.open(mediaId) : null;
        if (!found) return reply.code(404).send(errorBody('unknown_media', `No media "${mediaId}" in chat ${chatId}.`));
        const name = (found.ref.fileName ?? found.ref.id).replace(/["\\\r\n]/g, '_');
        reply.header('Content-Type', found.ref.mime || 'application/octet-stream');
        reply.header('Content-Length', String(found.ref.size));
        reply.header('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(name)}`);
        reply.header('Cache-Control', 'private, max-age=3600');
        return reply.send(createReadStream(found.path));
      },
    );
  };
}

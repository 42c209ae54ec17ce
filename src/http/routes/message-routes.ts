/**
 * `POST /api/v1/messages` and `GET /api/v1/messages/:id` (connector-api.md). Validation
 * here names the field of every problem; storing, idempotency and sending live behind
 * `MessageRoutesDeps` (src/outbound). Auth is the app's (`api` bearer token).
 *
 * Idempotency by `id`: the first request answers `202 {"id","status":"queued"}`; the same
 * id with the same body answers `200` with the message's current status (never a second
 * send, also when the two race); the same id with a different body answers
 * `409 id_conflict` — an id names one message, and silently ignoring a changed body would
 * hide a bug in the caller.
 */
import type { FastifyPluginAsync, FastifySchema } from 'fastify';
import { ConnectorError, parseChatKey, ValidationError, type OutboundMedia, type OutboundMessage } from '../../core/index.ts';
import { errorBody } from '../error-body.ts';
import { isMimeType, textProblem } from '../mime-type.ts';
import { errorResponses, objectReply, security, stringParams } from '../route-schema.ts';
import { bearerOf, secretEquals } from '../secret-compare.ts';
import type { OperatorAccess } from '../../core/index.ts';

/** The status view of an outbound message (GET, and the `200` of a repeated POST). */
export interface MessageStatusView {
  id: string;
  chatId: string;
  status: 'queued' | 'sent' | 'delivered' | 'read' | 'failed';
  error?: string;
  errorCode?: string;
  nativeIds?: string[];
  createdAt: string;
  sentAt?: string;
  deliveredAt?: string;
  readAt?: string;
  failedAt?: string;
  updatedAt: string;
}

export type SubmitAnswer = { created: true } | { created: false; conflict: boolean; view: MessageStatusView };

export interface MessageRoutesDeps {
  /** Null when the chat can take messages; else the 404 (`unknown_account` / `unknown_chat`). */
  checkChat(chatId: string): Promise<ConnectorError | null>;
  /** Is this media id stored (for `media[].mediaId`)? */
  mediaExists(mediaId: string): Promise<boolean>;
  submit(message: OutboundMessage): Promise<SubmitAnswer>;
  status(id: string): Promise<MessageStatusView | null>;
  /**
   * Stores the bytes of a `media[].base64` item and returns its media id, so the queue
   * carries a reference, not megabytes. The same bytes for the same chat must give the same
   * id (a retried POST is then the same message).
   */
  spool?(chatId: string, bytes: Buffer, mime: string | null, fileName: string | null): Promise<string>;
  /**
   * The API token. With `access`, the POST route checks its bearer itself (route auth
   * `operator`): the API token as before, or an operator token (the panel) — then
   * `operatorId` is the token's operator, never the body's, and the chat must be theirs or
   * queued for them (a reply takes it). Without `access` only the API token is accepted.
   */
  apiToken?: string | null;
  /** The operators' rights (ConnectorContext.operatorAccess), looked up per request. */
  access?: () => OperatorAccess | null;
  /** Longest `text` in characters (default 32 768; the channel splits above its own limit). */
  maxTextLength?: number;
  /** Largest decoded `media[].base64` in bytes (default 16 MiB). */
  maxMediaBytes?: number;
  /** Most media items per message (default 10). */
  maxMediaItems?: number;
}

const MEDIA_KINDS = new Set(['photo', 'document', 'voice', 'audio', 'video']);
// eslint-disable-next-line no-control-regex -- control characters are exactly what it matches
const CONTROL = /[\u0000-\u001f\u007f]/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function invalid(field: string, problem: string): ValidationError {
  return new ValidationError(`Field "${field}" ${problem}.`);
}

type Obj = Record<string, unknown>;

function optString(o: Obj, key: string, path: string, max: number): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(path, 'must be a string');
  if (v.length > max) throw invalid(path, `must be at most ${max} characters long`);
  const problem = textProblem(v);
  if (problem) throw invalid(path, problem);
  return v;
}

/** The decoded size of a base64 text without decoding it. */
function base64Bytes(s: string): number {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return Math.floor((s.length * 3) / 4) - pad;
}

export function parseOutboundBody(
  body: unknown,
  limits: { maxTextLength: number; maxMediaBytes: number; maxMediaItems: number },
): OutboundMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('body', 'must be a JSON object');
  const b = body as Obj;
  if (b.id === undefined || b.id === null) throw invalid('id', 'is required');
  if (typeof b.id !== 'string') throw invalid('id', 'must be a string');
  if (b.id.length < 1 || b.id.length > 200) throw invalid('id', 'must be 1 to 200 characters long');
  if (CONTROL.test(b.id)) throw invalid('id', 'must not contain control characters');
  if (textProblem(b.id)) throw invalid('id', textProblem(b.id) ?? '');
  if (b.chatId === undefined || b.chatId === null) throw invalid('chatId', 'is required');
  if (typeof b.chatId !== 'string') throw invalid('chatId', 'must be a string');
  if (b.chatId.length > 300 || !parseChatKey(b.chatId))
    throw invalid('chatId', 'must be a chat key such as "tg:<bot>:<chat id>" or "wa:<account>:<jid>"');
  const text = optString(b, 'text', 'text', limits.maxTextLength);
  const replyTo = optString(b, 'replyTo', 'replyTo', 400);
  const operatorId = optString(b, 'operatorId', 'operatorId', 200);
  let media: OutboundMedia[] = [];
  if (b.media !== undefined && b.media !== null) {
    if (!Array.isArray(b.media)) throw invalid('media', 'must be a list');
    if (b.media.length > limits.maxMediaItems) throw invalid('media', `must have at most ${limits.maxMediaItems} items`);
    media = b.media.map((raw, i) => parseMedia(raw, `media[${i}]`, limits.maxMediaBytes));
  }
  if ((text === null || text.trim() === '') && media.length === 0) throw invalid('text', 'is required when there is no media');
  return { id: b.id, chatId: b.chatId, text, media, replyTo, operatorId, createdAt: new Date().toISOString() };
}

function parseMedia(raw: unknown, path: string, maxBytes: number): OutboundMedia {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(path, 'must be an object');
  const m = raw as Obj;
  const sources = ['url', 'base64', 'mediaId'].filter((k) => m[k] !== undefined && m[k] !== null);
  if (sources.length !== 1) throw invalid(path, 'needs exactly one of "url", "base64" or "mediaId"');
  const out: OutboundMedia = {};
  if (m.url !== undefined && m.url !== null) {
    const url = optString(m, 'url', `${path}.url`, 2048) ?? '';
    let ok: boolean;
    try {
      ok = /^https?:$/.test(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw invalid(`${path}.url`, 'must be an http or https URL');
    out.url = url;
  }
  if (m.base64 !== undefined && m.base64 !== null) {
    if (typeof m.base64 !== 'string') throw invalid(`${path}.base64`, 'must be a string');
    const b64 = m.base64.replace(/\s+/g, '');
    if (b64 === '' || !BASE64.test(b64)) throw invalid(`${path}.base64`, 'must be base64-encoded bytes');
    if (base64Bytes(b64) <= 0) throw invalid(`${path}.base64`, 'must not be an empty file');
    if (base64Bytes(b64) > maxBytes) {
      throw new ValidationError(
        `Field "${path}.base64" is larger than ${Math.floor(maxBytes / 1024 / 1024)} MiB once decoded; send a url instead.`,
        'media_too_large',
        413,
      );
    }
    out.base64 = b64;
  }
  if (m.mediaId !== undefined && m.mediaId !== null) {
    if (typeof m.mediaId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(m.mediaId))
      throw invalid(`${path}.mediaId`, 'must be the id of a received media item');
    out.mediaId = m.mediaId;
  }
  const mime = optString(m, 'mime', `${path}.mime`, 255);
  if (mime !== null) {
    if (!isMimeType(mime)) throw invalid(`${path}.mime`, 'must be a MIME type such as "image/jpeg" (type/subtype, optional ;parameters)');
    out.mime = mime;
  }
  const fileName = optString(m, 'fileName', `${path}.fileName`, 255);
  if (fileName !== null) {
    if (CONTROL.test(fileName) || /[/\\]/.test(fileName)) throw invalid(`${path}.fileName`, 'must be a plain file name');
    out.fileName = fileName;
  }
  if (m.kind !== undefined && m.kind !== null) {
    if (typeof m.kind !== 'string' || !MEDIA_KINDS.has(m.kind))
      throw invalid(`${path}.kind`, 'must be one of photo, document, voice, audio, video');
    out.kind = m.kind as OutboundMedia['kind'];
  }
  return out;
}

const nullableString = (maxLength: number, description?: string) => ({ type: 'string', nullable: true, maxLength, description });

/** The body's shape (types, lengths, the kinds); parseOutboundBody keeps the checks of meaning. */
function bodySchema(limits: { maxTextLength: number; maxMediaItems: number }): Record<string, unknown> {
  return {
    type: 'object',
    required: ['id', 'chatId'],
    properties: {
      id: { type: 'string', maxLength: 200, description: 'Chosen by the caller; the idempotency key.' },
      chatId: { type: 'string', maxLength: 300, description: 'tg:<bot>:<chat id> or wa:<account>:<jid>' },
      text: nullableString(limits.maxTextLength, 'Required when there is no media.'),
      replyTo: nullableString(400),
      operatorId: nullableString(200),
      media: {
        type: 'array',
        nullable: true,
        maxItems: limits.maxMediaItems,
        items: {
          type: 'object',
          description: 'Exactly one of url, base64 or mediaId.',
          properties: {
            url: nullableString(2048, 'http or https'),
            base64: { type: 'string', nullable: true },
            mediaId: nullableString(128, 'The id of a received media item.'),
            mime: nullableString(255, 'type/subtype(;params)'),
            fileName: nullableString(255),
            kind: { type: 'string', nullable: true, enum: ['photo', 'document', 'voice', 'audio', 'video', null] },
          },
        },
      },
    },
  };
}

const statusView = objectReply('The message and its status.', {
  id: { type: 'string' },
  chatId: { type: 'string' },
  status: { type: 'string', enum: ['queued', 'sent', 'delivered', 'read', 'failed'] },
  error: { type: 'string' },
  errorCode: { type: 'string' },
  nativeIds: { type: 'array', items: { type: 'string' } },
  createdAt: { type: 'string' },
  sentAt: { type: 'string' },
  deliveredAt: { type: 'string' },
  readAt: { type: 'string' },
  failedAt: { type: 'string' },
  updatedAt: { type: 'string' },
});

export function messageRoutes(deps: MessageRoutesDeps): FastifyPluginAsync {
  const limits = {
    maxTextLength: deps.maxTextLength ?? 32_768,
    maxMediaBytes: deps.maxMediaBytes ?? 16 * 1024 * 1024,
    maxMediaItems: deps.maxMediaItems ?? 10,
  };
  const postSchema: FastifySchema = {
    summary: 'Send an outbound message (idempotent by id)',
    tags: ['messages'],
    security: security('api_or_operator'),
    body: bodySchema(limits),
    response: {
      202: objectReply('Queued.', { id: { type: 'string' }, status: { type: 'string' } }),
      200: statusView,
      ...errorResponses(400, 401, 403, 404, 409, 413, 415),
    },
  };
  const getSchema: FastifySchema = {
    summary: 'An outbound message and its status',
    tags: ['messages'],
    security: security('api'),
    params: stringParams('id'),
    response: { 200: statusView, ...errorResponses(401, 404) },
  };
  return async (app) => {
    app.post('/api/v1/messages', { config: { auth: 'api_or_operator' }, schema: postSchema }, async (req, reply) => {
      const bearer = bearerOf(req.headers.authorization);
      const access = secretEquals(bearer, deps.apiToken ?? null) ? null : deps.access?.();
      if (!access && !secretEquals(bearer, deps.apiToken ?? null)) {
        reply.header('WWW-Authenticate', 'Bearer');
        return reply.code(401).send(errorBody('unauthorized', 'This API needs "Authorization: Bearer <API_TOKEN>" or an operator token.'));
      }
      const actor = access ? await access.actorOf(bearer) : null;
      const message = parseOutboundBody(req.body, limits);
      if (actor?.kind === 'operator') message.operatorId = actor.id;
      // A known id answers from its record first: a retried POST never fails on chat checks.
      const existing = await deps.status(message.id);
      if (!existing) {
        const problem = await deps.checkChat(message.chatId);
        if (problem) throw problem;
        if (access && actor) await access.takeForReply(message.chatId, actor);
        for (const [i, m] of message.media.entries()) {
          if (m.mediaId && !(await deps.mediaExists(m.mediaId))) {
            return reply
              .code(404)
              .send(errorBody('unknown_media', `Field "media[${i}].mediaId" names no stored media item ("${m.mediaId}").`));
          }
        }
      }
      if (deps.spool) {
        for (const [i, m] of message.media.entries()) {
          if (m.base64 === undefined) continue;
          const mediaId = await deps.spool(message.chatId, Buffer.from(m.base64, 'base64'), m.mime ?? null, m.fileName ?? null);
          const { base64: _bytes, ...rest } = m;
          message.media[i] = { ...rest, mediaId };
        }
      }
      const res = await deps.submit(message);
      if (res.created) return reply.code(202).send({ id: message.id, status: 'queued' });
      if (res.conflict) {
        return reply
          .code(409)
          .send(errorBody('id_conflict', `A different message with id "${message.id}" was accepted before; an id names one message.`));
      }
      return reply.code(200).send(res.view);
    });

    app.get<{ Params: { id: string } }>('/api/v1/messages/:id', { config: { auth: 'api' }, schema: getSchema }, async (req, reply) => {
      const view = await deps.status(req.params.id);
      if (!view) return reply.code(404).send(errorBody('unknown_message', `No outbound message with id "${req.params.id}".`));
      return view;
    });
  };
}

/**
 * Pull mode (onec-pull.md): `GET /api/v1/onec/updates` (a long poll) and
 * `POST /api/v1/onec/ack`. API token, like every `/api/v1/*`. The update log and the
 * dead-letter handling live behind `OnecPullRoutesDeps` (src/onec/pull).
 *
 * A long poll holds a Redis connection: when the client goes away (1C's job was stopped,
 * a proxy timed out) the wait ends at once and the connection is released.
 */
import type { FastifyPluginAsync } from 'fastify';

/** One page of updates; each update is already its JSON text (spliced, not re-serialized). */
export interface PulledPage {
  updates: string[];
  next: string;
}

export interface OnecPullRoutesDeps {
  /** Throws `400 invalid_cursor` for a malformed or unknown `after`. */
  fetch(q: { after: string | null; limit: number; waitMs: number; signal?: AbortSignal }): Promise<PulledPage>;
  /** Commits up to `cursor`; `rejected` message ids go to `inbound-dead`. Returns how many updates that acknowledged. */
  ack(cursor: string, rejected: { id: string; error?: string | null }[]): Promise<number>;
}

const errorReply = {
  type: 'object',
  properties: {
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] },
  },
  required: ['error'],
} as const;

const cursor = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const updatesSchema = {
  summary: 'Pull mode: updates after a cursor (long poll)',
  querystring: {
    type: 'object',
    properties: {
      after: cursor,
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
      wait: { type: 'integer', minimum: 0, maximum: 50, default: 25 },
    },
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: {
        updates: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              cursor: { type: 'string' },
              type: { type: 'string', enum: ['message', 'status', 'routing'] },
              message: { type: 'object', additionalProperties: true },
              status: { type: 'object', additionalProperties: true },
              routing: { type: 'object', additionalProperties: true },
            },
            required: ['cursor', 'type'],
          },
        },
        next: { type: 'string' },
      },
      required: ['updates', 'next'],
    },
    400: errorReply,
    401: errorReply,
  },
} as const;

export const ackSchema = {
  summary: 'Pull mode: acknowledge every update up to a cursor',
  body: {
    type: 'object',
    properties: {
      cursor,
      rejected: {
        type: 'array',
        maxItems: 10_000,
        items: {
          type: 'object',
          properties: { id: { type: 'string', minLength: 1, maxLength: 1024 }, error: { type: ['string', 'null'], maxLength: 4096 } },
          required: ['id'],
        },
      },
    },
    required: ['cursor'],
  },
  response: {
    200: { type: 'object', properties: { acknowledged: { type: 'integer', minimum: 0 } }, required: ['acknowledged'] },
    400: errorReply,
    401: errorReply,
  },
} as const;

interface UpdatesQuery {
  after?: string;
  limit: number;
  wait: number;
}

interface AckBody {
  cursor: string;
  rejected?: { id: string; error?: string | null }[];
}

export function onecPullRoutes(deps: OnecPullRoutesDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: UpdatesQuery }>(
      '/api/v1/onec/updates',
      { config: { auth: 'api' }, schema: updatesSchema },
      async (req, reply) => {
        const gone = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) gone.abort();
        };
        reply.raw.on('close', onClose);
        try {
          const page = await deps.fetch({
            after: req.query.after ?? null,
            limit: req.query.limit,
            waitMs: req.query.wait * 1000,
            signal: gone.signal,
          });
          // Already JSON text: fastify sends a string as is (no second serialization of 500 updates).
          return reply
            .type('application/json; charset=utf-8')
            .send(`{"updates":[${page.updates.join(',')}],"next":${JSON.stringify(page.next)}}`);
        } finally {
          reply.raw.off('close', onClose);
        }
      },
    );

    app.post<{ Body: AckBody }>('/api/v1/onec/ack', { config: { auth: 'api' }, schema: ackSchema }, async (req) => {
      const acknowledged = await deps.ack(req.body.cursor, req.body.rejected ?? []);
      return { acknowledged };
    });
  };
}

/**
 * Pieces every route schema shares (see the convention at the top of src/http/app.ts): the
 * error reply, the credential as OpenAPI names it, and small builders. Response schemas
 * keep `additionalProperties: true` and no `required`: fastify serializes replies through
 * them, and a schema that is stricter than the handler must never drop or break a field.
 */
import type { RouteAuth } from './route-auth.ts';

/** `{"error":{"code","message"}}`, the one error shape of the API. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'snake_case error code' },
        message: { type: 'string', description: 'one human sentence' },
      },
    },
  },
} as const;

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: the message names the field.',
  401: 'Missing or wrong credential.',
  403: 'Not allowed.',
  404: 'Not found.',
  409: 'Conflict.',
  413: 'Too large.',
  415: 'Not JSON.',
  500: 'Internal error.',
  502: 'A remote system failed.',
  503: 'Not available now (Retry-After may say when to retry).',
};

/** Error replies of a route, by status. */
export function errorResponses(...codes: number[]): Record<number, { description: string } & typeof errorSchema> {
  const out: Record<number, { description: string } & typeof errorSchema> = {};
  for (const c of codes) out[c] = { description: ERROR_TEXT[c] ?? 'Error.', ...errorSchema };
  return out;
}

/** The OpenAPI security requirement of a credential kind (public: none). */
export function security(auth: RouteAuth): Record<string, string[]>[] {
  switch (auth) {
    case 'api':
      return [{ apiToken: [] }];
    case 'operator':
      return [{ operatorToken: [] }];
    case 'api_or_operator':
      return [{ apiToken: [] }, { operatorToken: [] }];
    case 'admin':
      return [{ dashboardLogin: [] }];
    case 'public':
      return [];
  }
}

/** The security schemes the document declares (names only: no secret is ever in it). */
export const SECURITY_SCHEMES = {
  apiToken: { type: 'http', scheme: 'bearer', description: 'API_TOKEN of the connector (1C, scripts).' },
  operatorToken: { type: 'http', scheme: 'bearer', description: 'The token of a current operator login (POST /api/v1/operators/login).' },
  dashboardLogin: { type: 'http', scheme: 'basic', description: 'ADMIN_USER / ADMIN_PASSWORD (the queue dashboard).' },
} as const;

/** A free-form JSON object reply, documented by its description. */
export function objectReply(description: string, properties: Record<string, unknown> = {}): Record<string, unknown> {
  return { description, type: 'object', properties, additionalProperties: true };
}

/** A reply that is not JSON (a file, an image, Prometheus text). */
export function binaryReply(description: string, mime: string): Record<string, unknown> {
  const schema = mime.startsWith('text/') ? { type: 'string' } : { type: 'string', format: 'binary' };
  return { description, content: { [mime]: { schema } } };
}

/** Path parameters, each a bounded string. */
export function stringParams(...names: string[]): Record<string, unknown> {
  return {
    type: 'object',
    required: names,
    properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1, maxLength: 400 }])),
  };
}

/**
 * Schema validation for every route (the schemas live on the routes; see app.ts).
 *
 * Two validators: params and query strings are text on the wire, so they are coerced to
 * the declared types (`?limit=10` → 10); a JSON body is never coerced — `{"text": 5}` is a
 * 400, not the string "5", as it was before schemas.
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance } from 'fastify';

const base = { useDefaults: true, removeAdditional: true, allErrors: false, strict: false } as const;
const coercing = new Ajv({ ...base, coerceTypes: 'array' });
const exact = new Ajv({ ...base, coerceTypes: false });

export function installValidators(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? exact : coercing).compile(schema));
}

/** `/media/0/url` → `media[0].url`, the way the API names fields. */
function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1);
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  const extra = (e.params as { additionalProperty?: string }).additionalProperty;
  if (missing) parts.push(missing);
  if (extra) parts.push(extra);
  return parts.reduce((s, p) => (/^\d+$/.test(p) ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

function typeWords(t: unknown): string {
  const list = ([] as unknown[]).concat(t).map(String);
  const word = (x: string) => (x === 'object' ? 'an object' : x === 'array' ? 'a list' : x === 'integer' ? 'an integer' : `a ${x}`);
  return list.map(word).join(' or ');
}

/** One human sentence naming the field, for `400 invalid_request`. */
export function validationSentence(e: ErrorObject | undefined, part?: string): string {
  if (!e) return 'The request is invalid.';
  const field = fieldOf(e) || (part === 'body' ? 'body' : (part ?? 'request'));
  const p = e.params as Record<string, unknown>;
  const what = part === 'querystring' ? 'Query parameter' : part === 'params' ? 'Path parameter' : 'Field';
  switch (e.keyword) {
    case 'required':
      return `${what} "${field}" is required.`;
    case 'type':
      return `${what} "${field}" must be ${typeWords(p.type)}.`;
    case 'maxLength':
      return `${what} "${field}" must be at most ${String(p.limit)} characters long.`;
    case 'minLength':
      return Number(p.limit) === 1
        ? `${what} "${field}" must not be empty.`
        : `${what} "${field}" must be at least ${String(p.limit)} characters long.`;
    case 'maxItems':
      return `${what} "${field}" must have at most ${String(p.limit)} items.`;
    case 'minItems':
      return `${what} "${field}" must have at least ${String(p.limit)} items.`;
    case 'enum':
      return `${what} "${field}" must be one of ${((p.allowedValues as unknown[]) ?? [])
        .filter((v) => v !== null)
        .map(String)
        .join(', ')}.`;
    case 'additionalProperties':
      return `${what} "${field}" is not allowed here.`;
    case 'maximum':
    case 'minimum':
      return `${what} "${field}" must be ${e.keyword === 'maximum' ? 'at most' : 'at least'} ${String(p.limit)}.`;
    default:
      return `${what} "${field}" ${e.message ?? 'is invalid'}.`;
  }
}

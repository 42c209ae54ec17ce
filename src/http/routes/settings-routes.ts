/**
 * Account and group settings (connector-api.md "Account and group settings"), API token:
 * - `GET /api/v1/accounts/:account/settings` — the stored object (`{}` when none);
 *   `?effective=true` — what the connector acts on (inherited from `_default` and the
 *   built-ins, auto-reply texts resolved);
 * - `PUT /api/v1/accounts/:account/settings` — replaces the whole object (400 naming the field);
 * - the same two for `/api/v1/groups/:group/settings`.
 * `_default` is a name like any other: the defaults every account (group) inherits.
 */
import type { FastifyPluginAsync } from 'fastify';

export interface SettingsRoutesDeps {
  get(kind: 'account' | 'group', name: string): Promise<object | null>;
  effective(kind: 'account' | 'group', name: string): Promise<object>;
  /** Validates (ValidationError → 400 naming the field) and stores; returns what was stored. */
  put(kind: 'account' | 'group', name: string, body: unknown): Promise<object>;
}

const nameParam = (key: string) => ({
  type: 'object',
  required: [key],
  properties: { [key]: { type: 'string', pattern: '^[A-Za-z0-9_.@+-]{1,128}$' } },
});
const effectiveQuery = {
  type: 'object',
  properties: { effective: { type: 'boolean' } },
  additionalProperties: false,
};

export function settingsRoutes(deps: SettingsRoutesDeps): FastifyPluginAsync {
  return async (app) => {
    for (const [kind, plural, key] of [
      ['account', 'accounts', 'account'],
      ['group', 'groups', 'group'],
    ] as const) {
      const path = `/api/v1/${plural}/:${key}/settings`;
      app.get<{ Params: Record<string, string>; Querystring: { effective?: boolean } }>(
        path,
        { config: { auth: 'api' }, schema: { params: nameParam(key), querystring: effectiveQuery } },
        async (req) => (req.query.effective ? deps.effective(kind, req.params[key]) : ((await deps.get(kind, req.params[key])) ?? {})),
      );
      // The body's shape is checked by the settings validator, whose 400 names the exact
      // field (`workingHours.mon[1][0]`); the schema only says it is an object.
      app.put<{ Params: Record<string, string> }>(
        path,
        { config: { auth: 'api' }, schema: { params: nameParam(key), body: { type: 'object' } } },
        async (req) => deps.put(kind, req.params[key], req.body),
      );
    }
  };
}

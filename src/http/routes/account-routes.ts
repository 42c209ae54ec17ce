import type { FastifyPluginAsync } from 'fastify';
import type { AccountState } from '../../core/index.ts';

export interface AccountRoutesDeps {
  accounts(): AccountState[] | Promise<AccountState[]>;
  /** Which connector instance runs each account (by lease key). */
  holders(): Promise<Record<string, string | null>>;
}

/** `GET /api/v1/accounts`: every account and its connection state. */
export function accountRoutes(deps: AccountRoutesDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/accounts', async () => ({ accounts: await deps.accounts(), instances: await deps.holders() }));
  };
}

import type { FastifyPluginAsync } from 'fastify';
import type { AccountState } from '../../core/index.ts';
import { errorResponses, objectReply, security } from '../route-schema.ts';

export interface AccountRoutesDeps {
  accounts(): AccountState[] | Promise<AccountState[]>;
  /** Which connector instance runs each account (by lease key). */
  holders(): Promise<Record<string, string | null>>;
}

/** `GET /api/v1/accounts`: every account and its connection state. */
export function accountRoutes(deps: AccountRoutesDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/api/v1/accounts',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'Every account and its connection state',
          tags: ['accounts'],
          security: security('api'),
          response: {
            200: objectReply('Accounts and which instance runs each.', {
              accounts: { type: 'array', items: objectReply('An account.') },
              instances: objectReply('Lease holder by account.'),
            }),
            ...errorResponses(401),
          },
        },
      },
      async () => ({ accounts: await deps.accounts(), instances: await deps.holders() }),
    );
  };
}

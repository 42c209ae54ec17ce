/**
 * Logging a Telegram user account (TDLib) in over HTTP, so 1C can drive it:
 * `POST /api/v1/telegram/:account/login` with `{"phone"}`, then `{"code"}`, then (2FA)
 * `{"password"}`; each answers the step TDLib moved to. `GET` says the current step.
 * Served by the instance that runs the account (others answer 409 with a sentence).
 * The password is never logged or echoed.
 */
import type { FastifyPluginAsync } from 'fastify';
import { errorResponses, objectReply, security, stringParams } from '../route-schema.ts';

export type TelegramLoginStep = 'starting' | 'wait_phone' | 'wait_code' | 'wait_password' | 'ready' | 'logging_out' | 'closed';

export interface TelegramLoginView {
  account: string;
  step: TelegramLoginStep;
  codeSentTo: string | null;
  passwordHint: string | null;
}

export interface TelegramUserRoutesDeps {
  /** The current step; throws a ConnectorError (404 unknown account, 409 run elsewhere). */
  loginView(account: string): TelegramLoginView;
  /** One step; throws a ConnectorError with one sentence (out of turn, wrong code, flood wait…). */
  login(account: string, input: { phone: string } | { code: string } | { password: string }): Promise<TelegramLoginView>;
}

const viewReply = objectReply('The login step TDLib waits for now.', {
  account: { type: 'string' },
  step: { type: 'string', enum: ['starting', 'wait_phone', 'wait_code', 'wait_password', 'ready', 'logging_out', 'closed'] },
  codeSentTo: { type: ['string', 'null'], description: 'The number Telegram sent the code to (wait_code).' },
  passwordHint: { type: ['string', 'null'], description: 'The hint of the two-step verification password (wait_password).' },
});

export function telegramUserRoutes(deps: TelegramUserRoutesDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { account: string } }>(
      '/api/v1/telegram/:account/login',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'The login step of a Telegram user account (TDLib)',
          tags: ['telegram'],
          security: security('api'),
          params: stringParams('account'),
          response: { 200: viewReply, ...errorResponses(401, 404, 409) },
        },
      },
      async (req) => deps.loginView(req.params.account),
    );

    app.post<{ Params: { account: string }; Body: { phone?: string; code?: string; password?: string } }>(
      '/api/v1/telegram/:account/login',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'One login step of a Telegram user account: phone, then code, then the 2FA password',
          tags: ['telegram'],
          security: security('api'),
          params: stringParams('account'),
          body: {
            type: 'object',
            minProperties: 1,
            maxProperties: 1,
            additionalProperties: false,
            properties: {
              phone: {
                type: 'string',
                minLength: 5,
                maxLength: 32,
                pattern: '^\\+?[0-9 ()-]+$',
                description: 'International number, e.g. "+79991234567".',
              },
              code: { type: 'string', minLength: 1, maxLength: 16, description: 'The code Telegram sent.' },
              password: { type: 'string', minLength: 1, maxLength: 256, description: 'The two-step verification password.' },
            },
          },
          response: { 200: viewReply, ...errorResponses(400, 401, 404, 409, 429, 502) },
        },
      },
      async (req) => {
        const b = req.body;
        const input = b.phone !== undefined ? { phone: b.phone } : b.code !== undefined ? { code: b.code } : { password: b.password ?? '' };
        return deps.login(req.params.account, input);
      },
    );
  };
}

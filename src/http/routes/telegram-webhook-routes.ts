import type { FastifyPluginAsync } from 'fastify';
import { errorBody } from '../error-body.ts';
import { errorResponses, objectReply, stringParams } from '../route-schema.ts';

export interface TelegramWebhookHandler {
  handleWebhook(
    account: string,
    secretHeader: string | undefined,
    body: unknown,
  ): Promise<{ status: number; error?: { code: string; message: string } }>;
}

/**
 * `POST /telegram/:account/webhook`. The channel checks the secret header and answers 200
 * only after the update is stored; an error status makes Telegram deliver it again.
 */
export function telegramWebhookRoutes(deps: { telegram: TelegramWebhookHandler; licensed: () => boolean }): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Params: { account: string } }>(
      '/telegram/:account/webhook',
      {
        config: { auth: 'public' },
        schema: {
          summary: 'Telegram webhook (checks X-Telegram-Bot-Api-Secret-Token)',
          tags: ['telegram'],
          params: stringParams('account'),
          body: { type: 'object', additionalProperties: true, description: 'A Telegram Update.' },
          response: { 200: objectReply('Stored.', { ok: { type: 'boolean' } }), ...errorResponses(400, 401, 404, 503) },
        },
      },
      async (req, reply) => {
        if (!deps.licensed()) {
          // Not licensed: refuse so Telegram keeps the update and redelivers it later.
          return reply
            .code(503)
            .send(errorBody('chats_not_licensed', 'The chat module is not licensed on this host; the update will be redelivered.'));
        }
        const header = req.headers['x-telegram-bot-api-secret-token'];
        const res = await deps.telegram.handleWebhook(req.params.account, Array.isArray(header) ? header[0] : header, req.body);
        if (res.error) return reply.code(res.status).send(errorBody(res.error.code, res.error.message));
        return reply.code(res.status).send({ ok: true });
      },
    );
  };
}

/**
 * WhatsApp pairing over HTTP (connector-api.md): the current QR code as PNG, or a pairing
 * code for a phone number. Bearer auth is applied to /api/v1/* by the app.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ConnectorError } from '../../core/index.ts';
import type { WhatsappRunnerLike } from '../../channels/whatsapp/account-runner.ts';
import { errorBody } from '../error-body.ts';
import { binaryReply, errorResponses, objectReply, security, stringParams } from '../route-schema.ts';

export type { WhatsappRunnerLike };

export function whatsappRoutes(deps: { runner(account: string): WhatsappRunnerLike | undefined }): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { account: string } }>(
      '/api/v1/whatsapp/:account/qr',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'The current pairing QR code (404 when paired)',
          tags: ['whatsapp'],
          security: security('api'),
          params: stringParams('account'),
          response: { 200: binaryReply('The QR code.', 'image/png'), ...errorResponses(401, 404) },
        },
      },
      async (req, reply) => {
        const runner = deps.runner(req.params.account);
        if (!runner)
          return reply.code(404).send(errorBody('account_not_found', `No WhatsApp account "${req.params.account}" is configured.`));
        // an idle account (logged out, QR rounds used up, replaced) starts a new pairing round here
        const png = await runner.qrPngWhenReady();
        if (!png) {
          const st = runner.state().state;
          const why =
            st === 'open'
              ? `WhatsApp account "${req.params.account}" is already paired.`
              : `WhatsApp account "${req.params.account}" has no QR code right now (state: ${st}); try again in a few seconds.`;
          return reply.code(404).send(errorBody(st === 'open' ? 'already_paired' : 'qr_not_available', why));
        }
        reply.header('Cache-Control', 'no-store');
        return reply.type('image/png').send(png);
      },
    );

    app.post<{ Params: { account: string }; Body: unknown }>(
      '/api/v1/whatsapp/:account/pairing-code',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'A pairing code for a phone number',
          tags: ['whatsapp'],
          security: security('api'),
          params: stringParams('account'),
          body: {
            type: 'object',
            required: ['phone'],
            properties: { phone: { type: ['string', 'number'], description: 'The international number in digits, e.g. "79991234567".' } },
          },
          response: { 200: objectReply('The code to type on the phone.', { code: { type: 'string' } }), ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        const runner = deps.runner(req.params.account);
        if (!runner)
          return reply.code(404).send(errorBody('account_not_found', `No WhatsApp account "${req.params.account}" is configured.`));
        const body = req.body;
        const phone = body && typeof body === 'object' ? (body as { phone?: unknown }).phone : undefined;
        if (typeof phone !== 'string' && typeof phone !== 'number') {
          return reply
            .code(400)
            .send(errorBody('invalid_request', 'phone is required: the international number in digits, e.g. "79991234567".'));
        }
        try {
          const code = await runner.requestPairingCode(String(phone));
          return reply.code(200).send({ code });
        } catch (err) {
          if (err instanceof ConnectorError) return reply.code(err.httpStatus).send(err.toJSON());
          throw err;
        }
      },
    );
  };
}

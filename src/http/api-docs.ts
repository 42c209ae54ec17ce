/**
 * The API described once: every route's schema (app.ts convention) becomes the OpenAPI 3
 * document at `/api/v1/openapi.json`, rendered at `/docs` by swagger-ui served from the
 * package itself (no CDN). Both are public and hold nothing secret: route shapes and the
 * names of the credential schemes, never a value.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { objectReply, SECURITY_SCHEMES } from './route-schema.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';
export const DOCS_PATH = '/docs';

export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'chat-connector',
        description:
          'Chat connector for 1C:Enterprise (Telegram, WhatsApp). Errors are `{"error":{"code","message"}}` with one human sentence.',
        version: '1',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
  });

  app.get(
    OPENAPI_PATH,
    {
      config: { auth: 'public' },
      schema: { summary: 'This document (OpenAPI 3)', tags: ['meta'], response: { 200: objectReply('The OpenAPI document.') } },
    },
    async () => app.swagger(),
  );

  await app.register(async (scope) => {
    // swagger-ui's own routes (page, assets, a copy of the document): public, not documented.
    scope.addHook('onRoute', (r: RouteOptions) => {
      r.config = { ...r.config, auth: 'public' };
      r.schema = { ...r.schema, hide: true };
    });
    await scope.register(swaggerUi, { routePrefix: DOCS_PATH, staticCSP: true, uiConfig: { deepLinking: false } });
  });
}

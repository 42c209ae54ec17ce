import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { MediaStore } from '../../core/index.ts';
import { errorBody } from '../app.ts';

/** Serves downloaded media at `media[].url` to holders of the API token. */
export function mediaRoutes(deps: { media: MediaStore }): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { id: string } }>('/api/v1/media/:id', { config: { auth: 'api' } }, async (req, reply) => {
      const found = /^[A-Za-z0-9_-]{1,128}$/.test(req.params.id) ? await deps.media.open(req.params.id) : null;
      if (!found) return reply.code(404).send(errorBody('unknown_media', `No media with id "${req.params.id}".`));
      const name = (found.ref.fileName ?? found.ref.id).replace(/["\\\r\n]/g, '_');
      reply.header('Content-Type', found.ref.mime || 'application/octet-stream');
      reply.header('Content-Length', String(found.ref.size));
      reply.header('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(name)}`);
      reply.header('X-Content-SHA256', found.ref.sha256);
      return reply.send(createReadStream(found.path));
    });
  };
}

import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { MediaStore } from '../../core/index.ts';
import { errorBody } from '../error-body.ts';
import { isInlineSafeMedia, isMimeType } from '../mime-type.ts';
import { binaryReply, errorResponses, security, stringParams } from '../route-schema.ts';

/** Serves downloaded media at `media[].url` to holders of the API token. */
export function mediaRoutes(deps: { media: MediaStore }): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { id: string } }>(
      '/api/v1/media/:id',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'A received media file (attachment unless image/audio/video; sandboxed)',
          tags: ['media'],
          security: security('api'),
          params: stringParams('id'),
          response: {
            200: binaryReply('The file, with its stored content type.', 'application/octet-stream'),
            ...errorResponses(401, 404),
          },
        },
      },
      async (req, reply) => {
        const found = /^[A-Za-z0-9_-]{1,128}$/.test(req.params.id) ? await deps.media.open(req.params.id) : null;
        if (!found) return reply.code(404).send(errorBody('unknown_media', `No media with id "${req.params.id}".`));
        const name = (found.ref.fileName ?? found.ref.id).replace(/["\\\r\n]/g, '_');
        // A customer's file is the customer's content on our origin: only media a browser shows
        // without running it is inline; everything is sandboxed and never content-sniffed.
        const mime = found.ref.mime && isMimeType(found.ref.mime) ? found.ref.mime : 'application/octet-stream';
        reply.header('Content-Type', mime);
        reply.header('Content-Length', String(found.ref.size));
        reply.header(
          'Content-Disposition',
          `${isInlineSafeMedia(mime) ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
        );
        reply.header('X-Content-Type-Options', 'nosniff');
        reply.header('Content-Security-Policy', 'sandbox');
        reply.header('X-Content-SHA256', found.ref.sha256);
        return reply.send(createReadStream(found.path));
      },
    );
  };
}

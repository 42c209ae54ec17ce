import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/app.ts';
import { healthRoutes } from '../../src/http/routes/health-routes.ts';
import { mediaRoutes } from '../../src/http/routes/media-routes.ts';
import { FileMediaStore } from '../../src/media/file-media-store.ts';
import { ValidationError } from '../../src/core/index.ts';

const TOKEN = 'test-api-token-0123456789';

async function app(ready = true) {
  const media = new FileMediaStore({ dir: mkdtempSync(join(tmpdir(), 'media-')), publicUrl: 'http://x', maxBytes: 1024 });
  const a = await buildHttpApp({
    apiToken: TOKEN,
    plugins: [
      healthRoutes({
        readiness: async () => [
          { name: 'redis', ok: true, detail: 'Redis answers at 10.1.2.3:6379.' },
          { name: 'chat_module', ok: ready, detail: ready ? 'ok' : 'The chat module is off: no license.' },
          { name: 'onec', ok: false, advisory: true, detail: '1C at 127.0.0.1:18481 dropped the connection.' },
        ],
        apiToken: TOKEN,
      }),
      mediaRoutes({ media }),
      async (f) => {
        f.post(
          '/api/v1/echo',
          {
            config: { auth: 'api' },
            schema: { body: { type: 'object', required: ['chatId'], properties: { chatId: { type: 'string' } } } },
          },
          async (req) => req.body,
        );
        f.get('/api/v1/boom', { config: { auth: 'api' } }, async () => {
          throw new ValidationError('Field "x" is wrong.');
        });
      },
    ],
  });
  return { a, media };
}

describe('HTTP app', () => {
  it('refuses /api/v1 without the bearer token, with a JSON error', async () => {
    const { a } = await app();
    for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const r = await a.inject({ method: 'GET', url: '/api/v1/media/abc', headers: auth ? { authorization: auth } : {} });
      expect(r.statusCode).toBe(401);
      expect(r.json<{ error: { code: string; message: string } }>().error.code).toBe('unauthorized');
    }
  });

  it('serves stored media to token holders, with its checksum', async () => {
    const { a, media } = await app();
    const ref = await media.save('tg:bot:1', {
      nativeId: 'f1',
      mime: 'image/png',
      fileName: 'фото.png',
      declaredSize: 5,
      open: async () => Readable.from([Buffer.from('hello')]),
    });
    const r = await a.inject({ method: 'GET', url: `/api/v1/media/${ref.id}`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('hello');
    expect(r.headers['content-type']).toBe('image/png');
    expect(r.headers['x-content-sha256']).toBe(ref.sha256);
    const missing = await a.inject({ method: 'GET', url: '/api/v1/media/nope', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: { code: string; message: string } }>().error.code).toBe('unknown_media');
  });

  it('customer files: attachment unless image/audio/video, always nosniff and a sandbox CSP', async () => {
    const { a, media } = await app();
    const cases: [string, string][] = [
      ['text/html', 'attachment'],
      ['application/xhtml+xml', 'attachment'],
      ['image/svg+xml', 'attachment'],
      ['application/pdf', 'attachment'],
      ['image/jpeg', 'inline'],
      ['audio/ogg', 'inline'],
      ['video/mp4', 'inline'],
    ];
    for (const [mime, disposition] of cases) {
      const ref = await media.save('tg:bot:1', {
        nativeId: `f-${mime}`,
        mime,
        fileName: 'x',
        declaredSize: 5,
        open: async () => Readable.from([Buffer.from('<script>alert(1)</script>')]),
      });
      const r = await a.inject({ method: 'GET', url: `/api/v1/media/${ref.id}`, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.statusCode, mime).toBe(200);
      expect(r.headers['content-disposition'], mime).toMatch(new RegExp(`^${disposition};`));
      expect(r.headers['x-content-type-options'], mime).toBe('nosniff');
      expect(r.headers['content-security-policy'], mime).toBe('sandbox');
    }
  });

  it('answers malformed bodies, validation and typed errors in one format', async () => {
    const { a } = await app();
    const h = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const bad = await a.inject({ method: 'POST', url: '/api/v1/echo', headers: h, payload: '{"chatId":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string; message: string } }>().error.code).toBe('invalid_request');
    const missing = await a.inject({ method: 'POST', url: '/api/v1/echo', headers: h, payload: '{}' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json<{ error: { code: string; message: string } }>().error.message).toContain('chatId');
    const typed = await a.inject({ method: 'GET', url: '/api/v1/boom', headers: h });
    expect(typed.json()).toEqual({ error: { code: 'invalid_request', message: 'Field "x" is wrong.' } });
    const none = await a.inject({ method: 'GET', url: '/nowhere' });
    expect(none.statusCode).toBe(404);
    expect(none.json<{ error: { code: string; message: string } }>().error.code).toBe('not_found');
  });

  it('a route that declares no credential stops the start, naming it (default deny)', async () => {
    const a = await buildHttpApp({
      apiToken: TOKEN,
      plugins: [
        async (f) => {
          f.get('/api/v1/forgot', async () => ({ open: true }));
          f.get('/public-thing', { config: { auth: 'public' } }, async () => ({ ok: true }));
        },
      ],
    });
    await expect(a.ready()).rejects.toThrow(/declare no config\.auth.*GET \/api\/v1\/forgot/);
  });

  it('healthz is always 200; readyz is 503 naming what is wrong', async () => {
    const ok = await app(true);
    expect((await ok.a.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await ok.a.inject({ url: '/readyz' })).statusCode).toBe(200);
    const off = await app(false);
    const r = await off.a.inject({ url: '/readyz', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ ready: false, reason: 'The chat module is off: no license.' });
    expect(r.body).toContain('127.0.0.1:18481');
  });

  it('public /readyz gives states only: no hosts, ports or messages (details with the API token)', async () => {
    const off = await app(false);
    for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
      const r = await off.a.inject({ url: '/readyz', headers });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({
        ready: false,
        checks: [
          { name: 'redis', ok: true },
          { name: 'chat_module', ok: false },
          { name: 'onec', ok: false, advisory: true },
        ],
      });
      expect(r.body).not.toMatch(/127\.0\.0\.1|10\.1\.2\.3|6379|18481|license|dropped/);
    }
  });
});

/**
 * Issue 12 item 5: the HTTP API described once. Every registered route is in the OpenAPI
 * document at /api/v1/openapi.json (except swagger-ui's own assets and bull-board's
 * internals behind /admin/queues), the document is valid OpenAPI 3, holds no secret, and
 * /docs renders it in Chromium (screenshot in test-artifacts/docs.png).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, API_TOKEN, buildFullApp, OPERATOR_TOKEN, type FullApp } from './full-app.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let full: FullApp;
beforeAll(async () => {
  full = await buildFullApp();
});
afterAll(async () => {
  await full?.close();
});

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

async function doc(): Promise<Doc> {
  const r = await full.app.inject({ url: '/api/v1/openapi.json' });
  expect(r.statusCode).toBe(200);
  return r.json<Doc>();
}

describe('OpenAPI document', () => {
  it('lists every registered route, is valid OpenAPI 3 and holds no secret', async () => {
    const d = await doc();
    expect(d.openapi).toMatch(/^3\./);
    const missing: string[] = [];
    for (const r of full.routes) {
      if (r.method === 'HEAD') continue;
      if (r.url === '/docs' || r.url.startsWith('/docs/')) continue;
      if (r.url.startsWith('/admin/queues/')) continue;
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      // (A plugin's "/" under a prefix is one route with two spellings, `/p` and `/p/`; the
      // document names it once.)
      const m = r.method.toLowerCase();
      if (!d.paths[path]?.[m] && !d.paths[`${path}/`]?.[m]) missing.push(`${r.method} ${r.url}`);
    }
    expect(missing).toEqual([]);
    const res = await new Validator().validate(d as unknown as Parameters<Validator['validate']>[0]);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    const text = JSON.stringify(d);
    for (const secret of [API_TOKEN, OPERATOR_TOKEN, ADMIN.password]) expect(text).not.toContain(secret);
    // The credential is named per route.
    expect(d.paths['/api/v1/messages'].post.security).toEqual([{ apiToken: [] }, { operatorToken: [] }]);
    expect(d.paths['/api/v1/operators/heartbeat'].post.security).toEqual([{ operatorToken: [] }]);
  });

  it('validation errors keep the error shape and name the field in one sentence', async () => {
    const h = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
    const cases: [unknown, string][] = [
      [{ chatId: 'tg:bot:1', text: 'x' }, 'Field "id" is required.'],
      [{ id: 5, chatId: 'tg:bot:1', text: 'x' }, 'Field "id" must be a string.'],
      [{ id: 'a', chatId: 'tg:bot:1', text: 'x', media: 'no' }, 'Field "media" must be a list.'],
      [
        { id: 'a', chatId: 'tg:bot:1', media: [{ base64: 'AAAA', kind: 'gif' }] },
        'Field "media[0].kind" must be one of photo, document, voice, audio, video.',
      ],
    ];
    for (const [body, message] of cases) {
      const r = await full.app.inject({ method: 'POST', url: '/api/v1/messages', headers: h, payload: JSON.stringify(body) });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error: { code: 'invalid_request', message } });
    }
  });

  it('/docs renders the reference in Chromium, with no token and nothing from the network', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
    const url = await full.app.listen({ host: '127.0.0.1', port: 0 });
    const profile = mkdtempSync(join(tmpdir(), 'chat-connector-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
      ],
      timeout: 30_000,
      viewport: { width: 1400, height: 1000 },
    });
    try {
      const page = await browser.newPage();
      const foreign: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith(url) && !req.url().startsWith('data:')) foreign.push(req.url());
      });
      const res = await page.goto(`${url}/docs`);
      expect(res?.status()).toBe(200);
      await page.getByText('/api/v1/messages', { exact: true }).first().waitFor({ timeout: 20_000 });
      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/docs.png', fullPage: true });
      expect(foreign).toEqual([]);
    } finally {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

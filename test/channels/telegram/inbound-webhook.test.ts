import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTelegramConnector, type TelegramConnector } from '../../../src/channels/telegram/telegram-connector.ts';
import { FileMediaStore } from '../../../src/media/file-media-store.ts';
import { TelegramEmulator, type WebhookDelivery } from '../../../src/emulators/telegram/index.ts';
import type { IngestResult, NewInboundMessage } from '../../../src/core/index.ts';
import { captureLogger, MemorySink } from './helpers.ts';

const TOKEN = '6200001:AAH-webhook';
const SECRET = 'hook_secret-123';

describe('Telegram webhook mode', () => {
  let emu: TelegramEmulator;
  let tg: TelegramConnector;
  let hook: Server;
  let dir: string;
  const logger = captureLogger();

  beforeEach(async () => {
    emu = new TelegramEmulator({ webhookRetryMs: 20 });
    await emu.start();
    emu.addBot({ token: TOKEN, id: 6200001, username: 'hook_bot' });
    dir = await mkdtemp(join(tmpdir(), 'tg-hook-'));
    // Stands in for the fastify route: POST /telegram/:account/webhook → handleWebhook.
    hook = createServer((req, res) => {
      const m = /^\/telegram\/([^/]+)\/webhook$/.exec(req.url ?? '');
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const header = req.headers['x-telegram-bot-api-secret-token'];
        void tg
          .handleWebhook(decodeURIComponent(m?.[1] ?? ''), typeof header === 'string' ? header : undefined, JSON.parse(body) as unknown)
          .then((r) => {
            res
              .writeHead(r.status, { 'content-type': 'application/json' })
              .end(JSON.stringify(r.error ? { error: r.error } : { ok: true }));
          });
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const port = (hook.address() as { port: number }).port;
    tg = createTelegramConnector({
      tokens: [TOKEN],
      apiRoot: emu.apiRoot,
      mode: 'webhook',
      webhookUrl: `http://127.0.0.1:${port}`,
      webhookSecret: SECRET,
      mediaStore: new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080' }),
      logger,
      backoffMinMs: 20,
    });
  });
  afterEach(async () => {
    await Promise.all(tg.runners().map((r) => r.stop()));
    await emu.stop();
    await new Promise<void>((r) => hook.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  async function startWith(sink: MemorySink): Promise<void> {
    const [runner] = tg.runners();
    const open = new Promise((resolve) =>
      (runner as unknown as NodeJS.EventEmitter).on('state', (s: { state: string }) => {
        if (s.state === 'open') resolve(s);
      }),
    );
    await runner.start(sink);
    await open;
  }

  it('sets the webhook with the secret and stores what Telegram delivers', async () => {
    const sink = new MemorySink();
    await startWith(sink);
    expect(emu.webhookInfo(TOKEN).url).toMatch(/\/telegram\/hook_bot\/webhook$/);
    const chat = emu.chat(TOKEN, { firstName: 'Пётр' });
    chat.text('через вебхук');
    chat.photo({ caption: 'и фото' });
    const msgs = await sink.waitFor(2);
    expect(msgs.map((m) => [m.kind, m.text])).toEqual([
      ['text', 'через вебхук'],
      ['photo', 'и фото'],
    ]);
    expect(msgs[1].media).toHaveLength(1);
    expect(tg.hasAccount('hook_bot')).toBe(true);
  });

  it('refuses a wrong secret with 401 and an unknown account with 404', async () => {
    await startWith(new MemorySink());
    const update = { update_id: 1, message: { message_id: 1, date: 1, chat: { id: 1, type: 'private', first_name: 'A' }, text: 'x' } };
    expect(await tg.handleWebhook('hook_bot', 'wrong', update)).toMatchObject({ status: 401, error: { code: 'invalid_webhook_secret' } });
    expect(await tg.handleWebhook('hook_bot', undefined, update)).toMatchObject({ status: 401 });
    expect(await tg.handleWebhook('nobody_bot', SECRET, update)).toMatchObject({ status: 404, error: { code: 'unknown_account' } });
    expect(await tg.handleWebhook('hook_bot', SECRET, { update_id: 2, callback_query: {} })).toEqual({ status: 200 });
    expect(JSON.stringify(logger.lines)).not.toContain(SECRET);
  });

  it('answers only after ingest resolved', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sink = new MemorySink();
    const slow = Object.assign(sink, {
      ingest: async (m: NewInboundMessage[]): Promise<IngestResult[]> => {
        sink.emit('started');
        await gate;
        return MemorySink.prototype.ingest.call(sink, m);
      },
    });
    await startWith(slow);
    const update = { update_id: 5, message: { message_id: 7, date: 1, chat: { id: 42, type: 'private', first_name: 'A' }, text: 'wait' } };
    let settled = false;
    const started = once(sink, 'started');
    const answer = tg.handleWebhook('hook_bot', SECRET, update).then((r) => {
      settled = true;
      return r;
    });
    await started;
    expect(settled).toBe(false);
    release();
    expect(await answer).toEqual({ status: 200 });
    expect(sink.stored.map((m) => m.id)).toEqual(['tg:hook_bot:42:7']);
  });

  it('answers 500 when ingest fails, so Telegram delivers the update again', async () => {
    const sink = new MemorySink();
    sink.failNext = 1;
    await startWith(sink);
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    const u = chat.text('повтор');
    const deliveries: WebhookDelivery[] = [];
    const ok = new Promise<void>((resolve) =>
      emu.on('delivery', (_t: string, d: WebhookDelivery) => {
        deliveries.push(d);
        if (d.status === 200) resolve();
      }),
    );
    await ok;
    expect(deliveries.map((d) => [d.updateId, d.status])).toEqual([
      [u.update.update_id, 500],
      [u.update.update_id, 200],
    ]);
    expect(sink.stored.map((m) => m.text)).toEqual(['повтор']);
  });
});

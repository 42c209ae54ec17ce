import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { Api, GrammyError, InputFile } from 'grammy';
import { TelegramEmulator } from '../../src/emulators/telegram/index.ts';

/** The GrammyError a call must fail with. */
async function failure(p: Promise<unknown>): Promise<GrammyError> {
  const err = await p.then(
    () => new Error('expected the call to fail'),
    (e: unknown) => e,
  );
  if (!(err instanceof GrammyError)) throw err;
  return err;
}

const TOKEN = '8123456:AAE-test-secret';

describe('TelegramEmulator', () => {
  let emu: TelegramEmulator;
  let api: Api;
  beforeEach(async () => {
    emu = new TelegramEmulator({ webhookRetryMs: 20 });
    await emu.start();
    emu.addBot({ token: TOKEN, id: 8123456, username: 'acme_bot', firstName: 'Acme' });
    api = new Api(TOKEN, { apiRoot: emu.apiRoot });
  });
  afterEach(async () => {
    await emu.stop();
  });

  it('answers getMe and rejects an unknown token with 401 Unauthorized', async () => {
    const me = await api.getMe();
    expect(me).toMatchObject({ id: 8123456, is_bot: true, username: 'acme_bot' });
    const bad = new Api('1:nope', { apiRoot: emu.apiRoot });
    const err = await bad.getMe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).error_code).toBe(401);
    expect((err as GrammyError).description).toBe('Unauthorized');
  });

  it('keeps updates until an offset confirms them', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Иван', lastName: 'Петров' });
    const a = chat.text('one');
    const b = chat.text('two');
    const first = await api.getUpdates({ timeout: 0 });
    expect(first.map((u) => u.update_id)).toEqual([a.update.update_id, b.update.update_id]);
    expect(first.map((u) => u.message?.message_id)).toEqual([1, 2]);
    // no offset: nothing confirmed, same updates again
    const again = await api.getUpdates({ timeout: 0 });
    expect(again.map((u) => u.update_id)).toEqual(first.map((u) => u.update_id));
    // offset confirms every update below it
    const rest = await api.getUpdates({ offset: (a.update.update_id as number) + 1, timeout: 0 });
    expect(rest.map((u) => u.update_id)).toEqual([b.update.update_id]);
    expect(emu.stats(TOKEN).confirmedOffset).toBe((a.update.update_id as number) + 1);
    const limited = await api.getUpdates({ offset: 0, limit: 1, timeout: 0 });
    expect(limited).toHaveLength(1);
  });

  it('long polling returns as soon as an update arrives', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    const poll = api.getUpdates({ timeout: 30 });
    // the update is pushed once the request is waiting
    await once(emu, 'getUpdates');
    chat.text('wake up');
    const got = await poll;
    expect(got.map((u) => u.message?.text)).toEqual(['wake up']);
  });

  it('leaves out message_reaction unless allowed_updates asks for it', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    const m = chat.text('hi');
    chat.react(m.messageId, ['👍']);
    const def = await api.getUpdates({ timeout: 0 });
    expect(def.map((u) => Object.keys(u)[1])).toEqual(['message']);
    chat.react(m.messageId, ['🔥']);
    const opted = await api.getUpdates({ timeout: 0, allowed_updates: ['message', 'message_reaction'] });
    expect(opted.map((u) => u.message_reaction?.new_reaction)).toEqual([undefined, [{ type: 'emoji', emoji: '🔥' }]]);
  });

  it('ends the earlier getUpdates with 409 when a second one arrives', async () => {
    const first = api.getUpdates({ timeout: 30 }).catch((e: unknown) => e);
    await once(emu, 'getUpdates');
    const second = api.getUpdates({ timeout: 0 });
    const err = await first;
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).error_code).toBe(409);
    expect((err as GrammyError).description).toBe(
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    );
    await second;
    expect(emu.stats(TOKEN).conflictsIssued).toBe(1);
  });

  it('sends messages with per-chat ids, replies and errors like Telegram', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Олег', username: 'oleg' });
    const inbound = chat.text('вопрос');
    const m1 = await api.sendMessage(chat.id, 'ответ', { reply_parameters: { message_id: inbound.messageId } });
    expect(m1.message_id).toBe(inbound.messageId + 1);
    expect(m1.reply_to_message?.message_id).toBe(inbound.messageId);
    const notFound = await failure(api.sendMessage(424242, 'x'));
    expect([notFound.error_code, notFound.description]).toEqual([400, 'Bad Request: chat not found']);
    const tooLong = await failure(api.sendMessage(chat.id, 'x'.repeat(4097)));
    expect([tooLong.error_code, tooLong.description]).toEqual([400, 'Bad Request: message is too long']);
    emu.setBlocked(TOKEN, chat.id);
    const blocked = await failure(api.sendMessage(chat.id, 'x'));
    expect([blocked.error_code, blocked.description]).toEqual([403, 'Forbidden: bot was blocked by the user']);
    const sent = emu.sent(TOKEN, chat.id);
    expect(sent.map((s) => [s.method, s.text, s.replyTo])).toEqual([['sendMessage', 'ответ', inbound.messageId]]);
  });

  it('accepts multipart uploads and serves them through getFile and the download URL', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    chat.text('hi');
    const bytes = Buffer.from('%PDF-1.4 fake pdf body \r\n--not-a-boundary\r\n');
    const msg = await api.sendDocument(chat.id, new InputFile(bytes, 'счёт.pdf'), { caption: 'Ваш счёт' });
    expect(msg.document?.file_name).toBe('счёт.pdf');
    const rec = emu.sent(TOKEN, chat.id)[0];
    expect(rec.file?.source).toBe('upload');
    expect(rec.file?.bytes?.equals(bytes)).toBe(true);
    expect(rec.caption).toBe('Ваш счёт');
    const file = await api.getFile(msg.document.file_id);
    expect(file.file_size).toBe(bytes.length);
    const res = await fetch(`${emu.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    const byUrl = await api.sendPhoto(chat.id, 'http://127.0.0.1:1/cat.jpg');
    expect(byUrl.photo?.length).toBeGreaterThan(1);
    expect(emu.sent(TOKEN, chat.id)[1].file).toMatchObject({ source: 'url', url: 'http://127.0.0.1:1/cat.jpg' });
  });

  it('answers 429 with retry_after when rate limits are exceeded, and injects faults', async () => {
    emu.setLimits({ enabled: true, perChatPerSec: 1 });
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    await api.sendMessage(chat.id, 'first');
    const err = await failure(api.sendMessage(chat.id, 'second'));
    expect(err.error_code).toBe(429);
    expect(err.description).toMatch(/^Too Many Requests: retry after \d+$/);
    expect(err.parameters.retry_after).toBeGreaterThanOrEqual(1);
    expect(emu.stats(TOKEN).rateLimitedIssued).toBe(1);
    emu.setLimits({ enabled: false });
    emu.injectFault(TOKEN, 'sendMessage', '429', 1, 7);
    const injected = await failure(api.sendMessage(chat.id, 'third'));
    expect(injected.parameters.retry_after).toBe(7);
    emu.injectFault(TOKEN, 'sendMessage', '502', 1);
    const bad = await failure(api.sendMessage(chat.id, 'fourth'));
    expect(bad.error_code).toBe(502);
    await expect(api.sendMessage(chat.id, 'fifth')).resolves.toMatchObject({ text: 'fifth' });
  });

  it('delivers updates to a webhook in order with the secret header, redelivering on failure', async () => {
    const { createServer } = await import('node:http');
    const got: Array<{ id: number; secret: string | undefined }> = [];
    let failNext = 2;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    emu.on('delivery', () => {
      if (emu.stats(TOKEN).webhookDeliveries.length === 4) resolveDone();
    });
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const u = JSON.parse(body) as { update_id: number };
        got.push({ id: u.update_id, secret: req.headers['x-telegram-bot-api-secret-token'] as string | undefined });
        if (failNext > 0) {
          failNext -= 1;
          res.writeHead(500).end();
          return;
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const port = (hook.address() as { port: number }).port;
    try {
      const chat = emu.chat(TOKEN, { firstName: 'Anna' });
      const a = chat.text('a');
      const b = chat.text('b');
      await api.setWebhook(`http://127.0.0.1:${port}/hook`, { secret_token: 's3cret_X' });
      const conflict = await failure(api.getUpdates({ timeout: 0 }));
      expect(conflict.error_code).toBe(409);
      expect(conflict.description).toMatch(/^Conflict: can't use getUpdates method while webhook is active/);
      await done;
      expect(got.map((g) => g.id)).toEqual([a.update.update_id, a.update.update_id, a.update.update_id, b.update.update_id]);
      expect(new Set(got.map((g) => g.secret))).toEqual(new Set(['s3cret_X']));
      expect(emu.stats(TOKEN).webhookDeliveries.map((d) => d.status)).toEqual([500, 500, 200, 200]);
      const info = await api.getWebhookInfo();
      expect(info.pending_update_count).toBe(0);
    } finally {
      await api.deleteWebhook();
      await new Promise<void>((r) => hook.close(() => r()));
    }
  });
});

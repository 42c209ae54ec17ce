import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitText } from '../../../src/channels/telegram/outbound-split.ts';
import { createTelegramConnector, type TelegramConnector } from '../../../src/channels/telegram/telegram-connector.ts';
import { ConnectorError, UnreachableError, type OutboundMessage } from '../../../src/core/index.ts';
import { FileMediaStore } from '../../../src/media/file-media-store.ts';
import { TelegramEmulator, type SimulatedChat } from '../../../src/emulators/telegram/index.ts';

const TOKEN = '6100001:AAG-outbound';

describe('splitText', () => {
  it('cuts at paragraph, line, sentence and word boundaries and reassembles exactly', () => {
    const para = `${'Первый абзац. '.repeat(200)}\n\n${'Второй абзац, длинный. '.repeat(200)}\n\nТретий.`;
    const parts = splitText(para);
    expect(parts.join('')).toBe(para);
    expect(parts.every((p) => p.length <= 4096)).toBe(true);
    expect(parts[0].endsWith('\n\n')).toBe(true);
    const lines = Array.from({ length: 300 }, (_, i) => `строка номер ${i}`).join('\n');
    const lp = splitText(lines);
    expect(lp.join('')).toBe(lines);
    expect(lp.slice(0, -1).every((p) => p.endsWith('\n'))).toBe(true);
    const sentences = 'Это предложение закончено. '.repeat(400).trim();
    expect(
      splitText(sentences)
        .slice(0, -1)
        .every((p) => p.endsWith('. ')),
    ).toBe(true);
    const words = 'слово '.repeat(1000).trim();
    const wp = splitText(words);
    expect(wp.join('')).toBe(words);
    expect(wp.slice(0, -1).every((p) => p.endsWith(' '))).toBe(true);
  });

  it('never cuts a surrogate pair and leaves short texts whole', () => {
    const emoji = '😀'.repeat(3000); // 6000 UTF-16 units, no spaces
    const parts = splitText(emoji);
    expect(parts.join('')).toBe(emoji);
    for (const p of parts) expect(p.length % 2).toBe(0);
    expect(splitText('x'.repeat(4096))).toEqual(['x'.repeat(4096)]);
    const odd = `a${'😀'.repeat(2100)}`;
    const op = splitText(odd);
    expect(op.join('')).toBe(odd);
    expect(op[0].length).toBe(4095);
  });
});

describe('Telegram outbound send against the emulated Bot API', () => {
  let emu: TelegramEmulator;
  let tg: TelegramConnector;
  let chat: SimulatedChat;
  let dir: string;
  let store: FileMediaStore;
  const msg = (o: Partial<OutboundMessage>): OutboundMessage => ({
    id: `out-${Math.random()}`,
    chatId: `tg:out_bot:${chat.id}`,
    text: null,
    media: [],
    replyTo: null,
    operatorId: null,
    createdAt: new Date().toISOString(),
    ...o,
  });

  beforeEach(async () => {
    emu = new TelegramEmulator();
    await emu.start();
    emu.addBot({ token: TOKEN, id: 6100001, username: 'out_bot' });
    chat = emu.chat(TOKEN, { firstName: 'Мария' });
    chat.text('hello');
    dir = await mkdtemp(join(tmpdir(), 'tg-out-'));
    store = new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080' });
    tg = createTelegramConnector({ tokens: [TOKEN], apiRoot: emu.apiRoot, mediaStore: store, laterItemMaxWaitMs: 5000 });
    await tg.discoverAccounts();
  });
  afterEach(async () => {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('knows its accounts by username', () => {
    expect(tg.hasAccount('out_bot')).toBe(true);
    expect(tg.hasAccount('other_bot')).toBe(false);
    expect(tg.runners().map((r) => r.leaseKey)).toEqual(['tg:6100001']);
  });

  it('sends a long text as parts in order that reassemble exactly, replying with the first', async () => {
    const text = Array.from({ length: 40 }, (_, i) => `Абзац ${i}. ${'Текст ответа оператора. '.repeat(12)}`).join('\n\n');
    expect(text.length).toBeGreaterThan(8192);
    const res = await tg.send(msg({ text, replyTo: `tg:out_bot:${chat.id}:1` }));
    const sent = emu.sent(TOKEN, chat.id);
    expect(sent.length).toBe(res.nativeIds.length);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.map((s) => s.text).join('')).toBe(text);
    expect(sent.map((s) => s.replyTo)).toEqual([1, ...sent.slice(1).map(() => null)]);
    expect(res.nativeIds).toEqual(sent.map((s) => `tg:out_bot:${chat.id}:${s.messageId}`));
  });

  it('sends a photo from a URL and one from base64 with the caption on the first', async () => {
    const bytes = randomBytes(3000);
    const res = await tg.send(
      msg({
        text: 'Ваш заказ',
        media: [
          { url: 'http://127.0.0.1:9/cat.jpg', mime: 'image/jpeg' },
          { base64: bytes.toString('base64'), mime: 'image/png', fileName: 'plan.png' },
        ],
      }),
    );
    const sent = emu.sent(TOKEN, chat.id);
    expect(sent.map((s) => [s.method, s.caption, s.file?.source])).toEqual([
      ['sendPhoto', 'Ваш заказ', 'url'],
      ['sendPhoto', null, 'upload'],
    ]);
    expect(sent[0].file?.url).toBe('http://127.0.0.1:9/cat.jpg');
    expect(sent[1].file?.bytes?.equals(bytes)).toBe(true);
    expect(res.nativeIds).toHaveLength(2);
  });

  it('sends a stored media item by mediaId as a document', async () => {
    const bytes = randomBytes(1500);
    const ref = await store.save(`tg:out_bot:${chat.id}`, {
      nativeId: 'x1',
      mime: 'application/pdf',
      fileName: 'акт.pdf',
      declaredSize: null,
      open: async () =>
        (async function* () {
          yield bytes;
        })(),
    });
    await tg.send(msg({ media: [{ mediaId: ref.id, mime: 'application/pdf' }] }));
    const [s] = emu.sent(TOKEN, chat.id);
    expect(s.method).toBe('sendDocument');
    expect(s.file?.fileName).toBe('акт.pdf');
    expect(s.file?.bytes?.equals(bytes)).toBe(true);
  });

  it('turns 429 into a retryable error with retryAfterMs, blocked into a permanent one', async () => {
    emu.injectFault(TOKEN, 'sendMessage', '429', 1, 3);
    const rate = await tg.send(msg({ text: 'hi' })).catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(ConnectorError);
    expect(rate).toMatchObject({ code: 'telegram_rate_limited', retryable: true, retryAfterMs: 3000 });
    emu.setBlocked(TOKEN, chat.id);
    const blocked = await tg.send(msg({ text: 'hi' })).catch((e: unknown) => e);
    expect(blocked).toMatchObject({ code: 'telegram_blocked', retryable: false, message: 'The customer blocked the bot' });
    const unknown = await tg.send(msg({ text: 'hi', chatId: 'tg:out_bot:424242' })).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'telegram_chat_not_found', retryable: false });
    emu.setBlocked(TOKEN, chat.id, false);
    emu.injectFault(TOKEN, 'sendMessage', '500', 1);
    expect(await tg.send(msg({ text: 'hi' })).catch((e: unknown) => e)).toMatchObject({ code: 'telegram_server_error', retryable: true });
    emu.injectFault(TOKEN, 'sendMessage', 'drop', 1);
    const dropped = await tg.send(msg({ text: 'hi' })).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(UnreachableError);
    expect(dropped).toMatchObject({ code: 'telegram_unreachable', retryable: true });
    const other = await tg.send(msg({ text: 'hi', chatId: 'tg:nobody_bot:1' })).catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'unknown_account', retryable: false });
  });

  it('waits out a 429 on a later part instead of failing a half-sent message', async () => {
    emu.setLimits({ enabled: true, perChatPerSec: 1 });
    const text = `${'a '.repeat(2500)}\n\n${'b '.repeat(100)}`;
    const res = await tg.send(msg({ text }));
    expect(res.nativeIds).toHaveLength(2);
    expect(emu.stats(TOKEN).rateLimitedIssued).toBe(1);
    expect(
      emu
        .sent(TOKEN, chat.id)
        .map((s) => s.text)
        .join(''),
    ).toBe(text);
  });
});

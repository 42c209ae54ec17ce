import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TelegramPoller } from '../../../src/channels/telegram/inbound-poller.ts';
import { FileMediaStore } from '../../../src/media/file-media-store.ts';
import { TelegramEmulator, type GetUpdatesCall } from '../../../src/emulators/telegram/index.ts';
import { captureLogger, MemorySink } from './helpers.ts';

const TOKEN = '7000001:AAF-poller-secret';

describe('TelegramPoller against the emulated Bot API', () => {
  let emu: TelegramEmulator;
  let dir: string;
  let store: FileMediaStore;
  const pollers: TelegramPoller[] = [];
  const poller = (o: { token?: string; maxBytes?: number } = {}) => {
    const logger = captureLogger();
    const p = new TelegramPoller({
      token: o.token ?? TOKEN,
      apiRoot: emu.apiRoot,
      logger,
      pollTimeoutS: 5,
      backoffMinMs: 10,
      backoffMaxMs: 40,
      mediaStore: o.maxBytes ? new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080', maxBytes: o.maxBytes }) : store,
    });
    pollers.push(p);
    return { p, logger };
  };
  /** The first getUpdates call (already made or still to come) whose offset is at least `min`. */
  const pollWithOffset = (min: number) =>
    new Promise<GetUpdatesCall>((resolve) => {
      const seen = emu.stats(TOKEN).getUpdatesCalls.find((c) => (c.offset ?? 0) >= min);
      if (seen) {
        resolve(seen);
        return;
      }
      const on = (token: string, call: GetUpdatesCall) => {
        if (token === TOKEN && (call.offset ?? 0) >= min) {
          emu.off('getUpdates', on);
          resolve(call);
        }
      };
      emu.on('getUpdates', on);
    });

  beforeEach(async () => {
    emu = new TelegramEmulator();
    await emu.start();
    emu.addBot({ token: TOKEN, id: 7000001, username: 'shop_bot' });
    dir = await mkdtemp(join(tmpdir(), 'tg-poller-'));
    store = new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080' });
  });
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands messages to the sink in order, with media stored, and confirms only stored updates', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Иван', lastName: 'Петров', username: 'ivan' });
    const photoBytes = randomBytes(5000);
    chat.text('Здравствуйте');
    chat.photo({ bytes: photoBytes, caption: 'фото' });
    chat.text('ещё вопрос');
    const sink = new MemorySink();
    const { p } = poller();
    expect(p.leaseKey).toBe('tg:7000001');
    await p.start(sink);
    const msgs = await sink.waitFor(3);
    expect(msgs.map((m) => [m.kind, m.text])).toEqual([
      ['text', 'Здравствуйте'],
      ['photo', 'фото'],
      ['text', 'ещё вопрос'],
    ]);
    expect(msgs[0].chatId).toBe(`tg:shop_bot:${chat.id}`);
    const media = msgs[1].media[0];
    expect(media.sha256).toBe(createHash('sha256').update(photoBytes).digest('hex'));
    expect(media.size).toBe(photoBytes.length);
    const opened = await store.open(media.id);
    expect((await readFile(opened!.path)).equals(photoBytes)).toBe(true);
    expect(p.state()).toMatchObject({ channel: 'telegram', account: 'shop_bot', state: 'open' });
    // the next poll carries the offset that confirms the stored batch
    const last = Math.max(...emu.stats(TOKEN).getUpdatesCalls.flatMap((c) => c.returned));
    const call = await pollWithOffset(last + 1);
    expect(call.offset).toBe(last + 1);
    expect(emu.stats(TOKEN).pendingUpdates).toBe(0);
  });

  it('does not advance the offset when ingest fails; the same update comes again', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    const sink = new MemorySink();
    sink.failNext = 1;
    const { p, logger } = poller();
    const u = chat.text('важное сообщение');
    await p.start(sink);
    await once(sink, 'failed');
    expect(emu.pending(TOKEN).map((x) => x.update_id)).toEqual([u.update.update_id]);
    await sink.waitFor(1);
    const calls = emu.stats(TOKEN).getUpdatesCalls;
    const delivered = calls.filter((c) => c.returned.includes(u.update.update_id as number));
    expect(delivered.length).toBe(2);
    expect(delivered[1].offset).toBe(delivered[0].offset);
    expect(sink.calls.map((c) => c.map((m) => m.id))).toEqual([[`tg:shop_bot:${chat.id}:1`], [`tg:shop_bot:${chat.id}:1`]]);
    expect(logger.lines.some((l) => l.level === 'error' && /stay unconfirmed/.test(l.msg ?? ''))).toBe(true);
  });

  it('skips a malformed update with a log line and keeps the others flowing', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    chat.text('before');
    const bad1 = emu.pushRawUpdate(TOKEN, { message: 'garbage' });
    const bad2 = emu.pushRawUpdate(TOKEN, { message: { message_id: 99, text: 'no chat' } });
    chat.text('after');
    const sink = new MemorySink();
    const { p, logger } = poller();
    await p.start(sink);
    const msgs = await sink.waitFor(2);
    expect(msgs.map((m) => m.text)).toEqual(['before', 'after']);
    const warned = logger.lines.filter((l) => l.level === 'warn' && /cannot use/.test(l.msg ?? ''));
    expect(warned.map((l) => (l.obj as { updateId: number }).updateId)).toEqual([bad1.update_id, bad2.update_id]);
    expect(JSON.stringify(logger.lines)).not.toContain(TOKEN);
    const last = Math.max(...emu.stats(TOKEN).getUpdatesCalls.flatMap((c) => c.returned));
    await pollWithOffset(last + 1);
    expect(emu.stats(TOKEN).pendingUpdates).toBe(0);
  });

  it('keeps a message whose file is too large, with a note instead of the media', async () => {
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    chat.document({ bytes: randomBytes(4000), fileName: 'big.pdf', caption: 'договор' });
    const sink = new MemorySink();
    const { p } = poller({ maxBytes: 1000 });
    await p.start(sink);
    const [m] = await sink.waitFor(1);
    expect(m.kind).toBe('document');
    expect(m.media).toEqual([]);
    expect(m.text).toMatch(
      /^договор\n\[The document was not stored: The file "big\.pdf" is 3\.9 KB, above the 1000 bytes limit for media\.\]$/,
    );
  });

  it('two pollers on one bot get 409 Conflict, log it and still deliver', async () => {
    const sink = new MemorySink();
    const a = poller();
    const b = poller();
    await a.p.start(sink);
    await b.p.start(sink);
    const chat = emu.chat(TOKEN, { firstName: 'Anna' });
    while (emu.stats(TOKEN).conflictsIssued < 2) await once(emu, 'getUpdates');
    chat.text('hello');
    await sink.waitFor(1);
    expect(emu.stats(TOKEN).conflictsIssued).toBeGreaterThanOrEqual(2);
    const logged = [...a.logger.lines, ...b.logger.lines].filter((l) => l.level === 'warn' && /conflict/i.test(l.msg ?? ''));
    expect(logged.length).toBeGreaterThan(0);
    expect(sink.stored.map((m) => m.text)).toEqual(['hello']);
  });

  it('ends in state error "token rejected" on 401', async () => {
    const { p, logger } = poller({ token: '999:wrong' });
    const errored = new Promise((resolve) =>
      p.on('state', (s: { state: string }) => {
        if (s.state === 'error') resolve(s);
      }),
    );
    await p.start(new MemorySink());
    await errored;
    expect(p.state()).toMatchObject({ state: 'error', lastError: 'token rejected' });
    expect(JSON.stringify(logger.lines)).not.toContain('999:wrong');
  });
});

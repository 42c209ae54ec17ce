/**
 * A TDLib user account's inbound against a scripted double emitting TDLib's real updates: a
 * burst of updateNewMessage after a reconnect is stored in order, a failed ingest is tried
 * again before anything later, a message is marked read (viewMessages) only after it is
 * stored, and a photo is downloaded (downloadFile) into the media store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TdUserRunner } from '../../../src/channels/telegram-user/inbound-runner.ts';
import { FileMediaStore } from '../../../src/media/file-media-store.ts';
import { MemorySink } from '../telegram/helpers.ts';
import { TdlibDouble } from './tdlib-double.ts';

describe('TDLib user account inbound', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tdu-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a burst in order, retries a failed ingest first, marks read only what is stored, downloads files', async () => {
    const td = new TdlibDouble();
    const photoPath = join(dir, 'photo.jpg');
    await writeFile(photoPath, Buffer.alloc(321, 9));
    td.on('downloadFile', (r) => ({
      _: 'file',
      id: r.file_id,
      size: 321,
      local: { _: 'localFile', path: photoPath, is_downloading_completed: true },
      remote: { _: 'remoteFile', id: 'AgAC', unique_id: 'AQADphoto' },
    }));
    const sink = new MemorySink();
    const readAt: number[] = [];
    td.on('viewMessages', () => {
      readAt.push(sink.stored.length);
      return { _: 'ok' };
    });
    const runner = new TdUserRunner({
      account: 'sales',
      open: async () => td,
      mediaStore: new FileMediaStore({ dir: join(dir, 'media'), publicUrl: 'http://127.0.0.1:8080' }),
      backoffMinMs: 5,
    });
    await runner.start(sink);
    td.authState({ _: 'authorizationStateWaitPhoneNumber' });
    expect(runner.state()).toMatchObject({ state: 'pairing', lastError: 'login: wait phone' });
    td.authState({ _: 'authorizationStateReady' });
    expect(runner.state().state).toBe('open');

    td.emit({
      _: 'updateUser',
      user: {
        _: 'user',
        id: 111,
        first_name: 'Иван',
        last_name: 'Петров',
        usernames: { _: 'usernames', editable_username: 'ivan' },
        phone_number: '79991234567',
      },
    });
    td.emit({ _: 'updateNewChat', chat: { _: 'chat', id: 111, type: { _: 'chatTypePrivate', user_id: 111 }, title: 'Иван Петров' } });
    sink.failNext = 1;
    const msg = (id: number, content: object) => ({
      _: 'updateNewMessage',
      message: {
        _: 'message',
        id,
        sender_id: { _: 'messageSenderUser', user_id: 111 },
        chat_id: 111,
        is_outgoing: false,
        date: 1_764_590_400 + id,
        content,
      },
    });
    for (let i = 1; i <= 4; i += 1) td.emit(msg(i << 20, { _: 'messageText', text: { _: 'formattedText', text: `m${i}`, entities: [] } }));
    td.emit(
      msg(5 << 20, {
        _: 'messagePhoto',
        photo: { _: 'photo', sizes: [{ _: 'photoSize', type: 'x', photo: { _: 'file', id: 42, size: 321 }, width: 800, height: 600 }] },
        caption: { _: 'formattedText', text: 'фото', entities: [] },
      }),
    );
    const stored = await sink.waitFor(5);
    expect(stored.map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'фото']);
    expect(stored[0]).toMatchObject({ chatId: 'tgu:sales:111', sender: { name: 'Иван Петров', username: 'ivan', phone: '79991234567' } });
    expect(stored[4].media[0]).toMatchObject({ size: 321, mime: 'image/jpeg' });
    expect(sink.calls[0].map((m) => m.text)).toEqual(['m1']); // the failed first try, then m1 again
    await runner.stop();
    expect(readAt).toEqual([1, 2, 3, 4, 5]);
    expect(td.requests.filter((r) => r._ === 'viewMessages').map((r) => r.message_ids)).toEqual([1, 2, 3, 4, 5].map((i) => [i << 20]));
  });
});

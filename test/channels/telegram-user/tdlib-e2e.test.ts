/**
 * A TDLib user account through the whole connector (the composition root with an injected
 * client factory, Redis real, the 1C emulator): the scripted double emits TDLib's real update
 * objects. Login over the API (phone → code → 2FA password) with the state in
 * GET /api/v1/accounts; a burst of updateNewMessage after a reconnect reaches 1C in order and
 * each message is marked read only after the pipeline stored it; a reply from 1C goes out by
 * sendMessage and its status comes from updateMessageSendSucceeded, then `read` from
 * updateChatReadOutbox; a flood wait is obeyed and shown; updateMessageSendFailed fails the
 * message with a sentence; writing first follows the account's "may write first" setting;
 * the session ending shows as logged_out; when the account opens again, unread messages the dead
 * process never stored are recovered by getChatHistory, each stored in 1C once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorError, OutboundCapable } from '../../../src/core/index.ts';
import { SettingsStore } from '../../../src/settings/settings-store.ts';
import { settingsFeature } from '../../../src/settings/settings-feature.ts';
import { until } from '../../helpers/redis.ts';
import { startOutbound, type OutboundHarness } from '../../outbound/outbound-helpers.ts';
import { TdlibDouble } from './tdlib-double.ts';
import type { TdObject } from '../../../src/channels/telegram-user/tdlib-client.ts';

const CUSTOMER = 111;
const KEY = `tgu:sales:${CUSTOMER}`;
let h: OutboundHarness;
let dir: string;
/** Serves the outbound media fetched by url (OUTBOUND_MEDIA_ALLOW lets the connector reach loopback). */
const PDF = Buffer.from('%PDF-1.4 счёт');
let files: Server;
let filesUrl: string;
const td = new TdlibDouble();
let opened = 0;
/** Message ids TDLib was asked to mark read before the pipeline had confirmed them (must stay empty). */
const readBeforeStored: string[] = [];
const readIds: number[] = [];

const text = (id: number, body: string, chat = CUSTOMER): TdObject => ({
  _: 'updateNewMessage',
  message: {
    _: 'message',
    id,
    sender_id: { _: 'messageSenderUser', user_id: chat },
    chat_id: chat,
    is_outgoing: false,
    date: 1_764_590_400,
    content: { _: 'messageText', text: { _: 'formattedText', text: body, entities: [] } },
  },
});

/** The double answers sendMessage as TDLib does: the pending copy now, the outcome later. */
let nextTemp = 1_000_000;
let sendScript: (req: TdObject, temp: number) => TdObject | null = () => null;
/** The bytes of each input file as TDLib would have read them when sendMessage came. */
const uploaded: Buffer[] = [];
td.on('sendMessage', (req) => {
  const temp = (nextTemp += 1);
  const content = req.input_message_content as Record<string, unknown>;
  for (const v of Object.values(content)) {
    const f = v as { _?: string; path?: string };
    if (f?._ === 'inputFileLocal' && f.path) uploaded.push(existsSync(f.path) ? readFileSync(f.path) : Buffer.alloc(0));
  }
  const refusal = sendScript(req, temp);
  if (refusal?._ === 'error') return refusal;
  const pending = { _: 'message', id: temp, chat_id: req.chat_id, is_outgoing: true, sending_state: { _: 'messageSendingStatePending' } };
  setImmediate(() => {
    // TDLib announces the pending copy as a new message: it must not go to 1C as inbound.
    td.emit({ _: 'updateNewMessage', message: { ...pending, date: 1_764_590_500, content: req.input_message_content } });
    if (refusal) td.emit(refusal);
    else td.emit({ _: 'updateMessageSendSucceeded', old_message_id: temp, message: { ...pending, id: temp * 1024, sending_state: null } });
  });
  return pending;
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tgu-e2e-'));
  files = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF));
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/invoice.pdf`;
  h = await startOutbound({
    env: {
      TELEGRAM_USER_ACCOUNTS: 'sales',
      TELEGRAM_API_ID: '12345',
      TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef',
      TELEGRAM_USER_DB_KEY: 'a-test-key-of-enough-length',
      TELEGRAM_USER_DATA_DIR: join(dir, 'tdlib'),
      OUTBOUND_MEDIA_ALLOW: '127.0.0.1',
    },
    connector: {
      telegramUserClient: async (account) => {
        expect(account).toBe('sales');
        opened += 1;
        // TDLib's first states after the client is created (tdl answers the parameters itself).
        setImmediate(() => {
          td.authState({ _: 'authorizationStateWaitTdlibParameters' });
          td.authState({ _: 'authorizationStateWaitPhoneNumber' });
        });
        return td;
      },
      telegramUserBackoffMs: 10,
    },
    // Account settings decide writing first (the settings feature installs that policy).
    alsoFeatures: [settingsFeature()],
  });
}, 60_000);
afterAll(async () => {
  await h?.stop();
  await new Promise<void>((r) => files?.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

const account = async () => {
  const r = await h.api('GET', '/api/v1/accounts');
  return (r.json.accounts as { account: string; state: string; lastError: string | null }[]).find((a) => a.account === 'tgu:sales');
};

describe('a TDLib user account through the connector', () => {
  it('logs in over the API: phone → code → 2FA password, with the state in GET /api/v1/accounts', async () => {
    td.on('setAuthenticationPhoneNumber', () => {
      setImmediate(() =>
        td.authState({
          _: 'authorizationStateWaitCode',
          code_info: {
            _: 'authenticationCodeInfo',
            phone_number: '+79991234567',
            type: { _: 'authenticationCodeTypeTelegramMessage', length: 5 },
            timeout: 0,
          },
        }),
      );
      return { _: 'ok' };
    });
    td.on('checkAuthenticationCode', (r) => {
      if (r.code !== '12345') return { _: 'error', code: 400, message: 'PHONE_CODE_INVALID' };
      setImmediate(() => td.authState({ _: 'authorizationStateWaitPassword', password_hint: 'кот', has_recovery_email_address: false }));
      return { _: 'ok' };
    });
    td.on('checkAuthenticationPassword', () => {
      setImmediate(() => td.authState({ _: 'authorizationStateReady' }));
      return { _: 'ok' };
    });

    await until(async () => (await account())?.state === 'pairing', { what: 'the account waiting for its login' });
    expect(opened).toBe(1);
    // A fresh data dir: the state says why a phone is asked for (takeover without shared storage).
    expect((await account())?.lastError).toMatch(/^login: wait phone \(this host has no TDLib database of the account/);
    expect((await h.api('GET', '/api/v1/telegram/sales/login')).json).toMatchObject({ step: 'wait_phone' });

    const early = await h.api('POST', '/api/v1/telegram/sales/login', { code: '12345' });
    expect([early.status, early.json.error]).toEqual([
      409,
      { code: 'login_out_of_turn', message: 'A code is not expected now: TDLib waits for the phone.' },
    ]);
    const two = await h.api('POST', '/api/v1/telegram/sales/login', { phone: '+79991234567', code: '1' });
    expect(two.status).toBe(400);
    const unknown = await h.api('POST', '/api/v1/telegram/nobody/login', { phone: '+79991234567' });
    expect([unknown.status, (unknown.json.error as { code: string }).code]).toEqual([404, 'account_not_found']);
    const noAuth = await h.api('POST', '/api/v1/telegram/sales/login', { phone: '+79991234567' }, { auth: false });
    expect(noAuth.status).toBe(401);

    const phone = await h.api('POST', '/api/v1/telegram/sales/login', { phone: '+79991234567' });
    expect(phone.json).toEqual({ account: 'sales', step: 'wait_code', codeSentTo: '+79991234567', passwordHint: null });
    expect((await account())?.lastError).toBe('login: wait code');
    const wrong = await h.api('POST', '/api/v1/telegram/sales/login', { code: '00000' });
    expect([wrong.status, wrong.json.error]).toEqual([400, { code: 'invalid_code', message: 'The login code is wrong.' }]);
    expect((await h.api('POST', '/api/v1/telegram/sales/login', { code: '12345' })).json).toMatchObject({
      step: 'wait_password',
      passwordHint: 'кот',
    });
    expect((await h.api('POST', '/api/v1/telegram/sales/login', { password: 'secret' })).json).toMatchObject({ step: 'ready' });
    expect(await account()).toMatchObject({ state: 'open', lastError: null });
  });

  it('a burst after a reconnect reaches 1C in order, each marked read only after it was stored', async () => {
    // The pipeline's ingest, observed: what it confirmed (stored in Redis) so far.
    const pipeline = h.connector.ctx.inbound;
    const ingest = pipeline.ingest.bind(pipeline);
    const confirmed = new Set<string>();
    pipeline.ingest = async (messages) => {
      const r = await ingest(messages);
      for (const m of messages) confirmed.add(m.id);
      return r;
    };
    td.on('viewMessages', (r) => {
      for (const id of r.message_ids as number[]) {
        readIds.push(id);
        const key = `tgu:sales:${String(r.chat_id)}:${id}`;
        if (!confirmed.has(key)) readBeforeStored.push(key);
      }
      return { _: 'ok' };
    });
    const photoPath = join(dir, 'photo.jpg');
    await writeFile(photoPath, Buffer.alloc(256, 7));
    td.on('downloadFile', (r) => ({
      _: 'file',
      id: r.file_id,
      size: 256,
      local: { _: 'localFile', path: photoPath, is_downloading_completed: true },
      remote: { _: 'remoteFile', id: 'AgAC', unique_id: 'AQADe2e' },
    }));
    td.emit({ _: 'updateUser', user: { _: 'user', id: CUSTOMER, first_name: 'Иван', last_name: '', phone_number: '79990001122' } });
    td.emit({ _: 'updateNewChat', chat: { _: 'chat', id: CUSTOMER, type: { _: 'chatTypePrivate', user_id: CUSTOMER }, title: 'Иван' } });
    // The connection dropped and came back: TDLib delivers what was missed, in order, at once.
    td.emit({ _: 'updateConnectionState', state: { _: 'connectionStateConnecting' } });
    td.emit({ _: 'updateConnectionState', state: { _: 'connectionStateReady' } });
    for (let i = 1; i <= 6; i += 1) td.emit(text(i << 20, `m${i}`));
    td.emit({
      _: 'updateNewMessage',
      message: {
        _: 'message',
        id: 7 << 20,
        sender_id: { _: 'messageSenderUser', user_id: CUSTOMER },
        chat_id: CUSTOMER,
        is_outgoing: false,
        date: 1_764_590_460,
        content: {
          _: 'messagePhoto',
          photo: { _: 'photo', sizes: [{ _: 'photoSize', type: 'x', photo: { _: 'file', id: 77, size: 256 }, width: 10, height: 10 }] },
          caption: { _: 'formattedText', text: 'фото', entities: [] },
        },
      },
    });
    const stored = await until(() => {
      const list = h.stack.onec.state().messages.byChat[KEY] ?? [];
      return list.length === 7 ? list : null;
    });
    expect(stored.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `${KEY}:${i << 20}`));
    expect(stored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(h.stack.onec.storedMessage(`${KEY}:${1 << 20}`)).toMatchObject({
      channel: 'telegram',
      account: 'sales',
      text: 'm1',
      sender: { id: `tg:${CUSTOMER}`, name: 'Иван', phone: '79990001122' },
    });
    expect(h.stack.onec.storedMessage(`${KEY}:${7 << 20}`)).toMatchObject({ kind: 'photo', text: 'фото', media: [{ size: 256 }] });
    await until(() => readIds.length === 7, { what: 'every message marked read' });
    expect(readIds).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => i << 20));
    expect(readBeforeStored).toEqual([]);
  });

  it('an edit reaches 1C as kind edit, a permanent deletion as kind delete, each with its target', async () => {
    const edited = text(2 << 20, 'm2, исправлено').message as TdObject;
    td.on('getMessage', (r) => ({ ...edited, id: r.message_id, chat_id: r.chat_id, edit_date: 1_764_590_999 }));
    td.emit({
      _: 'updateMessageContent',
      chat_id: CUSTOMER,
      message_id: 2 << 20,
      new_content: edited.content,
    });
    td.emit({ _: 'updateMessageEdited', chat_id: CUSTOMER, message_id: 2 << 20, edit_date: 1_764_590_999, reply_markup: null });
    const id = `${KEY}:${2 << 20}:edit:1764590999`;
    await until(() => h.stack.onec.storedMessage(id), { what: 'the edit in 1C' });
    expect(h.stack.onec.storedMessage(id)).toMatchObject({ kind: 'edit', text: 'm2, исправлено', target: `${KEY}:${2 << 20}`, seq: 8 });
    expect(readIds).toHaveLength(7); // an edit is not marked read again

    // A deletion TDLib only made in its cache is not one; a permanent one is.
    td.emit({ _: 'updateDeleteMessages', chat_id: CUSTOMER, message_ids: [3 << 20], is_permanent: false, from_cache: true });
    td.emit({ _: 'updateDeleteMessages', chat_id: CUSTOMER, message_ids: [4 << 20], is_permanent: true, from_cache: false });
    const del = `${KEY}:${4 << 20}:delete`;
    await until(() => h.stack.onec.storedMessage(del), { what: 'the deletion in 1C' });
    expect(h.stack.onec.storedMessage(del)).toMatchObject({ kind: 'delete', target: `${KEY}:${4 << 20}`, seq: 9 });
    expect(h.stack.onec.storedMessage(`${KEY}:${3 << 20}:delete`)).toBeUndefined();
  });

  it('a reply from 1C goes out by sendMessage: sent from the outcome, read from updateChatReadOutbox; not echoed back', async () => {
    const r = await h.api('POST', '/api/v1/messages', { id: 'tgu-1', chatId: KEY, text: 'Здравствуйте!', replyTo: `${KEY}:${1 << 20}` });
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    const sent = await h.statusOf('tgu-1', ['sent']);
    const req = td.requests.filter((x) => x._ === 'sendMessage').at(-1) as TdObject;
    expect(req).toMatchObject({
      chat_id: CUSTOMER,
      reply_to: { _: 'inputMessageReplyToMessage', message_id: 1 << 20 },
      input_message_content: { _: 'inputMessageText', text: { text: 'Здравствуйте!' } },
    });
    const finalId = nextTemp * 1024;
    expect(sent.nativeIds).toEqual([`${KEY}:${finalId}`]);
    td.emit({ _: 'updateChatReadOutbox', chat_id: CUSTOMER, last_read_outbox_message_id: finalId });
    await until(() => h.onecStatuses('tgu-1').includes('read'), { what: 'read in 1C' });
    expect(h.onecStatuses('tgu-1')).toEqual(['sent', 'read']);
    // The pending copy TDLib announced as a new message did not reach 1C as inbound.
    expect(h.stack.onec.state().messages.byChat[KEY]).toHaveLength(9);
  });

  it('media go out as TDLib input files: stored items where they are, a url spooled, the text as caption', async () => {
    const stored = h.stack.onec.storedMessage(`${KEY}:${7 << 20}`) as { media: { id: string }[] };
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
    const before = td.requests.length;
    const r = await h.api('POST', '/api/v1/messages', {
      id: 'tgu-media',
      chatId: KEY,
      text: 'Вот счёт и фото',
      media: [
        { base64: png.toString('base64'), mime: 'image/png', fileName: 'photo.png' },
        { mediaId: stored.media[0].id, kind: 'document', fileName: 'back.jpg' },
        { url: filesUrl, fileName: 'Счёт 17.pdf' },
      ],
    });
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    const view = await h.statusOf('tgu-media', ['sent']);
    expect(view.nativeIds).toHaveLength(3);
    const sends = td.requests.slice(before).filter((x) => x._ === 'sendMessage');
    expect(sends.map((x) => (x.input_message_content as { _: string })._)).toEqual([
      'inputMessagePhoto',
      'inputMessageDocument',
      'inputMessageDocument',
    ]);
    expect(sends[0].input_message_content).toMatchObject({ caption: { text: 'Вот счёт и фото' }, photo: { _: 'inputFileLocal' } });
    expect(uploaded.slice(-3)).toEqual([png, Buffer.alloc(256, 7), PDF]);
    // The fetched file is spooled under its name (TDLib names the document after it), removed after the outcome.
    const spooled = (sends[2].input_message_content as { document: { path: string } }).document.path;
    expect(spooled.startsWith(join(dir, 'tdlib', 'sales', 'outbox'))).toBe(true);
    expect(spooled.endsWith('/Счёт 17.pdf')).toBe(true);
    expect(existsSync(spooled)).toBe(false);
  });

  it('a flood wait is obeyed and shown on the account; a later send failure fails the message with a sentence', async () => {
    const tries: number[] = [];
    sendScript = () => {
      tries.push(Date.now());
      return tries.length === 1 ? { _: 'error', code: 429, message: 'Too Many Requests: retry after 1' } : null;
    };
    await h.api('POST', '/api/v1/messages', { id: 'tgu-2', chatId: KEY, text: 'Ещё одно' });
    await until(async () => /wait 1 s before sending more/.test((await account())?.lastError ?? ''), { what: 'the flood wait shown' });
    await h.statusOf('tgu-2', ['sent']);
    expect(tries).toHaveLength(2);
    expect(tries[1] - tries[0]).toBeGreaterThanOrEqual(950);

    sendScript = (_req, temp) => ({
      _: 'updateMessageSendFailed',
      old_message_id: temp,
      message: { _: 'message', id: temp },
      error: { _: 'error', code: 400, message: 'USER_IS_BLOCKED' },
      error_code: 400,
    });
    await h.api('POST', '/api/v1/messages', { id: 'tgu-3', chatId: KEY, text: 'Вы здесь?' });
    expect(await h.statusOf('tgu-3', ['failed'])).toMatchObject({
      errorCode: 'telegram_blocked',
      error: 'The customer blocked this account.',
    });
    sendScript = () => null;
  });

  it('writing first follows the account’s "may write first" setting', async () => {
    const sender = h.connector.ctx.channels.find((c) => c.channel === 'telegram') as unknown as OutboundCapable;
    const first = {
      id: 'tgu-first',
      chatId: 'tgu:sales:999',
      text: 'Добрый день',
      media: [],
      replyTo: null,
      operatorId: null,
      createdAt: '',
    };
    const e = (await sender.send(first).catch((x: unknown) => x)) as ConnectorError;
    expect([e.code, e.retryable]).toEqual(['telegram_first_contact_refused', false]);
    expect(td.requests.filter((r) => r._ === 'sendMessage' && r.chat_id === 999)).toHaveLength(0);
    await new SettingsStore({ redis: h.connector.ctx.redis, prefix: h.stack.config.queuePrefix }).put('account', 'sales', {
      mayWriteFirst: true,
    });
    expect((await sender.send(first)).nativeIds).toHaveLength(1);
    // The bots are still served by the same sender.
    const { key } = await h.customer('Пётр');
    await h.api('POST', '/api/v1/messages', { id: 'bot-1', chatId: key, text: 'to the bot chat' });
    await h.statusOf('bot-1', ['sent']);
  });

  it('the session ending shows as logged_out, sends wait, and a closed TDLib is replaced by a new one for the next login', async () => {
    td.authState({ _: 'authorizationStateLoggingOut' });
    expect(await account()).toMatchObject({ state: 'logged_out', lastError: 'the session ended; log in again' });
    const sender = h.connector.ctx.channels.find((c) => c.channel === 'telegram') as unknown as OutboundCapable;
    const e = (await sender
      .send({ id: 'tgu-4', chatId: KEY, text: 'x', media: [], replyTo: null, operatorId: null, createdAt: '' })
      .catch((x: unknown) => x)) as ConnectorError;
    expect([e.code, e.retryable]).toEqual(['telegram_user_not_connected', true]);
    // TDLib closes the instance: a new one is opened, waiting for a login again (no restart needed).
    td.authState({ _: 'authorizationStateClosed' });
    await until(() => opened === 2, { what: 'a new TDLib session' });
    await until(async () => (await account())?.state === 'pairing', { what: 'the account waiting for a new login' });
    expect((await h.api('GET', '/api/v1/telegram/sales/login')).json).toMatchObject({ step: 'wait_phone' });
  });

  it('when the account opens again (as after a restart), the catch-up brings what a dead process never stored to 1C, once each, in order', async () => {
    const chat = 222;
    const key = `tgu:sales:${chat}`;
    const now = Math.floor(Date.now() / 1000);
    const m = (n: number, body: string): TdObject => ({ ...(text(n << 20, body, chat).message as TdObject), date: now - 10 + n });
    td.emit({ _: 'updateUser', user: { _: 'user', id: chat, first_name: 'Анна', last_name: '', phone_number: '' } });
    td.addChat({ _: 'chat', id: chat, type: { _: 'chatTypePrivate', user_id: chat }, title: 'Анна' });
    // m1 was stored, but the process died before TDLib marked it read (the read does not reach the chat).
    td.deliver(m(1, 'r1'));
    await until(() => h.stack.onec.storedMessage(`${key}:${1 << 20}`), { what: 'r1 in 1C' });
    // m2, m3: delivered to the process that died before storing them; TDLib will not send them again.
    td.deliver(m(2, 'r2'), false);
    td.deliver(m(3, 'r3'), false);
    // r4 arrives live while the catch-up reads the history: both ways, one message.
    let once = true;
    td.tap = (r) => {
      if (r._ === 'getChatHistory' && once) {
        once = false;
        td.deliver(m(4, 'r4'));
      }
    };
    td.authState({ _: 'authorizationStateReady' });
    const stored = await until(() => {
      const list = h.stack.onec.state().messages.byChat[key] ?? [];
      return list.length >= 4 ? list : null;
    });
    td.tap = null;
    expect(stored.map((x) => x.id)).toEqual([1, 2, 3, 4].map((n) => `${key}:${n << 20}`));
    expect(stored.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(h.stack.onec.storedMessage(`${key}:${3 << 20}`)).toMatchObject({ text: 'r3', sender: { name: 'Анна' } });
    await until(() => readIds.includes(4 << 20) && readIds.filter((x) => x === 4 << 20).length >= 2, { what: 'r4 marked read' });
    expect(readBeforeStored).toEqual([]);
    expect((h.stack.onec.state().messages.byChat[key] ?? []).length).toBe(4);
  });
});

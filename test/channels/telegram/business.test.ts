/**
 * Telegram Business end to end through real grammY and the emulated Bot API: connection
 * updates become accounts, business messages land in `tgb:` chats (two chats for a customer
 * who also writes to the bot), the owner's own messages are `outgoing`, edits and deletions
 * carry their targets, replies go through `business_connection_id`, and a disconnected or
 * read-only connection fails outbound with a sentence while nothing already arrived is lost.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Bot, GrammyError } from 'grammy';
import { createTelegramConnector, type TelegramConnector } from '../../../src/channels/telegram/telegram-connector.ts';
import { RedisBusinessConnectionStore } from '../../../src/channels/telegram/inbound-business-connections.ts';
import { ALLOWED_UPDATES } from '../../../src/channels/telegram/inbound-poller.ts';
import { classifyTelegramError } from '../../../src/channels/telegram/outbound-errors.ts';
import { ConnectorError, parseChatKey, type OutboundMessage } from '../../../src/core/index.ts';
import { FileMediaStore } from '../../../src/media/file-media-store.ts';
import { TelegramEmulator } from '../../../src/emulators/telegram/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../../helpers/redis.ts';
import { MemorySink } from './helpers.ts';

const TOKEN = '6200001:AAH-business';
const BOT = 'biz_bot';

describe('Telegram Business through the Bot API', () => {
  let emu: TelegramEmulator;
  let dir: string;
  let redis: Redis;
  let prefix: string;
  const connectors: TelegramConnector[] = [];
  const connector = () => {
    const tg = createTelegramConnector({
      tokens: [TOKEN],
      apiRoot: emu.apiRoot,
      mediaStore: new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080' }),
      pollTimeoutS: 5,
      backoffMinMs: 10,
      backoffMaxMs: 40,
      businessStore: new RedisBusinessConnectionStore(redis, prefix),
    });
    connectors.push(tg);
    return tg;
  };
  const out = (chatId: string, text: string): OutboundMessage => ({
    id: `out-${Math.random()}`,
    chatId,
    text,
    media: [],
    replyTo: null,
    operatorId: null,
    createdAt: new Date().toISOString(),
  });

  beforeEach(async () => {
    emu = new TelegramEmulator();
    await emu.start();
    emu.addBot({ token: TOKEN, id: 6200001, username: BOT });
    dir = await mkdtemp(join(tmpdir(), 'tg-biz-'));
    redis = newRedis();
    prefix = `${uniquePrefix('tgbiz')}:`;
  });
  afterEach(async () => {
    await Promise.all(connectors.splice(0).flatMap((c) => c.runners().map((r) => r.stop())));
    await emu.stop();
    redis.disconnect();
    await cleanupPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it('asks Telegram for business updates, keeps two chats per customer, marks the owner’s messages and carries targets', async () => {
    const owner = emu.user({ firstName: 'Анна', lastName: 'Владелец' });
    const biz = emu.connectBusiness(TOKEN, owner);
    const customer = emu.user({ firstName: 'Пётр', username: 'petr' });
    const bizChat = biz.customer(customer);
    const botChat = emu.chat(TOKEN, customer);
    const first = bizChat.text('Здравствуйте, есть в наличии?');
    botChat.text('А это боту');
    bizChat.text('Да, есть', { fromOwner: true });
    bizChat.edit(first.messageId, 'Здравствуйте, есть ли в наличии?');
    bizChat.delete([first.messageId]);

    const tg = connector();
    const sink = new MemorySink();
    await tg.runners()[0].start(sink);
    const msgs = await sink.waitFor(5);
    expect(ALLOWED_UPDATES).toEqual(
      expect.arrayContaining(['business_connection', 'business_message', 'edited_business_message', 'deleted_business_messages']),
    );

    const bizKey = `tgb:${BOT}:${owner.id}:${customer.id}`;
    expect(msgs.map((m) => [m.chatId, m.kind, m.text, m.outgoing ?? false])).toEqual([
      [bizKey, 'text', 'Здравствуйте, есть в наличии?', false],
      [`tg:${BOT}:${customer.id}`, 'text', 'А это боту', false],
      [bizKey, 'text', 'Да, есть', true],
      [bizKey, 'edit', 'Здравствуйте, есть ли в наличии?', false],
      [bizKey, 'delete', null, false],
    ]);
    expect(msgs[0].id).toBe(`${bizKey}:${first.messageId}`);
    expect(msgs[3].target).toBe(msgs[0].id);
    expect(msgs[4].target).toBe(msgs[0].id);
    expect(msgs[0].account).toBe(BOT);
    expect(parseChatKey(bizKey)).toEqual({ channel: 'telegram', account: BOT, native: `${owner.id}:${customer.id}` });
    // Everything was confirmed only after it was stored.
    await until(() => emu.stats(TOKEN).pendingUpdates === 0, { what: 'the batch confirmed' });

    expect(await tg.businessAccounts()).toEqual([
      expect.objectContaining({ channel: 'telegram', account: `${BOT}:${owner.id}`, state: 'open', lastError: null }),
    ]);

    // A reply goes back through the connection, into the business chat, not the bot's chat.
    const r = await tg.send(out(bizKey, 'Ждём вас!'));
    const sent = emu.sent(TOKEN);
    expect(sent).toHaveLength(1);
    expect(sent[0].chatId).toBe(customer.id);
    expect(sent[0].message.business_connection_id).toBe(biz.id);
    expect(r.nativeIds[0]).toMatch(new RegExp(`^${bizKey}:\\d+$`));
  });

  it('a disconnected or read-only connection fails outbound with a sentence; what arrived before is kept', async () => {
    const owner = emu.user({ firstName: 'Борис' });
    const biz = emu.connectBusiness(TOKEN, owner);
    const chat = biz.customer(emu.user({ firstName: 'Клиент' }));
    chat.text('до отключения');
    const tg = connector();
    const sink = new MemorySink();
    await tg.runners()[0].start(sink);
    await sink.waitFor(1);
    const key = `tgb:${BOT}:${owner.id}:${chat.id}`;

    biz.setCanReply(false);
    await until(async () => (await tg.businessAccounts())[0]?.lastError, { what: 'rights change stored' });
    const ro = await tg.send(out(key, 'ответ')).catch((e: unknown) => e);
    expect(ro).toBeInstanceOf(ConnectorError);
    expect((ro as ConnectorError).code).toBe('telegram_business_no_reply_right');
    expect((ro as ConnectorError).retryable).toBe(false);
    expect((ro as ConnectorError).message).toMatch(/does not let the bot @biz_bot reply/);

    biz.setEnabled(false);
    await until(async () => (await tg.businessAccounts())[0]?.state === 'stopped', { what: 'disconnect stored' });
    chat.text('после отключения'); // Telegram delivers nothing of a connection that is off
    const off = await tg.send(out(key, 'ответ')).catch((e: unknown) => e);
    expect((off as ConnectorError).code).toBe('telegram_business_disconnected');
    expect((off as ConnectorError).message).toMatch(/disconnected the bot @biz_bot/);
    expect(emu.sent(TOKEN)).toHaveLength(0);
    expect(sink.stored.map((m) => m.text)).toEqual(['до отключения']);
    expect((await tg.businessAccounts())[0]).toMatchObject({ account: `${BOT}:${owner.id}`, state: 'stopped' });

    // A chat of a business account that never connected: refused, not retried.
    const unknown = await tg.send(out(`tgb:${BOT}:42:43`, 'x')).catch((e: unknown) => e);
    expect((unknown as ConnectorError).code).toBe('telegram_business_unknown');
  });

  it('the emulator refuses sends through a disabled or read-only connection the way Telegram does', async () => {
    const owner = emu.user({ firstName: 'Вера' });
    const biz = emu.connectBusiness(TOKEN, owner, { canReply: false });
    const chat = biz.customer(emu.user({ firstName: 'Гость' }));
    const api = new Bot(TOKEN, { client: { apiRoot: emu.apiRoot } }).api;
    const ro = await api.sendMessage(chat.id, 'x', { business_connection_id: biz.id }).catch((e: unknown) => e);
    expect(ro).toBeInstanceOf(GrammyError);
    expect((classifyTelegramError(ro) as ConnectorError).code).toBe('telegram_business_refused');
    biz.setEnabled(false);
    const off = (await api.sendMessage(chat.id, 'x', { business_connection_id: biz.id }).catch((e: unknown) => e)) as GrammyError;
    expect(off.description).toBe('Bad Request: BUSINESS_CONNECTION_INVALID');
  });

  it('a failed ingest leaves the business batch unconfirmed; a fresh instance learns the owner from Redis or getBusinessConnection', async () => {
    const owner = emu.user({ firstName: 'Галина' });
    const biz = emu.connectBusiness(TOKEN, owner);
    const chat = biz.customer(emu.user({ firstName: 'Дмитрий' }));
    for (let i = 1; i <= 3; i += 1) chat.text(`m${i}`);
    const sink = new MemorySink();
    sink.failNext = 1;
    const tg = connector();
    await tg.runners()[0].start(sink);
    const msgs = await sink.waitFor(3);
    expect(sink.calls.length).toBeGreaterThanOrEqual(2); // the first ingest failed, the batch came again
    expect(msgs.map((m) => m.text)).toEqual(['m1', 'm2', 'm3']);
    await tg.runners()[0].stop();

    // Another instance: nothing cached, the connection is in Redis.
    chat.text('m4');
    const tg2 = connector();
    const sink2 = new MemorySink();
    await tg2.runners()[0].start(sink2);
    expect((await sink2.waitFor(1))[0]).toMatchObject({ chatId: `tgb:${BOT}:${owner.id}:${chat.id}`, text: 'm4' });
    await tg2.runners()[0].stop();

    // The store lost it (a new Redis): the owner is asked of Telegram.
    await cleanupPrefix(prefix);
    chat.text('m5');
    const tg3 = connector();
    const sink3 = new MemorySink();
    await tg3.runners()[0].start(sink3);
    expect((await sink3.waitFor(1))[0]).toMatchObject({ chatId: `tgb:${BOT}:${owner.id}:${chat.id}`, text: 'm5' });
    expect(emu.stats(TOKEN).calls.getBusinessConnection).toBe(1);
  });
  it('webhook mode: asks for business updates, stores the connection before answering 200, files the message under tgb:', async () => {
    const tg = createTelegramConnector({
      tokens: [TOKEN],
      apiRoot: emu.apiRoot,
      mode: 'webhook',
      // Updates are handed to handleWebhook below; nothing is queued for the emulator to deliver.
      webhookUrl: 'http://127.0.0.1:9',
      webhookSecret: 'hook_secret',
      mediaStore: new FileMediaStore({ dir, publicUrl: 'http://127.0.0.1:8080' }),
      backoffMinMs: 10,
      businessStore: new RedisBusinessConnectionStore(redis, prefix),
    });
    connectors.push(tg);
    const sink = new MemorySink();
    await tg.runners()[0].start(sink);
    await until(() => tg.runners()[0].state().state === 'open', { what: 'webhook set' });
    expect(emu.webhookInfo(TOKEN).allowed_updates).toEqual(expect.arrayContaining(['business_message', 'deleted_business_messages']));
    const owner = { id: 555, is_bot: false, first_name: 'Ирина' };
    const chat = { id: 777, type: 'private', first_name: 'Клиент' };
    const connection = { id: 'bc-1', user: owner, user_chat_id: 555, date: 1, rights: { can_reply: true }, is_enabled: true };
    expect(await tg.handleWebhook(BOT, 'hook_secret', { update_id: 1, business_connection: connection })).toEqual({ status: 200 });
    const msg = { message_id: 9, from: owner, chat, date: 2, business_connection_id: 'bc-1', text: 'от владельца' };
    expect(await tg.handleWebhook(BOT, 'hook_secret', { update_id: 2, business_message: msg })).toEqual({ status: 200 });
    expect(sink.stored).toEqual([expect.objectContaining({ chatId: `tgb:${BOT}:555:777`, text: 'от владельца', outgoing: true })]);
    expect((await tg.businessAccounts())[0]).toMatchObject({ account: `${BOT}:555`, state: 'open' });
  });
});

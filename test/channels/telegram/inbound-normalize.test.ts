import { describe, expect, it } from 'vitest';
import { normalizeUpdate, type NormalizeResult } from '../../../src/channels/telegram/inbound-normalize.ts';
import { TelegramEmulator, type TgObject } from '../../../src/emulators/telegram/index.ts';
import { SERVICE_TEXTS, type NewInboundMessage, type ServiceTexts } from '../../../src/core/index.ts';

const TOKEN = '5550001:AAH-norm';
const now = new Date('2026-11-28T10:00:00.120Z');
const date = Date.parse('2026-11-28T10:00:00.000Z') / 1000;

function setup() {
  const emu = new TelegramEmulator();
  emu.addBot({ token: TOKEN, id: 5550001, username: 'acme_bot' });
  const ivan = emu.user({ id: 123456789, firstName: 'Иван', lastName: 'Петров', username: 'ivan' });
  const chat = emu.chat(TOKEN, ivan);
  return { emu, ivan, chat };
}

function one(update: TgObject, texts?: ServiceTexts): NewInboundMessage {
  const r = normalizeUpdate(update, { account: 'acme_bot', now, texts });
  if (!('ok' in r)) throw new Error(`malformed: ${r.malformed}`);
  expect(r.ok).toHaveLength(1);
  return r.ok[0];
}
function result(update: unknown): NormalizeResult {
  return normalizeUpdate(update, { account: 'acme_bot', now });
}

describe('normalizeUpdate', () => {
  it('normalizes a private text message as the spec example shows', () => {
    const { chat } = setup();
    const u = chat.text('Hello https://example.com @someone', { date });
    expect(one(u.update)).toEqual({
      id: 'tg:acme_bot:123456789:1',
      chatId: 'tg:acme_bot:123456789',
      channel: 'telegram',
      account: 'acme_bot',
      chat: { type: 'private', title: 'Иван Петров' },
      sender: { id: 'tg:123456789', name: 'Иван Петров', username: 'ivan', phone: null },
      kind: 'text',
      text: 'Hello https://example.com @someone',
      media: [],
      replyTo: null,
      target: null,
      sentAt: '2026-11-28T10:00:00.000Z',
      receivedAt: '2026-11-28T10:00:00.120Z',
    });
    expect((u.message.entities as unknown[]).length).toBe(2);
  });

  it('takes the largest PhotoSize, the caption as text, and reports the file to download', () => {
    const { chat } = setup();
    const u = chat.photo({ caption: 'Вот фото 📷' });
    const r = result(u.update);
    if (!('ok' in r)) throw new Error(r.malformed);
    expect(r.ok[0]).toMatchObject({ kind: 'photo', text: 'Вот фото 📷', media: [] });
    const sizes = u.message.photo as Array<{ file_id: string; file_unique_id: string; file_size: number }>;
    expect(sizes.length).toBeGreaterThan(2);
    expect(r.media).toEqual([
      {
        messageId: r.ok[0].id,
        fileId: sizes[sizes.length - 1].file_id,
        fileUniqueId: sizes[sizes.length - 1].file_unique_id,
        mime: 'image/jpeg',
        fileName: null,
        size: sizes[sizes.length - 1].file_size,
      },
    ]);
  });

  it.each([
    ['video', 'video', 'video/mp4'],
    ['voice', 'voice', 'audio/ogg'],
    ['audio', 'audio', 'audio/mpeg'],
    ['document', 'document', 'application/pdf'],
    ['sticker', 'sticker', 'image/webp'],
  ] as const)('normalizes %s with its file', (method, kind, mime) => {
    const { chat } = setup();
    const u = chat[method]({ fileName: method === 'document' ? 'счёт №1.pdf' : undefined });
    const r = result(u.update);
    if (!('ok' in r)) throw new Error(r.malformed);
    expect(r.ok[0].kind).toBe(kind);
    expect(r.media[0].mime).toBe(mime);
    if (method === 'document') expect(r.media[0].fileName).toBe('счёт №1.pdf');
    if (method === 'sticker') expect(r.ok[0].text).toBe('😀');
  });

  it('normalizes location, venue, contact and poll', () => {
    const { chat } = setup();
    expect(one(chat.location(55.75, 37.62).update)).toMatchObject({ kind: 'location', location: { lat: 55.75, lon: 37.62, name: null } });
    expect(one(chat.venue(55.75, 37.62, 'ГУМ', 'Красная пл., 3').update)).toMatchObject({
      kind: 'location',
      location: { name: 'ГУМ, Красная пл., 3' },
    });
    expect(one(chat.contact('+79991234567', 'Мария', { lastName: 'Иванова' }).update)).toMatchObject({
      kind: 'contact',
      contact: { name: 'Мария Иванова', phone: '+79991234567' },
    });
    expect(one(chat.poll('Когда удобно?', ['Утром', 'Вечером']).update)).toMatchObject({
      kind: 'poll',
      text: 'Когда удобно?',
      poll: { question: 'Когда удобно?', options: ['Утром', 'Вечером'] },
    });
  });

  it('maps replies and keeps forwarded text', () => {
    const { chat, emu } = setup();
    const first = chat.text('first');
    const reply = one(chat.text('answer', { replyTo: first.messageId }).update);
    expect(reply.replyTo).toBe('tg:acme_bot:123456789:1');
    const fwd = one(chat.text('forwarded', { forwardedFrom: emu.user({ firstName: 'Ольга' }) }).update);
    expect(fwd).toMatchObject({ kind: 'text', text: 'forwarded', replyTo: null });
  });

  it('names group chats by title with negative ids, and senders with emoji names', () => {
    const { emu } = setup();
    const star = emu.user({ firstName: '🌟 Звезда', username: 'star' });
    const grp = emu.group(TOKEN, { title: 'Отдел продаж 🚀', supergroup: true, members: [star] });
    const m = one(grp.text('всем привет').update);
    expect(grp.id).toBeLessThan(0);
    expect(m.chatId).toBe(`tg:acme_bot:${grp.id}`);
    expect(m.id).toBe(`tg:acme_bot:${grp.id}:1`);
    expect(m.chat).toEqual({ type: 'group', title: 'Отдел продаж 🚀' });
    expect(m.sender).toEqual({ id: `tg:${star.id}`, name: '🌟 Звезда', username: 'star', phone: null });
  });

  it('gives each album item its own message with the caption on the first', () => {
    const { chat } = setup();
    const items = chat.album([undefined, undefined, undefined], { caption: 'Альбом' });
    const msgs = items.map((i) => one(i.update));
    expect(msgs.map((m) => m.id)).toEqual(['tg:acme_bot:123456789:1', 'tg:acme_bot:123456789:2', 'tg:acme_bot:123456789:3']);
    expect(msgs.map((m) => m.text)).toEqual(['Альбом', null, null]);
    expect(new Set(items.map((i) => i.message.media_group_id)).size).toBe(1);
  });

  it('turns edited_message into an edit targeting the original, one id per edit', () => {
    const { chat } = setup();
    const orig = chat.text('typo');
    const e1 = one(chat.edit(orig.messageId, 'fixed', { editDate: date + 5 }).update);
    const e2 = one(chat.edit(orig.messageId, 'fixed again', { editDate: date + 9 }).update);
    expect(e1).toMatchObject({
      kind: 'edit',
      id: `tg:acme_bot:123456789:1:edit:${date + 5}`,
      target: 'tg:acme_bot:123456789:1',
      text: 'fixed',
    });
    expect(e2.id).not.toBe(e1.id);
    expect(one(chat.edit(orig.messageId, 'fixed', { editDate: date + 5 }).update).id).toBe(e1.id);
  });

  it('turns message_reaction into a reaction with the new emojis', () => {
    const { chat, ivan } = setup();
    const m = chat.text('hi');
    const r = one(chat.react(m.messageId, ['👍', '🔥'], { date }).update);
    expect(r).toMatchObject({
      kind: 'reaction',
      text: '👍🔥',
      target: 'tg:acme_bot:123456789:1',
      id: `tg:acme_bot:123456789:1:reaction:${date}:${ivan.id}`,
    });
    expect(one(chat.react(m.messageId, [], { date: date + 1, old: ['👍'] }).update).text).toBeNull();
  });

  it('describes service messages in the account language (en given)', () => {
    const { emu } = setup();
    const en = SERVICE_TEXTS.en;
    const grp = emu.group(TOKEN, { title: 'Клиенты' });
    const newbie = emu.user({ firstName: 'Анна', lastName: 'Смирнова' });
    expect(one(grp.membersJoined([newbie]).update, en)).toMatchObject({ kind: 'service', text: 'Анна Смирнова joined the chat' });
    const t = grp.text('важно');
    expect(one(grp.pinned(t.messageId).update, en)).toMatchObject({ kind: 'service', text: 'A message was pinned: "важно"' });
    expect(one(grp.titleChanged('VIP клиенты').update, en)).toMatchObject({
      kind: 'service',
      text: 'The chat title was changed to "VIP клиенты"',
    });
  });

  it('writes its own notes in Russian by default (the account language default), in English when asked', () => {
    const { emu, chat } = setup();
    const grp = emu.group(TOKEN, { title: 'Клиенты' });
    expect(one(grp.titleChanged('VIP').update)).toMatchObject({ kind: 'service', text: 'Название чата изменено на «VIP»' });
    const game = {
      update_id: 90,
      message: { message_id: 90, date, chat: { id: 123456789, type: 'private', first_name: 'Иван' }, game: {} },
    };
    expect(one(game)).toMatchObject({
      kind: 'service',
      text: 'Клиент прислал сообщение типа, который коннектор не поддерживает (game)',
    });
    expect(one(game, SERVICE_TEXTS.en)).toMatchObject({
      kind: 'service',
      text: 'The customer sent a message of a type the connector does not support (game)',
    });
    expect(chat).toBeDefined();
  });

  it('reports malformed and unsupported updates without throwing', () => {
    expect(result(null)).toEqual({ malformed: 'the update is not an object' });
    expect(result({ message: { text: 'x' } })).toEqual({ malformed: 'the update has no numeric update_id' });
    expect(result({ update_id: 1, message: { message_id: 1, date, text: 'no chat' } })).toEqual({
      malformed: 'message: message without a valid chat',
    });
    expect(result({ update_id: 2, callback_query: { id: '1' } })).toEqual({ malformed: 'unsupported update kind: callback_query' });
    expect(result({ update_id: 3, message: { message_id: 1, date, chat: { id: 5, type: 'private' }, photo: [] } })).toEqual({
      malformed: 'message: photo without a file_id',
    });
    const weird = result({ update_id: 4, message: { message_id: 1, date, chat: { id: 5, type: 'private' }, story: { id: 1 } } });
    expect(weird).toMatchObject({ ok: [{ kind: 'service', text: expect.stringContaining('(story)') as string }] });
  });
});

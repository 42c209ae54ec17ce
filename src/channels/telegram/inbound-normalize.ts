/**
 * Telegram Update → normalized inbound messages (connector-api.md). Pure: no I/O, never
 * throws; an update it cannot use gives `{ malformed: reason }`.
 *
 * Decisions where the spec is silent:
 * - Formatting entities are dropped (1C gets plain text); captions go into `text`.
 * - A forwarded message is normalized like any other (the model has no forward field).
 * - Messages with content this connector does not know (games, invoices, stories, …) become
 *   kind `service` with a sentence naming the content, so the operator sees that something came;
 *   that sentence and the group events' are in the account's language (`texts`, core/service-texts.ts).
 * - A reaction that removes every emoji has `text: null`. Custom emoji reactions are written
 *   `custom:<id>`, paid ones `⭐`.
 * - Edits carry no media (the original's media was stored when it arrived).
 * - Update kinds other than (edited_)message, (edited_)channel_post, message_reaction and
 *   the business kinds (callback queries, chat member changes, …) are `malformed` with a
 *   reason naming the kind.
 * - Telegram Business (inbound-business.ts, which wraps normalizeUpdate): `business_message`, `edited_business_message` and
 *   `deleted_business_messages` land in `tgb:<bot>:<owner id>:<chat id>` chats; what the owner
 *   typed themselves carries `outgoing: true`; `business_connection` gives no message.
 */
import {
  buildChatKey,
  describeError,
  buildMessageId,
  serviceTexts,
  type ChatInfo,
  type NewInboundMessage,
  type Sender,
  type ServiceTexts,
} from '../../core/index.ts';

type Obj = Record<string, unknown>;

/** A file an inbound message carries, still to be downloaded into the MediaStore. */
export interface PendingMedia {
  /** The normalized message id it belongs to. */
  messageId: string;
  fileId: string;
  fileUniqueId: string;
  mime: string;
  fileName: string | null;
  size: number | null;
}

export type NormalizeResult = { ok: NewInboundMessage[]; media: PendingMedia[] } | { malformed: string };

export interface NormalizeOptions {
  /** The bot's username (without `@`). */
  account: string;
  /** The time the connector took the update over (default: now). */
  now?: Date;
  /** The `service` texts in the account's language (core/service-texts.ts; default `ru`). */
  texts?: ServiceTexts;
}

const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The update_id of a raw update, or null when it has none. */
export function updateIdOf(update: unknown): number | null {
  return num(obj(update)?.update_id);
}

export function telegramChatKey(account: string, chatId: number | string): string {
  return buildChatKey('telegram', account, String(chatId));
}

function personName(u: Obj): string | null {
  const name = [str(u.first_name), str(u.last_name)].filter(Boolean).join(' ').trim();
  return name || str(u.title) || str(u.username);
}

export function chatInfo(chat: Obj): ChatInfo {
  const type = str(chat.type);
  if (type === 'private') return { type: 'private', title: personName(chat) };
  return { type: type === 'channel' ? 'channel' : 'group', title: str(chat.title) };
}

export function senderOf(msg: Obj, chat: Obj): Sender {
  const from = obj(msg.from) ?? obj(msg.user) ?? obj(msg.sender_chat) ?? obj(msg.actor_chat) ?? chat;
  const id = num(from.id);
  return { id: `tg:${id ?? 'unknown'}`, name: personName(from), username: str(from.username), phone: null };
}

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

export interface Ctx {
  account: string;
  receivedAt: string;
  /** The chat key of a chat id (default `tg:<account>:<chat id>`). */
  chatKey?: (chatId: number) => string;
  /** The `service` texts in the account's language (default: the default language's). */
  texts?: ServiceTexts;
}

interface Located {
  chat: Obj;
  chatId: number;
  chatKey: string;
  messageId: number;
  date: number;
}

function locate(msg: Obj, ctx: Ctx): Located | string {
  const chat = obj(msg.chat);
  const chatId = num(chat?.id);
  if (!chat || chatId === null || typeof chat.type !== 'string') return 'message without a valid chat';
  const messageId = num(msg.message_id);
  if (messageId === null) return 'message without message_id';
  const date = num(msg.date);
  if (date === null) return 'message without date';
  return { chat, chatId, chatKey: ctx.chatKey ? ctx.chatKey(chatId) : telegramChatKey(ctx.account, chatId), messageId, date };
}

const SERVICE: Record<string, (v: unknown, t: ServiceTexts) => string> = {
  new_chat_members: (v, t) => t.joined((Array.isArray(v) ? v : []).map((u) => personName(obj(u) ?? {}) ?? t.someone).join(', ')),
  left_chat_member: (v, t) => t.left(personName(obj(v) ?? {}) ?? t.someone),
  new_chat_title: (v, t) => t.titleChanged(str(v) ?? ''),
  new_chat_photo: (_v, t) => t.photoChanged,
  delete_chat_photo: (_v, t) => t.photoRemoved,
  group_chat_created: (_v, t) => t.groupCreated,
  supergroup_chat_created: (_v, t) => t.supergroupCreated,
  channel_chat_created: (_v, t) => t.channelCreated,
  pinned_message: (v, t) => {
    const p = obj(v) ?? {};
    const text = str(p.text) ?? str(p.caption);
    return t.pinned(text ? (text.length > 100 ? `${text.slice(0, 100)}…` : text) : null);
  },
  migrate_to_chat_id: (v, t) => t.migratedTo(String(v)),
  migrate_from_chat_id: (v, t) => t.migratedFrom(String(v)),
  message_auto_delete_timer_changed: (_v, t) => t.autoDeleteChanged,
  video_chat_started: (_v, t) => t.videoChatStarted,
  video_chat_ended: (_v, t) => t.videoChatEnded,
  forum_topic_created: (v, t) => t.topicCreated(str(obj(v)?.name) ?? ''),
  write_access_allowed: (_v, t) => t.writeAccessAllowed,
};

/** Keys of a Message that are not its content. */
const META = new Set([
  'message_id',
  'message_thread_id',
  'from',
  'sender_chat',
  'sender_boost_count',
  'sender_business_bot',
  'date',
  'business_connection_id',
  'chat',
  'forward_origin',
  'is_topic_message',
  'is_automatic_forward',
  'reply_to_message',
  'external_reply',
  'quote',
  'reply_to_story',
  'via_bot',
  'edit_date',
  'has_protected_content',
  'is_from_offline',
  'media_group_id',
  'author_signature',
  'link_preview_options',
  'effect_id',
  'show_caption_above_media',
  'has_media_spoiler',
  'reply_markup',
  'entities',
  'caption',
  'caption_entities',
  'forward_from',
  'forward_from_chat',
  'forward_from_message_id',
  'forward_signature',
  'forward_sender_name',
  'forward_date',
  'paid_star_count',
  'sender_tag',
]);

function fileOf(v: unknown, mime: string, fileName: string | null = null): Omit<PendingMedia, 'messageId'> | null {
  const f = obj(v);
  const fileId = str(f?.file_id);
  if (!f || !fileId) return null;
  return {
    fileId,
    fileUniqueId: str(f.file_unique_id) ?? fileId,
    mime: str(f.mime_type) ?? mime,
    fileName: str(f.file_name) ?? fileName,
    size: num(f.file_size),
  };
}

function largestPhoto(v: unknown): unknown {
  if (!Array.isArray(v) || v.length === 0) return null;
  return v.reduce((best: unknown, p: unknown) => {
    const a = obj(best);
    const b = obj(p);
    if (!b) return best;
    if (!a) return b;
    const area = (x: Obj) => (num(x.width) ?? 0) * (num(x.height) ?? 0) || (num(x.file_size) ?? 0);
    return area(b) >= area(a) ? b : a;
  }, null);
}

/** One Message → one normalized message (plus the file to fetch, if any). */
export function fromMessage(msg: Obj, ctx: Ctx): { message: NewInboundMessage; media: PendingMedia | null } | string {
  const at = locate(msg, ctx);
  if (typeof at === 'string') return at;
  const id = buildMessageId(at.chatKey, at.messageId);
  const reply = obj(msg.reply_to_message);
  const replyId = num(reply?.message_id);
  const base = {
    id,
    chatId: at.chatKey,
    channel: 'telegram' as const,
    account: ctx.account,
    chat: chatInfo(at.chat),
    sender: senderOf(msg, at.chat),
    text: str(msg.text) ?? str(msg.caption),
    media: [],
    replyTo: replyId === null ? null : buildMessageId(at.chatKey, replyId),
    target: null,
    sentAt: iso(at.date),
    receivedAt: ctx.receivedAt,
  };
  let file: Omit<PendingMedia, 'messageId'> | null = null;
  const withFile = (kind: 'photo' | 'video' | 'voice' | 'audio' | 'document' | 'sticker', f: typeof file) => {
    file = f;
    return { ...base, kind };
  };
  let message: NewInboundMessage;
  const texts = ctx.texts ?? serviceTexts(null);
  const sticker = obj(msg.sticker);
  const location = obj(msg.location);
  const venue = obj(msg.venue);
  const contact = obj(msg.contact);
  const poll = obj(msg.poll);
  if (typeof msg.text === 'string') message = { ...base, kind: 'text' };
  else if (msg.photo !== undefined) message = withFile('photo', fileOf(largestPhoto(msg.photo), 'image/jpeg'));
  else if (msg.video !== undefined) message = withFile('video', fileOf(msg.video, 'video/mp4'));
  else if (msg.video_note !== undefined) message = withFile('video', fileOf(msg.video_note, 'video/mp4'));
  else if (msg.animation !== undefined) message = withFile('video', fileOf(msg.animation, 'video/mp4'));
  else if (msg.voice !== undefined) message = withFile('voice', fileOf(msg.voice, 'audio/ogg'));
  else if (msg.audio !== undefined) message = withFile('audio', fileOf(msg.audio, 'audio/mpeg'));
  else if (msg.document !== undefined) message = withFile('document', fileOf(msg.document, 'application/octet-stream'));
  else if (sticker) {
    const mime = sticker.is_animated === true ? 'application/x-tgsticker' : sticker.is_video === true ? 'video/webm' : 'image/webp';
    message = { ...withFile('sticker', fileOf(sticker, mime)), text: str(sticker.emoji) };
  } else if (venue || location) {
    const loc = obj(venue?.location) ?? location ?? {};
    const lat = num(loc.latitude);
    const lon = num(loc.longitude);
    if (lat === null || lon === null) return 'location without coordinates';
    const name = venue ? [str(venue.title), str(venue.address)].filter(Boolean).join(', ') || null : null;
    message = { ...base, kind: 'location', location: { lat, lon, name } };
  } else if (contact) {
    message = { ...base, kind: 'contact', contact: { name: personName(contact), phone: str(contact.phone_number) } };
  } else if (poll) {
    const question = str(poll.question) ?? '';
    const options = (Array.isArray(poll.options) ? poll.options : []).map((o) => str(obj(o)?.text) ?? '');
    message = { ...base, kind: 'poll', text: question, poll: { question, options } };
  } else if (obj(msg.dice)) {
    const dice = obj(msg.dice) as Obj;
    message = { ...base, kind: 'text', text: `${str(dice.emoji) ?? '🎲'} ${num(dice.value) ?? ''}`.trim() };
  } else {
    const serviceKey = Object.keys(SERVICE).find((k) => msg[k] !== undefined);
    if (serviceKey) message = { ...base, kind: 'service', text: SERVICE[serviceKey](msg[serviceKey], texts) };
    else {
      const other = Object.keys(msg).find((k) => !META.has(k));
      message = {
        ...base,
        kind: 'service',
        text: other ? texts.unsupported(other) : texts.empty,
      };
    }
  }
  const f = file as Omit<PendingMedia, 'messageId'> | null;
  if (
    (message.kind === 'photo' ||
      message.kind === 'video' ||
      message.kind === 'voice' ||
      message.kind === 'audio' ||
      message.kind === 'document') &&
    !f
  ) {
    return `${message.kind} without a file_id`;
  }
  return { message, media: f ? { ...f, messageId: id } : null };
}

export function fromEdit(msg: Obj, ctx: Ctx): NewInboundMessage | string {
  const at = locate(msg, ctx);
  if (typeof at === 'string') return at;
  const editDate = num(msg.edit_date) ?? at.date;
  const target = buildMessageId(at.chatKey, at.messageId);
  return {
    id: `${target}:edit:${editDate}`,
    chatId: at.chatKey,
    channel: 'telegram',
    account: ctx.account,
    chat: chatInfo(at.chat),
    sender: senderOf(msg, at.chat),
    kind: 'edit',
    text: str(msg.text) ?? str(msg.caption),
    media: [],
    replyTo: null,
    target,
    sentAt: iso(editDate),
    receivedAt: ctx.receivedAt,
  };
}

function reactionText(r: unknown): string {
  const o = obj(r) ?? {};
  if (o.type === 'emoji') return str(o.emoji) ?? '';
  if (o.type === 'custom_emoji') return `custom:${str(o.custom_emoji_id) ?? ''}`;
  if (o.type === 'paid') return '⭐';
  return '';
}

function fromReaction(ev: Obj, ctx: Ctx): NewInboundMessage | string {
  const at = locate(ev, ctx);
  if (typeof at === 'string') return at.replace('message', 'reaction');
  if (!Array.isArray(ev.new_reaction)) return 'reaction without new_reaction';
  const target = buildMessageId(at.chatKey, at.messageId);
  const who = num(obj(ev.user)?.id) ?? num(obj(ev.actor_chat)?.id) ?? 'anonymous';
  const text = ev.new_reaction.map(reactionText).filter(Boolean).join('');
  return {
    id: `${target}:reaction:${at.date}:${who}`,
    chatId: at.chatKey,
    channel: 'telegram',
    account: ctx.account,
    chat: chatInfo(at.chat),
    sender: senderOf(ev, at.chat),
    kind: 'reaction',
    text: text || null,
    media: [],
    replyTo: null,
    target,
    sentAt: iso(at.date),
    receivedAt: ctx.receivedAt,
  };
}

export function normalizeUpdate(update: unknown, opts: NormalizeOptions): NormalizeResult {
  try {
    const u = obj(update);
    if (!u) return { malformed: 'the update is not an object' };
    if (num(u.update_id) === null) return { malformed: 'the update has no numeric update_id' };
    const ctx: Ctx = { account: opts.account, receivedAt: (opts.now ?? new Date()).toISOString(), texts: opts.texts };
    const kind = Object.keys(u).find((k) => k !== 'update_id');
    if (!kind) return { malformed: 'the update has no content' };
    const body = obj(u[kind]);
    if (!body) return { malformed: `${kind} is not an object` };
    switch (kind) {
      case 'message':
      case 'channel_post': {
        const r = fromMessage(body, ctx);
        if (typeof r === 'string') return { malformed: `${kind}: ${r}` };
        return { ok: [r.message], media: r.media ? [r.media] : [] };
      }
      case 'edited_message':
      case 'edited_channel_post': {
        const r = fromEdit(body, ctx);
        return typeof r === 'string' ? { malformed: `${kind}: ${r}` } : { ok: [r], media: [] };
      }
      case 'message_reaction': {
        const r = fromReaction(body, ctx);
        return typeof r === 'string' ? { malformed: `${kind}: ${r}` } : { ok: [r], media: [] };
      }
      default:
        return { malformed: `unsupported update kind: ${kind}` };
    }
  } catch (err) {
    return { malformed: `could not read the update (${describeError(err)})` };
  }
}

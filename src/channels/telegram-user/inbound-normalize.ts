/**
 * TDLib `message` objects (td_api.tl) of a user account → normalized inbound messages in
 * `tgu:<account>:<chat id>` chats. Pure: no I/O, never throws; what it cannot use gives
 * `{ malformed: reason }`.
 *
 * - `is_outgoing` (sent by the account's owner from another device) → `outgoing: true`, as for
 *   Telegram Business owner messages.
 * - Files are named by TDLib's local file id; fetching them (downloadFile) is the runner's job.
 * - Names come from `userOf` (TDLib keeps users apart from messages: updateUser / getUser).
 * - Video notes are `video`, voice notes `voice`, as in the bot channel; albums are their
 *   photos one by one (TDLib sends each with the same media_album_id).
 */
import { buildMessageId, serviceTexts, type ChatInfo, type NewInboundMessage, type Sender, type ServiceTexts } from '../../core/index.ts';

export interface TdPendingFile {
  messageId: string;
  /** TDLib's local file id. */
  tdFileId: number;
  mime: string;
  fileName: string | null;
  size: number | null;
}

export interface TdNormalizeOptions {
  account: string;
  /** A user's name, username and phone, as TDLib told them (updateUser), or null. */
  userOf: (userId: number) => { name: string | null; username: string | null; phone: string | null } | null;
  /** The chat's type and title (updateNewChat), or null. */
  chatOf: (chatId: number) => ChatInfo | null;
  now?: Date;
  /** The `service` texts in the account's language (core/service-texts.ts; default `ru`). */
  texts?: ServiceTexts;
}

export type TdNormalizeResult = { ok: NewInboundMessage; file: TdPendingFile | null } | { malformed: string };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const textOf = (formatted: unknown): string | null => str(obj(formatted)?.text);

export function userChatKey(account: string, chatId: number): string {
  return `tgu:${account}:${chatId}`;
}

function fileOf(f: unknown, mime: string, fileName: string | null = null): Omit<TdPendingFile, 'messageId'> | null {
  const o = obj(f);
  const id = num(o?.id);
  if (!o || id === null) return null;
  return { tdFileId: id, mime, fileName, size: num(o.size) || num(o.expected_size) };
}

function senderOf(msg: Obj, opts: TdNormalizeOptions): Sender {
  const s = obj(msg.sender_id);
  const userId = s?._ === 'messageSenderUser' ? num(s.user_id) : null;
  const chatId = s?._ === 'messageSenderChat' ? num(s.chat_id) : null;
  if (userId !== null) {
    const u = opts.userOf(userId);
    return { id: `tg:${userId}`, name: u?.name ?? null, username: u?.username ?? null, phone: u?.phone ?? null };
  }
  return {
    id: `tg:${chatId ?? 'unknown'}`,
    name: chatId === null ? null : (opts.chatOf(chatId)?.title ?? null),
    username: null,
    phone: null,
  };
}

type Content = Pick<NewInboundMessage, 'text'> & {
  kind: 'text' | 'photo' | 'video' | 'voice' | 'audio' | 'document' | 'sticker' | 'service';
};

function contentOf(
  c: Obj,
  texts: ServiceTexts,
): { content: Content | NewInboundMessageExtras; file: Omit<TdPendingFile, 'messageId'> | null } {
  const caption = textOf(c.caption);
  switch (c._) {
    case 'messageText':
      return { content: { kind: 'text', text: textOf(c.text) }, file: null };
    case 'messagePhoto': {
      const sizes = (obj(c.photo)?.sizes as unknown[] | undefined) ?? [];
      const largest = obj(sizes[sizes.length - 1]);
      return { content: { kind: 'photo', text: caption }, file: fileOf(largest?.photo, 'image/jpeg') };
    }
    case 'messageVideo': {
      const v = obj(c.video) ?? {};
      return { content: { kind: 'video', text: caption }, file: fileOf(v.video, str(v.mime_type) ?? 'video/mp4', str(v.file_name)) };
    }
    case 'messageVideoNote':
      return { content: { kind: 'video', text: null }, file: fileOf(obj(c.video_note)?.video, 'video/mp4') };
    case 'messageVoiceNote': {
      const v = obj(c.voice_note) ?? {};
      return { content: { kind: 'voice', text: caption }, file: fileOf(v.voice, str(v.mime_type) ?? 'audio/ogg') };
    }
    case 'messageAudio': {
      const a = obj(c.audio) ?? {};
      return { content: { kind: 'audio', text: caption }, file: fileOf(a.audio, str(a.mime_type) ?? 'audio/mpeg', str(a.file_name)) };
    }
    case 'messageDocument': {
      const d = obj(c.document) ?? {};
      return {
        content: { kind: 'document', text: caption },
        file: fileOf(d.document, str(d.mime_type) ?? 'application/octet-stream', str(d.file_name)),
      };
    }
    case 'messageSticker': {
      const s = obj(c.sticker) ?? {};
      return { content: { kind: 'sticker', text: str(s.emoji) }, file: fileOf(s.sticker, 'image/webp') };
    }
    case 'messageLocation': {
      const l = obj(c.location) ?? {};
      return {
        content: { kind: 'location', text: null, location: { lat: num(l.latitude) ?? 0, lon: num(l.longitude) ?? 0, name: null } },
        file: null,
      };
    }
    case 'messageContact': {
      const k = obj(c.contact) ?? {};
      const name = [str(k.first_name), str(k.last_name)].filter(Boolean).join(' ') || null;
      return { content: { kind: 'contact', text: null, contact: { name, phone: str(k.phone_number) } }, file: null };
    }
    default:
      return {
        content: { kind: 'service', text: texts.unsupported(String(c._)) },
        file: null,
      };
  }
}

type NewInboundMessageExtras =
  | { kind: 'location'; text: null; location: { lat: number; lon: number; name: null } }
  | { kind: 'contact'; text: null; contact: { name: string | null; phone: string | null } };

/** One TDLib `message` (from updateNewMessage or getChatHistory) → one normalized message. */
export function normalizeTdMessage(message: unknown, opts: TdNormalizeOptions): TdNormalizeResult {
  const msg = obj(message);
  if (!msg || msg._ !== 'message') return { malformed: 'not a TDLib message object' };
  const id = num(msg.id);
  const chatId = num(msg.chat_id);
  const date = num(msg.date);
  const content = obj(msg.content);
  if (id === null || chatId === null || date === null || !content) return { malformed: 'message without id, chat_id, date or content' };
  const chatKey = userChatKey(opts.account, chatId);
  const msgId = buildMessageId(chatKey, id);
  const reply = obj(msg.reply_to);
  const replyId = reply?._ === 'messageReplyToMessage' && num(reply.chat_id) === chatId ? num(reply.message_id) : null;
  const { content: c, file } = contentOf(content, opts.texts ?? serviceTexts(null));
  if (['photo', 'video', 'voice', 'audio', 'document'].includes(c.kind) && !file) return { malformed: `${c.kind} without a file` };
  const base = {
    id: msgId,
    chatId: chatKey,
    channel: 'telegram' as const,
    account: opts.account,
    chat: opts.chatOf(chatId) ?? { type: chatId > 0 ? ('private' as const) : ('group' as const), title: null },
    sender: senderOf(msg, opts),
    media: [],
    replyTo: replyId === null ? null : buildMessageId(chatKey, replyId),
    target: null,
    sentAt: new Date(date * 1000).toISOString(),
    receivedAt: (opts.now ?? new Date()).toISOString(),
    ...(msg.is_outgoing === true ? { outgoing: true as const } : {}),
  };
  const ok = { ...base, ...c } as NewInboundMessage;
  return { ok, file: file ? { ...file, messageId: msgId } : null };
}

/**
 * A simulated customer conversation: each method appends the update Telegram would send
 * (update_id increasing per bot, message_id increasing per chat) and returns it. Files are
 * registered with the bot so getFile and the download URL serve them.
 */
import { randomBytes } from 'node:crypto';
import type { BotState } from './bot-state.ts';
import { registerFile } from './emulator-methods.ts';
import type { TgChat, TgObject, TgUser } from './emulator-types.ts';

export interface SimulatedUserInput {
  id?: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
}

export interface MessageOptions {
  /** Sender (default: the chat's person, or the group's first member). */
  from?: TgUser;
  /** message_id of the message this one replies to. */
  replyTo?: number;
  /** Unix time (default now). */
  date?: number;
  /** Adds `forward_origin` of type `user` for this person. */
  forwardedFrom?: TgUser;
  mediaGroupId?: string;
}

export interface FileOptions extends MessageOptions {
  bytes?: Buffer;
  caption?: string;
  fileName?: string;
  mime?: string;
}

export interface SentUpdate {
  update: TgObject;
  message: TgObject;
  messageId: number;
}

export class SimulatedChat {
  private readonly messages = new Map<number, TgObject>();

  constructor(
    private readonly bot: BotState,
    readonly chat: TgChat,
    readonly person: TgUser,
  ) {}

  get id(): number {
    return this.chat.id;
  }

  private base(o: MessageOptions): TgObject {
    const messageId = this.bot.nextMessageId(this.chat.id);
    const msg: TgObject = {
      message_id: messageId,
      from: o.from ?? this.person,
      chat: this.chat,
      date: o.date ?? Math.floor(Date.now() / 1000),
    };
    if (o.replyTo !== undefined)
      msg.reply_to_message = this.messages.get(o.replyTo) ?? { message_id: o.replyTo, chat: this.chat, date: msg.date };
    if (o.forwardedFrom) msg.forward_origin = { type: 'user', sender_user: o.forwardedFrom, date: (msg.date as number) - 3600 };
    if (o.mediaGroupId) msg.media_group_id = o.mediaGroupId;
    return msg;
  }

  private emit(msg: TgObject, kind = 'message'): SentUpdate {
    this.messages.set(msg.message_id as number, msg);
    const update = this.bot.push({ [kind]: msg });
    return { update, message: msg, messageId: msg.message_id as number };
  }

  private file(bytes: Buffer | undefined, folder: string, ext: string, mime: string | null, fileName: string | null) {
    return registerFile(this.bot, bytes ?? randomBytes(256), { mime, fileName, folder, ext });
  }

  text(text: string, o: MessageOptions & { entities?: TgObject[] } = {}): SentUpdate {
    const msg = this.base(o);
    msg.text = text;
    const entities = o.entities ?? autoEntities(text);
    if (entities.length) msg.entities = entities;
    return this.emit(msg);
  }

  /** A photo as Telegram sends it: several PhotoSize entries, largest last, each downloadable. */
  photo(o: FileOptions = {}): SentUpdate {
    const msg = this.base(o);
    const full = o.bytes ?? randomBytes(2048);
    const sizes = [
      [90, 67, Math.max(1, Math.floor(full.length / 16))],
      [320, 240, Math.max(1, Math.floor(full.length / 4))],
      [1280, 960, full.length],
    ];
    msg.photo = sizes.map(([w, h, n], i) => {
      const bytes = i === sizes.length - 1 ? full : full.subarray(0, n);
      const f = registerFile(this.bot, Buffer.from(bytes), { mime: 'image/jpeg', folder: 'photos', ext: 'jpg' });
      return { file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: bytes.length, width: w, height: h };
    });
    if (o.caption) msg.caption = o.caption;
    return this.emit(msg);
  }

  /** Several photos sharing one media_group_id, the caption on the first, as Telegram sends albums. */
  album(items: Array<Buffer | undefined>, o: FileOptions = {}): SentUpdate[] {
    const groupId = String(13_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9)));
    return items.map((bytes, i) => this.photo({ ...o, bytes, caption: i === 0 ? o.caption : undefined, mediaGroupId: groupId }));
  }

  document(o: FileOptions = {}): SentUpdate {
    const msg = this.base(o);
    const fileName = o.fileName ?? 'invoice.pdf';
    const mime = o.mime ?? 'application/pdf';
    const f = this.file(o.bytes, 'documents', fileName.split('.').pop() ?? 'dat', mime, fileName);
    msg.document = { file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: f.bytes.length, file_name: fileName, mime_type: mime };
    if (o.caption) msg.caption = o.caption;
    return this.emit(msg);
  }

  video(o: FileOptions = {}): SentUpdate {
    const msg = this.base(o);
    const f = this.file(o.bytes, 'videos', 'mp4', 'video/mp4', o.fileName ?? null);
    msg.video = {
      file_id: f.fileId,
      file_unique_id: f.fileUniqueId,
      file_size: f.bytes.length,
      width: 1280,
      height: 720,
      duration: 12,
      mime_type: 'video/mp4',
      ...(o.fileName ? { file_name: o.fileName } : {}),
    };
    if (o.caption) msg.caption = o.caption;
    return this.emit(msg);
  }

  voice(o: FileOptions = {}): SentUpdate {
    const msg = this.base(o);
    const f = this.file(o.bytes, 'voice', 'oga', 'audio/ogg', null);
    msg.voice = { file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: f.bytes.length, duration: 4, mime_type: 'audio/ogg' };
    return this.emit(msg);
  }

  audio(o: FileOptions & { title?: string; performer?: string } = {}): SentUpdate {
    const msg = this.base(o);
    const fileName = o.fileName ?? 'song.mp3';
    const f = this.file(o.bytes, 'music', 'mp3', 'audio/mpeg', fileName);
    msg.audio = {
      file_id: f.fileId,
      file_unique_id: f.fileUniqueId,
      file_size: f.bytes.length,
      duration: 180,
      file_name: fileName,
      mime_type: 'audio/mpeg',
      title: o.title ?? 'Song',
      performer: o.performer ?? 'Artist',
    };
    if (o.caption) msg.caption = o.caption;
    return this.emit(msg);
  }

  sticker(o: FileOptions & { emoji?: string } = {}): SentUpdate {
    const msg = this.base(o);
    const f = this.file(o.bytes, 'stickers', 'webp', 'image/webp', null);
    msg.sticker = {
      file_id: f.fileId,
      file_unique_id: f.fileUniqueId,
      file_size: f.bytes.length,
      width: 512,
      height: 512,
      is_animated: false,
      is_video: false,
      type: 'regular',
      emoji: o.emoji ?? '😀',
      set_name: 'HotCherry',
    };
    return this.emit(msg);
  }

  location(lat: number, lon: number, o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.location = { latitude: lat, longitude: lon };
    return this.emit(msg);
  }

  venue(lat: number, lon: number, title: string, address: string, o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.location = { latitude: lat, longitude: lon };
    msg.venue = { location: { latitude: lat, longitude: lon }, title, address };
    return this.emit(msg);
  }

  contact(phone: string, firstName: string, o: MessageOptions & { lastName?: string; userId?: number } = {}): SentUpdate {
    const msg = this.base(o);
    msg.contact = {
      phone_number: phone,
      first_name: firstName,
      ...(o.lastName ? { last_name: o.lastName } : {}),
      ...(o.userId ? { user_id: o.userId } : {}),
    };
    return this.emit(msg);
  }

  poll(question: string, options: string[], o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.poll = {
      id: String(5_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9))),
      question,
      options: options.map((text) => ({ text, voter_count: 0 })),
      total_voter_count: 0,
      is_closed: false,
      is_anonymous: true,
      type: 'regular',
      allows_multiple_answers: false,
    };
    return this.emit(msg);
  }

  /** The customer edits an earlier text message (an `edited_message` update). */
  edit(messageId: number, newText: string, o: { editDate?: number } = {}): SentUpdate {
    const orig = this.messages.get(messageId) ?? {
      message_id: messageId,
      from: this.person,
      chat: this.chat,
      date: Math.floor(Date.now() / 1000) - 60,
    };
    const edited: TgObject = { ...orig, text: newText, edit_date: o.editDate ?? Math.floor(Date.now() / 1000) };
    delete edited.entities;
    const update = this.bot.push({ edited_message: edited });
    return { update, message: edited, messageId };
  }

  /** A `message_reaction` update: the person's reactions on a message changed to `emojis`. */
  react(messageId: number, emojis: string[], o: { from?: TgUser; old?: string[]; date?: number } = {}): SentUpdate {
    const ev: TgObject = {
      chat: this.chat,
      message_id: messageId,
      user: o.from ?? this.person,
      date: o.date ?? Math.floor(Date.now() / 1000),
      old_reaction: (o.old ?? []).map((emoji) => ({ type: 'emoji', emoji })),
      new_reaction: emojis.map((emoji) => ({ type: 'emoji', emoji })),
    };
    const update = this.bot.push({ message_reaction: ev });
    return { update, message: ev, messageId };
  }

  /** Service message: people joined the group. */
  membersJoined(users: TgUser[], o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.new_chat_members = users;
    return this.emit(msg);
  }

  memberLeft(user: TgUser, o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.left_chat_member = user;
    return this.emit(msg);
  }

  pinned(messageId: number, o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.pinned_message = this.messages.get(messageId) ?? { message_id: messageId, chat: this.chat, date: msg.date };
    return this.emit(msg);
  }

  titleChanged(title: string, o: MessageOptions = {}): SentUpdate {
    const msg = this.base(o);
    msg.new_chat_title = title;
    this.chat.title = title;
    return this.emit(msg);
  }
}

/** Entities a client would attach: URLs, @mentions, /commands, #hashtags (UTF-16 offsets). */
export function autoEntities(text: string): TgObject[] {
  const out: TgObject[] = [];
  const re = /(https?:\/\/\S+)|(@[A-Za-z0-9_]{4,32})|(^\/[A-Za-z0-9_]+)|(#[\p{L}0-9_]+)/gu;
  for (const m of text.matchAll(re)) {
    const type = m[1] ? 'url' : m[2] ? 'mention' : m[3] ? 'bot_command' : 'hashtag';
    out.push({ type, offset: m.index ?? 0, length: m[0].length });
  }
  return out;
}

/**
 * Bot API methods of the emulator that act on one bot: sends (text and media), getFile,
 * webhooks, chat actions. Each throws ApiFailure with Telegram's own code and description.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { UploadedFile } from './http-body.ts';
import type { BotState, StoredFile } from './bot-state.ts';
import { ApiFailure, type RateLimits, type SentRecord, type TgObject } from './emulator-types.ts';

export const MEDIA_METHODS: Record<string, { field: string; mime: string; ext: string }> = {
  sendPhoto: { field: 'photo', mime: 'image/jpeg', ext: 'jpg' },
  sendDocument: { field: 'document', mime: 'application/octet-stream', ext: 'dat' },
  sendVoice: { field: 'voice', mime: 'audio/ogg', ext: 'ogg' },
  sendAudio: { field: 'audio', mime: 'audio/mpeg', ext: 'mp3' },
  sendVideo: { field: 'video', mime: 'video/mp4', ext: 'mp4' },
};

export function newFileIds(): { fileId: string; fileUniqueId: string } {
  return {
    fileId: `BQACAgIAAx${randomBytes(24).toString('base64url')}`,
    fileUniqueId: `AgAD${randomBytes(6).toString('base64url')}`,
  };
}

/** Registers bytes as a Telegram file so getFile and the download URL serve them. */
export function registerFile(
  bot: BotState,
  bytes: Buffer,
  opts: { mime?: string | null; fileName?: string | null; folder?: string; ext?: string } = {},
): StoredFile {
  const ids = newFileIds();
  const folder = opts.folder ?? 'documents';
  const ext = opts.ext ?? (opts.fileName?.includes('.') ? opts.fileName.split('.').pop() : 'dat');
  const file: StoredFile = {
    ...ids,
    bytes,
    mime: opts.mime ?? null,
    fileName: opts.fileName ?? null,
    filePath: `${folder}/file_${bot.files.size}.${ext}`,
  };
  bot.files.set(file.fileId, file);
  return file;
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  return null;
}

export function chatOf(bot: BotState, params: Record<string, unknown>): number {
  const chatId = num(params.chat_id);
  if (params.chat_id === undefined || params.chat_id === '') throw new ApiFailure(400, 'Bad Request: chat_id is empty');
  if (chatId === null || !bot.chats.has(chatId)) throw new ApiFailure(400, 'Bad Request: chat not found');
  if (bot.blocked.has(chatId)) throw new ApiFailure(403, 'Forbidden: bot was blocked by the user');
  return chatId;
}

function replyTarget(bot: BotState, chatId: number, params: Record<string, unknown>): number | null {
  const rp = params.reply_parameters;
  let target: number | null = null;
  let allowMissing = params.allow_sending_without_reply === true || params.allow_sending_without_reply === 'true';
  if (rp && typeof rp === 'object') {
    const o = rp as Record<string, unknown>;
    target = num(o.message_id);
    if (o.allow_sending_without_reply === true) allowMissing = true;
  } else if (params.reply_to_message_id !== undefined) {
    target = num(params.reply_to_message_id);
  }
  if (target === null) return null;
  if (!bot.knownMessages.get(chatId)?.has(target)) {
    if (allowMissing) return null;
    throw new ApiFailure(400, 'Bad Request: message to be replied not found');
  }
  return target;
}

/** Sliding-window rate limits; throws 429 with retry_after when a send would exceed them. */
export function checkLimits(bot: BotState, chatId: number, limits: RateLimits, now = Date.now()): void {
  if (!limits.enabled) return;
  const prune = (arr: number[], windowMs: number): void => {
    while (arr.length && arr[0] <= now - windowMs) arr.shift();
  };
  const fail = (oldest: number, windowMs: number): never => {
    bot.stats.rateLimitedIssued += 1;
    const retryAfter = Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
    throw new ApiFailure(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
  };
  prune(bot.sendTimes, 1000);
  if (bot.sendTimes.length >= limits.perBotPerSec) fail(bot.sendTimes[0], 1000);
  let times = bot.chatSendTimes.get(chatId);
  if (!times) bot.chatSendTimes.set(chatId, (times = []));
  const group = chatId < 0;
  const windowMs = group ? 60_000 : 1000;
  const max = group ? limits.perGroupPerMin : limits.perChatPerSec;
  prune(times, windowMs);
  if (times.length >= max) fail(times[0], windowMs);
  times.push(now);
  bot.sendTimes.push(now);
}

function baseMessage(bot: BotState, chatId: number, replyTo: number | null): TgObject {
  const chat = bot.chats.get(chatId);
  const msg: TgObject = {
    message_id: bot.nextMessageId(chatId),
    from: { id: bot.user.id, is_bot: true, first_name: bot.user.first_name, username: bot.user.username },
    chat,
    date: Math.floor(Date.now() / 1000),
  };
  if (replyTo !== null) msg.reply_to_message = { message_id: replyTo, chat, date: msg.date };
  return msg;
}

export function sendMessage(bot: BotState, params: Record<string, unknown>, limits: RateLimits): TgObject {
  const chatId = chatOf(bot, params);
  const text = typeof params.text === 'string' ? params.text : params.text === undefined ? '' : String(params.text);
  if (text.trim() === '') throw new ApiFailure(400, 'Bad Request: message text is empty');
  if (text.length > 4096) throw new ApiFailure(400, 'Bad Request: message is too long');
  const replyTo = replyTarget(bot, chatId, params);
  checkLimits(bot, chatId, limits);
  const msg = baseMessage(bot, chatId, replyTo);
  msg.text = text;
  if (Array.isArray(params.entities)) msg.entities = params.entities;
  record(bot, 'sendMessage', chatId, msg, { text, caption: null, replyTo, file: null });
  return msg;
}

function record(
  bot: BotState,
  method: string,
  chatId: number,
  msg: TgObject,
  r: Pick<SentRecord, 'text' | 'caption' | 'replyTo' | 'file'>,
): void {
  bot.sent.push({ method, chatId, messageId: msg.message_id as number, message: msg, at: Date.now(), ...r });
}

export function sendMedia(
  bot: BotState,
  method: string,
  params: Record<string, unknown>,
  files: Map<string, UploadedFile>,
  limits: RateLimits,
): TgObject {
  const spec = MEDIA_METHODS[method];
  const chatId = chatOf(bot, params);
  const caption = typeof params.caption === 'string' ? params.caption : null;
  if (caption !== null && caption.length > 1024) throw new ApiFailure(400, 'Bad Request: message caption is too long');
  const value = params[spec.field];
  let stored: StoredFile | null;
  let source: 'upload' | 'url' | 'file_id';
  let url: string | null = null;
  if (typeof value === 'string' && value.startsWith('attach://')) {
    const up = files.get(value.slice('attach://'.length));
    if (!up) throw new ApiFailure(400, `Bad Request: there is no ${spec.field} in the request`);
    source = 'upload';
    stored = registerFile(bot, up.bytes, {
      mime: up.mime === 'application/octet-stream' ? spec.mime : up.mime,
      fileName: up.fileName,
      folder: `${spec.field}s`,
      ext: spec.ext,
    });
  } else if (files.has(spec.field)) {
    const up = files.get(spec.field) as UploadedFile;
    source = 'upload';
    stored = registerFile(bot, up.bytes, { mime: spec.mime, fileName: up.fileName, folder: `${spec.field}s`, ext: spec.ext });
  } else if (typeof value === 'string' && /^https?:\/\//i.test(value)) {
    source = 'url';
    url = value;
    const name = decodeURIComponent(new URL(value).pathname.split('/').pop() || '') || null;
    stored = registerFile(bot, Buffer.alloc(0), { mime: spec.mime, fileName: name, folder: `${spec.field}s`, ext: spec.ext });
  } else if (typeof value === 'string' && value !== '') {
    source = 'file_id';
    stored = bot.files.get(value) ?? null;
    if (!stored) throw new ApiFailure(400, 'Bad Request: wrong file identifier/HTTP URL specified');
  } else {
    throw new ApiFailure(400, `Bad Request: there is no ${spec.field} in the request`);
  }
  const replyTo = replyTarget(bot, chatId, params);
  checkLimits(bot, chatId, limits);
  const msg = baseMessage(bot, chatId, replyTo);
  if (caption !== null) msg.caption = caption;
  const f = stored;
  const size = f.bytes.length;
  const fileObj = { file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: size };
  if (method === 'sendPhoto') {
    msg.photo = [90, 320, 800].map((w, i) => ({
      ...fileObj,
      file_id: i === 2 ? f.fileId : `${f.fileId}_${w}`,
      file_unique_id: i === 2 ? f.fileUniqueId : `${f.fileUniqueId}${w}`,
      width: w,
      height: Math.round(w * 0.75),
      file_size: Math.max(1, Math.round(size * (w / 800) ** 2)),
    }));
  } else if (method === 'sendDocument') {
    msg.document = { ...fileObj, file_name: f.fileName ?? 'document.dat', mime_type: f.mime ?? spec.mime };
  } else if (method === 'sendVoice') {
    msg.voice = { ...fileObj, duration: num(params.duration) ?? 1, mime_type: 'audio/ogg' };
  } else if (method === 'sendAudio') {
    msg.audio = { ...fileObj, duration: num(params.duration) ?? 1, file_name: f.fileName ?? undefined, mime_type: f.mime ?? spec.mime };
  } else {
    msg.video = {
      ...fileObj,
      width: 640,
      height: 360,
      duration: num(params.duration) ?? 1,
      file_name: f.fileName ?? undefined,
      mime_type: 'video/mp4',
    };
  }
  record(bot, method, chatId, msg, {
    text: null,
    caption,
    replyTo,
    file: {
      source,
      fileId: f.fileId,
      fileName: f.fileName,
      size: source === 'url' ? null : size,
      url,
      bytes: source === 'url' ? null : f.bytes,
    },
  });
  return msg;
}

export function getFile(bot: BotState, params: Record<string, unknown>, maxDownloadBytes: number): TgObject {
  const id = typeof params.file_id === 'string' ? params.file_id : '';
  if (!id) throw new ApiFailure(400, 'Bad Request: file_id not specified');
  const f = bot.files.get(id);
  if (!f) throw new ApiFailure(400, 'Bad Request: invalid file_id');
  if (f.bytes.length > maxDownloadBytes) throw new ApiFailure(400, 'Bad Request: file is too big');
  return { file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: f.bytes.length, file_path: f.filePath };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Sending an OutboundMessage through a bot (core OutboundCapable.send). Pacing is the
 * outbound queue's job; this sends at once and classifies failures (outbound-errors.ts).
 *
 * - Text above 4096 characters is split (outbound-split.ts); parts go in order.
 * - Media: photo / document / voice / audio / video from `url` (Telegram fetches it),
 *   `base64` (uploaded) or `mediaId` (a file of our MediaStore, uploaded). The kind is
 *   `kind`, else inferred from `mime`. The text is the caption of the first media item when
 *   it fits (1024 characters); a longer text is sent as message(s) before the media.
 * - `replyTo` (`tg:<account>:<chat>:<message_id>`) → `reply_parameters` on the first item,
 *   with allow_sending_without_reply.
 * - A Telegram Business chat (`tgb:<bot>:<owner>:<chat>`) is answered through the owner's
 *   current business connection (`business_connection_id` on every call); a connection that
 *   is unknown, disconnected or without the right to reply fails at once, not retried, with a
 *   sentence saying which (outbound-business.ts).
 * - Once the first item is sent, a retry of the whole message would send it twice; so a 429
 *   on a later item waits `retry_after` and tries that item again (up to `laterItemMaxWaitMs`),
 *   and a 5xx / network failure on a later item is tried again twice before giving up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GrammyError, HttpError, InputFile, type Bot } from 'grammy';
import type { Message } from 'grammy/types';
import {
  buildMessageId,
  parseChatKey,
  ConnectorError,
  RemoteRefusedError,
  ValidationError,
  type MediaStore,
  type OutboundMedia,
  type OutboundMessage,
  type SendHooks,
  type SendResult,
} from '../../core/index.ts';
import { classifyTelegramError } from './outbound-errors.ts';
import { parseBusinessChatKey } from './inbound-business.ts';
import type { BusinessConnectionRecord } from './inbound-business-connections.ts';
import { splitText, TELEGRAM_CAPTION_LIMIT } from './outbound-split.ts';

export type MediaKind = 'photo' | 'document' | 'voice' | 'audio' | 'video';

export interface TelegramSenderOptions {
  /** The bot of an account (bot username), or null when this channel has no such account. */
  botFor: (account: string) => Promise<Bot | null>;
  /** For `mediaId` items. */
  mediaStore: MediaStore;
  /** Longest wait for a 429 on the second and later items of one message, ms (default 60000). */
  laterItemMaxWaitMs?: number;
  /** The current business connection of a business account to a bot (Telegram Business chats). */
  businessFor?: (bot: string, ownerId: number) => Promise<BusinessConnectionRecord | null>;
}

export function inferMediaKind(m: OutboundMedia): MediaKind {
  if (m.kind) return m.kind;
  const mime = (m.mime ?? '').toLowerCase();
  if (mime === 'image/jpeg' || mime === 'image/png' || mime === 'image/webp') return 'photo';
  if (mime === 'audio/ogg' || mime === 'audio/opus') return 'voice';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime === 'video/mp4') return 'video';
  return 'document';
}

/** The Telegram message_id of one of our message ids in this chat, or null. */
export function nativeMessageId(chatKey: string, id: string | null): number | null {
  if (!id || !id.startsWith(`${chatKey}:`)) return null;
  const rest = id.slice(chatKey.length + 1);
  return /^\d+$/.test(rest) ? Number(rest) : null;
}

type Step = (reply: { message_id: number; allow_sending_without_reply: true } | undefined) => Promise<Message>;

export class TelegramSender {
  private readonly laterItemMaxWaitMs: number;

  constructor(private readonly opts: TelegramSenderOptions) {
    this.laterItemMaxWaitMs = opts.laterItemMaxWaitMs ?? 60_000;
  }

  async send(message: OutboundMessage, hooks?: SendHooks): Promise<SendResult> {
    const parts = parseChatKey(message.chatId);
    const biz = parseBusinessChatKey(message.chatId);
    if (!parts || parts.channel !== 'telegram' || (!biz && !/^-?\d+$/.test(parts.native))) {
      throw new ValidationError(`The chat id "${message.chatId}" is not a Telegram chat key.`, 'invalid_chat_id');
    }
    const bot = await this.opts.botFor(parts.account);
    if (!bot) throw new ConnectorError('unknown_account', `No Telegram bot named "${parts.account}" is configured.`, { httpStatus: 404 });
    const chatId = biz ? biz.chatId : Number(parts.native);
    const via = biz ? { business_connection_id: await this.connectionFor(biz.bot, biz.ownerId) } : {};
    const steps = await this.plan(bot, chatId, message, via);
    if (steps.length === 0) throw new ValidationError('The message has neither text nor media.', 'empty_message');
    const replyId = nativeMessageId(message.chatId, message.replyTo);
    const nativeIds: string[] = [];
    for (let i = 0; i < steps.length; i += 1) {
      const reply = i === 0 && replyId !== null ? { message_id: replyId, allow_sending_without_reply: true as const } : undefined;
      if (i > 0) await hooks?.beforeCall?.(i);
      const sent = i === 0 ? await this.once(steps[i], reply) : await this.later(steps[i]);
      nativeIds.push(buildMessageId(message.chatId, sent.message_id));
    }
    return { nativeIds, at: new Date().toISOString() };
  }

  private async once(step: Step, reply: Parameters<Step>[0]): Promise<Message> {
    try {
      return await step(reply);
    } catch (err) {
      throw classifyTelegramError(err);
    }
  }

  private async later(step: Step): Promise<Message> {
    const deadline = Date.now() + this.laterItemMaxWaitMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await step(undefined);
      } catch (err) {
        const wait =
          err instanceof GrammyError && err.error_code === 429
            ? (err.parameters.retry_after ?? 1) * 1000
            : (err instanceof HttpError || (err instanceof GrammyError && err.error_code >= 500)) && attempt < 3
              ? 500 * attempt
              : null;
        if (wait === null || Date.now() + wait > deadline) throw classifyTelegramError(err);
        await sleep(wait);
      }
    }
  }

  /** The business_connection_id to answer a business chat through, or a refusal saying why not. */
  private async connectionFor(bot: string, ownerId: number): Promise<string> {
    const rec = (await this.opts.businessFor?.(bot, ownerId)) ?? null;
    if (!rec) {
      throw new RemoteRefusedError(
        'telegram_business_unknown',
        `The business account ${ownerId} has no connection to the bot @${bot}; its chats cannot be answered.`,
        { httpStatus: 404 },
      );
    }
    const who = rec.ownerName ? `${rec.ownerName} (${ownerId})` : String(ownerId);
    if (!rec.enabled) {
      throw new RemoteRefusedError(
        'telegram_business_disconnected',
        `The business account ${who} disconnected the bot @${bot}; replies cannot be sent until it connects the bot again.`,
        { httpStatus: 409 },
      );
    }
    if (!rec.canReply) {
      throw new RemoteRefusedError(
        'telegram_business_no_reply_right',
        `The business account ${who} does not let the bot @${bot} reply in its chats.`,
        { httpStatus: 409 },
      );
    }
    return rec.id;
  }

  private async plan(bot: Bot, chatId: number, m: OutboundMessage, via: { business_connection_id?: string }): Promise<Step[]> {
    const text = m.text ?? '';
    const steps: Step[] = [];
    const captionFits = m.media.length > 0 && text.length <= TELEGRAM_CAPTION_LIMIT;
    if (!captionFits && text.trim() !== '') {
      for (const part of splitText(text)) {
        steps.push((reply) => bot.api.sendMessage(chatId, part, { ...via, ...(reply ? { reply_parameters: reply } : {}) }));
      }
    }
    for (let i = 0; i < m.media.length; i += 1) {
      const item = m.media[i];
      const file = await this.fileOf(item);
      const caption = i === 0 && captionFits && text !== '' ? text : undefined;
      const kind = inferMediaKind(item);
      steps.push((reply) => {
        const other = { ...via, ...(caption !== undefined ? { caption } : {}), ...(reply ? { reply_parameters: reply } : {}) };
        switch (kind) {
          case 'photo':
            return bot.api.sendPhoto(chatId, file(), other);
          case 'voice':
            return bot.api.sendVoice(chatId, file(), other);
          case 'audio':
            return bot.api.sendAudio(chatId, file(), other);
          case 'video':
            return bot.api.sendVideo(chatId, file(), other);
          default:
            return bot.api.sendDocument(chatId, file(), other);
        }
      });
    }
    return steps;
  }

  /** A fresh InputFile (or URL) per attempt: an InputFile cannot be read twice. */
  private async fileOf(item: OutboundMedia): Promise<() => InputFile | string> {
    if (item.url) {
      const url = item.url;
      return () => url;
    }
    if (item.base64) {
      const bytes = Buffer.from(item.base64, 'base64');
      return () => new InputFile(bytes, item.fileName ?? undefined);
    }
    if (item.mediaId) {
      const stored = await this.opts.mediaStore.open(item.mediaId);
      if (!stored) throw new ValidationError(`The media item "${item.mediaId}" is not in the media store.`, 'media_not_found', 404);
      const name = item.fileName ?? stored.ref.fileName ?? undefined;
      return () => new InputFile(stored.path, name);
    }
    throw new ValidationError('A media item needs url, base64 or mediaId.', 'invalid_media');
  }
}

/**
 * Sending through a TDLib user account (issue 20, part 2): text and media (photo, video,
 * voice, audio, document, each from a local file TDLib uploads). TDLib answers
 * `sendMessage` at once with a temporary message (sending_state pending) and reports the
 * outcome later as `updateMessageSendSucceeded` (the final message id) or
 * `updateMessageSendFailed` (TDLib's error); the send resolves on that outcome, so the status
 * 1C gets is Telegram's, not TDLib's queue's. A flood wait (429 "retry after N" /
 * FLOOD_WAIT_N) is a retryable refusal carrying N seconds, which the outbound lane obeys.
 */
import {
  buildMessageId,
  parseChatKey,
  RemoteRefusedError,
  UnreachableError,
  ValidationError,
  type OutboundMedia,
  type OutboundMessage,
  type SendHooks,
  type SendResult,
} from '../../core/index.ts';
import { tdErrorOf, type TdClient, type TdObject } from './tdlib-client.ts';

const TEXT_LIMIT = 4096;
const CAPTION_LIMIT = 1024;

export function tdRefusal(code: number, message: string): RemoteRefusedError {
  const wait = /retry after (\d+)/i.exec(message) ?? /FLOOD_WAIT_(\d+)/.exec(message);
  if (code === 429 || wait) {
    const s = Number(wait?.[1] ?? 1);
    return new RemoteRefusedError('telegram_flood_wait', `Telegram asks to wait ${s} s before sending more from this account.`, {
      retryable: true,
      retryAfterMs: s * 1000,
      httpStatus: 429,
    });
  }
  if (/USER_IS_BLOCKED|blocked/i.test(message)) {
    return new RemoteRefusedError('telegram_blocked', 'The customer blocked this account.', { httpStatus: 403 });
  }
  if (/chat not found|CHAT_ID_INVALID|PEER_ID_INVALID/i.test(message)) {
    return new RemoteRefusedError('telegram_chat_not_found', 'Telegram does not know this chat for this account.', { httpStatus: 404 });
  }
  return new RemoteRefusedError('telegram_rejected', `Telegram refused the message: ${message}.`, { httpStatus: 400 });
}

/** A media item as a local file TDLib can upload. */
export interface TdLocalFile {
  path: string;
  mime: string | null;
  fileName: string | null;
}

export interface TdSendOptions {
  /** Resolves a media item (mediaId, url, base64) to a local file; absent: media are refused. */
  localFile?(item: OutboundMedia): Promise<TdLocalFile>;
  /** How long a pending message may wait for TDLib's outcome (default 2 minutes): then retried. */
  outcomeTimeoutMs?: number;
  hooks?: SendHooks;
}

type Kind = 'photo' | 'document' | 'voice' | 'audio' | 'video';

function kindOf(item: OutboundMedia, mime: string | null): Kind {
  if (item.kind) return item.kind;
  const m = (mime ?? item.mime ?? '').toLowerCase();
  if (m === 'image/jpeg' || m === 'image/png' || m === 'image/webp') return 'photo';
  if (m === 'audio/ogg' || m === 'audio/opus') return 'voice';
  if (m.startsWith('audio/')) return 'audio';
  if (m === 'video/mp4') return 'video';
  return 'document';
}

/** td_api.tl InputMessageContent of one file (sizes and durations left for TDLib to find). */
function fileContent(kind: Kind, path: string, caption: string | null): TdObject {
  const file = { _: 'inputFileLocal', path };
  const cap = caption ? { caption: { _: 'formattedText', text: caption, entities: [] } } : {};
  switch (kind) {
    case 'photo':
      return { _: 'inputMessagePhoto', photo: file, added_sticker_file_ids: [], width: 0, height: 0, ...cap };
    case 'video':
      return {
        _: 'inputMessageVideo',
        video: file,
        added_sticker_file_ids: [],
        duration: 0,
        width: 0,
        height: 0,
        supports_streaming: true,
        ...cap,
      };
    case 'voice':
      return { _: 'inputMessageVoiceNote', voice_note: file, duration: 0, waveform: '', ...cap };
    case 'audio':
      return { _: 'inputMessageAudio', audio: file, duration: 0, title: '', performer: '', ...cap };
    default:
      return { _: 'inputMessageDocument', document: file, disable_content_type_detection: false, ...cap };
  }
}

/** One message through TDLib: text, or text and media (the text as the first item's caption when it fits). */
export async function sendTdMessage(client: TdClient, message: OutboundMessage, o: TdSendOptions = {}): Promise<SendResult> {
  const parts = parseChatKey(message.chatId);
  if (!parts || !message.chatId.startsWith('tgu:') || !/^-?\d+$/.test(parts.native)) {
    throw new ValidationError(`The chat id "${message.chatId}" is not a Telegram user-account chat key.`, 'invalid_chat_id');
  }
  const text = message.text ?? '';
  if (text.trim() === '' && message.media.length === 0)
    throw new ValidationError('The message has neither text nor media.', 'empty_message');
  if (text.length > TEXT_LIMIT) throw new ValidationError(`The text is longer than ${TEXT_LIMIT} characters.`, 'text_too_long');
  if (message.media.length > 0 && !o.localFile)
    throw new ValidationError('Media through this Telegram user account cannot be sent.', 'unsupported_media');
  const chatId = Number(parts.native);
  const replyId = message.replyTo?.startsWith(`${message.chatId}:`) ? Number(message.replyTo.slice(message.chatId.length + 1)) : NaN;

  const contents: TdObject[] = [];
  const captionFits = message.media.length > 0 && text.length <= CAPTION_LIMIT;
  if (text.trim() !== '' && !captionFits) contents.push({ _: 'inputMessageText', text: { _: 'formattedText', text, entities: [] } });
  for (const [i, item] of message.media.entries()) {
    const f = await (o.localFile as NonNullable<TdSendOptions['localFile']>)(item);
    contents.push(fileContent(kindOf(item, f.mime), f.path, i === 0 && captionFits && text !== '' ? text : null));
  }
  const nativeIds: string[] = [];
  for (const [i, content] of contents.entries()) {
    if (i > 0) await o.hooks?.beforeCall?.(i);
    const reply = i === 0 && Number.isFinite(replyId) ? replyId : null;
    const id = await sendOne(client, chatId, content, reply, o.outcomeTimeoutMs ?? 120_000);
    nativeIds.push(buildMessageId(message.chatId, id));
  }
  return { nativeIds, at: new Date().toISOString() };
}

/** Text only (kept for callers that send no media). */
export function sendTdText(client: TdClient, message: OutboundMessage, outcomeTimeoutMs = 120_000): Promise<SendResult> {
  return sendTdMessage(client, message, { outcomeTimeoutMs });
}

/** One sendMessage; resolves with the final message id from TDLib's later outcome. */
async function sendOne(
  client: TdClient,
  chatId: number,
  content: TdObject,
  replyId: number | null,
  outcomeTimeoutMs: number,
): Promise<number> {
  // Subscribe before sending: the outcome can arrive before invoke's answer is handled.
  const outcomes = new Map<number, TdObject>();
  let wake: (() => void) | null = null;
  const off = client.onUpdate((u) => {
    if (u._ !== 'updateMessageSendSucceeded' && u._ !== 'updateMessageSendFailed') return;
    if (typeof u.old_message_id === 'number') outcomes.set(u.old_message_id, u);
    wake?.();
  });
  try {
    let pending: TdObject;
    try {
      pending = await client.invoke({
        _: 'sendMessage',
        chat_id: chatId,
        ...(replyId !== null ? { reply_to: { _: 'inputMessageReplyToMessage', message_id: replyId } } : {}),
        input_message_content: content,
      });
    } catch (err) {
      const e = tdErrorOf(err);
      throw tdRefusal(e.code, e.message);
    }
    const tempId = pending.id as number;
    const deadline = Date.now() + outcomeTimeoutMs;
    while (!outcomes.has(tempId)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new UnreachableError(
          'telegram_user_no_outcome',
          'TDLib did not say within the time limit whether Telegram took the message.',
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    const outcome = outcomes.get(tempId) as TdObject;
    if (outcome._ === 'updateMessageSendFailed') {
      const e = (outcome.error ?? {}) as { code?: number; message?: string };
      throw tdRefusal(e.code ?? 0, e.message ?? 'unknown error');
    }
    return (outcome.message as TdObject).id as number;
  } finally {
    off();
  }
}

/**
 * Sending through a TDLib user account (issue 20, part 2; text only so far). TDLib answers
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
  type OutboundMessage,
  type SendResult,
} from '../../core/index.ts';
import { tdErrorOf, type TdClient, type TdObject } from './tdlib-client.ts';

const TEXT_LIMIT = 4096;

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

/**
 * How long a pending message may wait for TDLib's outcome (default 2 minutes): after it the
 * send is retried (TDLib lost the connection for longer; at-least-once, as for bots).
 */
export async function sendTdText(client: TdClient, message: OutboundMessage, outcomeTimeoutMs = 120_000): Promise<SendResult> {
  const parts = parseChatKey(message.chatId);
  if (!parts || !message.chatId.startsWith('tgu:') || !/^-?\d+$/.test(parts.native)) {
    throw new ValidationError(`The chat id "${message.chatId}" is not a Telegram user-account chat key.`, 'invalid_chat_id');
  }
  const text = message.text ?? '';
  if (message.media.length > 0)
    throw new ValidationError('Media through Telegram user accounts is not supported yet.', 'unsupported_media');
  if (text.trim() === '') throw new ValidationError('The message has neither text nor media.', 'empty_message');
  if (text.length > TEXT_LIMIT) throw new ValidationError(`The text is longer than ${TEXT_LIMIT} characters.`, 'text_too_long');
  const chatId = Number(parts.native);
  const replyId = message.replyTo?.startsWith(`${message.chatId}:`) ? Number(message.replyTo.slice(message.chatId.length + 1)) : NaN;

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
        ...(Number.isFinite(replyId) ? { reply_to: { _: 'inputMessageReplyToMessage', message_id: replyId } } : {}),
        input_message_content: { _: 'inputMessageText', text: { _: 'formattedText', text, entities: [] } },
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
    const finalId = (outcome.message as TdObject).id as number;
    return { nativeIds: [buildMessageId(message.chatId, finalId)], at: new Date().toISOString() };
  } finally {
    off();
  }
}

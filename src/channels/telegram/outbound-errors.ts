/**
 * The one place Telegram failures become our errors (and so the retry decision):
 * GrammyError (Telegram answered) by error_code and description, HttpError (no answer).
 */
import { GrammyError, HttpError } from 'grammy';
import { ConnectorError, RemoteRefusedError, UnreachableError } from '../../core/index.ts';

export function classifyTelegramError(err: unknown): unknown {
  if (err instanceof ConnectorError) return err;
  if (err instanceof GrammyError) {
    const d = err.description;
    const code = err.error_code;
    if (code === 429) {
      const s = err.parameters.retry_after ?? 1;
      return new RemoteRefusedError('telegram_rate_limited', `Telegram asks to wait ${s} s before sending more.`, {
        retryable: true,
        retryAfterMs: s * 1000,
        httpStatus: 429,
        cause: err,
      });
    }
    if (code === 403 && /blocked/i.test(d)) {
      return new RemoteRefusedError('telegram_blocked', 'The customer blocked the bot', { httpStatus: 403, cause: err });
    }
    if (code === 400 && /chat not found/i.test(d)) {
      return new RemoteRefusedError('telegram_chat_not_found', 'Telegram does not know this chat.', { httpStatus: 404, cause: err });
    }
    if (code === 400 && /message is too long/i.test(d)) {
      return new RemoteRefusedError('telegram_message_too_long', 'Telegram refused the message as too long.', {
        httpStatus: 400,
        cause: err,
      });
    }
    if (/BUSINESS_CONNECTION|BUSINESS_PEER|BOT_ACCESS_FORBIDDEN/.test(d)) {
      return new RemoteRefusedError('telegram_business_refused', `Telegram refused to send through the business connection (${d}).`, {
        httpStatus: 409,
        cause: err,
      });
    }
    if (code >= 500) {
      return new UnreachableError('telegram_server_error', `Telegram failed with ${code} (${d}).`, { cause: err });
    }
    return new RemoteRefusedError('telegram_rejected', `Telegram refused the message: ${d}.`, { httpStatus: 400, cause: err });
  }
  if (err instanceof HttpError) {
    return new UnreachableError('telegram_unreachable', 'Telegram could not be reached.', { cause: err });
  }
  return err;
}

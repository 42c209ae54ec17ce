/**
 * How fast outbound messages may leave, per channel, as RateLimiter rules checked (and
 * charged) together before each send, shared by every connector instance through Redis.
 *
 * Telegram (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
 * about 1 message per second to one chat, 20 per minute to one group, 30 per second of one
 * bot over all chats. The defaults keep a small margin below each (network jitter between
 * our decision and Telegram's clock would otherwise turn "exactly at the limit" into 429s).
 * A message Telegram gets as several calls (a split long text, text + media) costs one slot
 * per call.
 *
 * WhatsApp paces itself in the channel (WHATSAPP min interval per account); by default the
 * queue adds nothing there, so it is not paced twice.
 */
import type { RateLimiter, RateRule } from '../coordination/rate-limiter.js';

export interface PacingOptions {
  /** Spacing of messages to one Telegram private chat, ms (default 1 050: 1/s with a 5 % margin). */
  telegramChatIntervalMs?: number;
  /** Spacing of messages to one Telegram group, supergroup or channel, ms (default 3 150: 20/min with a 5 % margin). */
  telegramGroupIntervalMs?: number;
  /** Spacing of one bot's messages over all chats, ms (default 35: ≈ 28.6/s, 30/s with a 5 % margin). */
  telegramBotIntervalMs?: number;
  /** Spacing of one WhatsApp account's messages, ms; null = no queue-side pacing (default null: the channel paces). */
  whatsappAccountIntervalMs?: number | null;
  /**
   * Longest time the sender waits for a slot while holding the chat (default 20 000 ms);
   * a longer wait gives the chat back to the queue with that delay (its order is kept).
   */
  maxWaitMs?: number;
}

export const PACING_DEFAULTS = {
  telegramChatIntervalMs: 1050,
  telegramGroupIntervalMs: 3150,
  telegramBotIntervalMs: 35,
  whatsappAccountIntervalMs: null,
  maxWaitMs: 20_000,
} as const satisfies Required<PacingOptions>;

export class OutboundPacing {
  readonly o: Required<Omit<PacingOptions, 'whatsappAccountIntervalMs'>> & { whatsappAccountIntervalMs: number | null };

  constructor(
    private readonly limiter: RateLimiter,
    opts: PacingOptions = {},
  ) {
    this.o = { ...PACING_DEFAULTS, ...stripUndefined(opts) };
  }

  /** The rules one message must pass; `chatType` is what the inbound side recorded (`private`, `group`, `channel`). */
  rules(channel: string, account: string, chatKey: string, chatType: string | null): RateRule[] {
    if (channel === 'telegram') {
      // One slot per Bot API call: the first is taken before the send, the others in the
      // sender's beforeCall hook (see OutboundService), so each part keeps the spacing.
      const cost = 1;
      const group = chatType === 'group' || chatType === 'channel';
      return [
        {
          key: this.limiter.key('tg', 'chat', chatKey),
          intervalMs: group ? this.o.telegramGroupIntervalMs : this.o.telegramChatIntervalMs,
          cost,
        },
        { key: this.limiter.key('tg', 'bot', account), intervalMs: this.o.telegramBotIntervalMs, cost },
      ];
    }
    if (channel === 'whatsapp' && this.o.whatsappAccountIntervalMs !== null) {
      return [{ key: this.limiter.key('wa', 'account', account), intervalMs: this.o.whatsappAccountIntervalMs }];
    }
    return [];
  }

  acquire(rules: RateRule[], signal: AbortSignal): ReturnType<RateLimiter['acquire']> {
    return this.limiter.acquire(rules, { maxWaitMs: this.o.maxWaitMs, signal });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

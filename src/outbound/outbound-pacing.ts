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
 *
 * How a send gets its slot (issue 19 item 5): one Redis call books the earliest moment every
 * rule allows (RateLimiter.reserve, Redis's clock), so drivers of many chats of one bot — in
 * one process or several instances — are given distinct slots of the bot in turn and together
 * use its whole rate, never more. Two waits are never spent holding a worker slot:
 * - the chat's own spacing (≈ 1 s): the chat is handed back to the lane until its slot is due
 *   (a LaneDeferral: the lane keeps the chat locked meanwhile and kicks it again then);
 * - a bot slot further away than `maxHoldMs`: the same, until it is nearer.
 * Only a bot slot at most `maxHoldMs` away is booked and waited for by the driver.
 */
import type { RateLimiter, RateRule, ReserveResult } from '../coordination/rate-limiter.js';

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
   * Longest wait for a booked account-wide slot (the bot's) that a driver spends holding the
   * chat and a worker slot (default 250 ms); a later slot gives the chat back to the queue
   * until then (its order is kept). Larger = fewer hand-backs, more worker slots waiting.
   */
  maxHoldMs?: number;
  /** Longest wait for the slot of a later part of a message already half sent (default 20 000 ms). */
  maxWaitMs?: number;
}

export const PACING_DEFAULTS = {
  telegramChatIntervalMs: 1050,
  telegramGroupIntervalMs: 3150,
  telegramBotIntervalMs: 35,
  whatsappAccountIntervalMs: null,
  maxHoldMs: 250,
  maxWaitMs: 20_000,
} as const satisfies Required<PacingOptions>;

/**
 * How close a chat's own slot may be for the driver to book and wait for it rather than hand
 * the chat back (a delayed kick that came a hair early by Redis's clock is not sent round again).
 */
const CHAT_SLACK_MS = 30;

/**
 * A driver that wakes this much after its booked slot (a busy event loop, a GC pause) books
 * again instead of sending: its send would land among the slots booked after it and crowd the
 * messenger's window (Telegram counts ~30 in any second: 30 sends 35 ms apart span 1 015 ms,
 * so one send ≈ 50 ms late makes 31 in one second). The slot it missed stays unused — a
 * booking again costs the bot that slot, so the threshold stays just under what Telegram
 * would notice (on a starved machine, 20 ms burned ~1 slot in 8).
 */
export const LATE_MS = 40;

/** A booking's answer; a refusal says whether the chat's own spacing refused (not a shared limit). */
export type PacedReserve = { ok: true; waitMs: number; slotUs: number } | { ok: false; retryAfterMs: number; perChat: boolean };

/** A rule and whether it spaces one chat (its slot is the chat's, not shared). */
export interface PacedRule extends RateRule {
  perChat: boolean;
}

export class OutboundPacing {
  readonly o: Required<Omit<PacingOptions, 'whatsappAccountIntervalMs'>> & { whatsappAccountIntervalMs: number | null };

  constructor(
    private readonly limiter: RateLimiter,
    opts: PacingOptions = {},
  ) {
    this.o = { ...PACING_DEFAULTS, ...stripUndefined(opts) };
  }

  /** The rules one message must pass; `chatType` is what the inbound side recorded (`private`, `group`, `channel`). */
  rules(channel: string, account: string, chatKey: string, chatType: string | null): PacedRule[] {
    if (channel === 'telegram') {
      // One slot per Bot API call: the first is booked before the send, the others in the
      // sender's beforeCall hook (see OutboundService), so each part keeps the spacing.
      const group = chatType === 'group' || chatType === 'channel';
      return [
        {
          key: this.limiter.key('tg', 'chat', chatKey),
          intervalMs: group ? this.o.telegramGroupIntervalMs : this.o.telegramChatIntervalMs,
          perChat: true,
        },
        { key: this.limiter.key('tg', 'bot', account), intervalMs: this.o.telegramBotIntervalMs, perChat: false },
      ];
    }
    if (channel === 'whatsapp' && this.o.whatsappAccountIntervalMs !== null) {
      return [{ key: this.limiter.key('wa', 'account', account), intervalMs: this.o.whatsappAccountIntervalMs, perChat: false }];
    }
    return [];
  }

  /**
   * Books the first send of a message: a slot at most `maxHoldMs` away (the chat's own at most
   * a hair away), else nothing booked and when to come back.
   */
  async reserve(rules: PacedRule[]): Promise<PacedReserve> {
    const r = await this.limiter.reserve(rules.map((x) => ({ ...x, maxWaitMs: x.perChat ? CHAT_SLACK_MS : this.o.maxHoldMs })));
    if (r.ok) return r;
    const perChat = rules.some((x) => x.perChat && x.key === r.rule.key);
    // A shared limit's refusal: the callers it refused all come back when it nears, and
    // only a few get a slot then; spread them over the hold window so fewer come back for nothing.
    return { ok: false, perChat, retryAfterMs: perChat ? r.retryAfterMs : r.retryAfterMs + Math.floor(Math.random() * this.o.maxHoldMs) };
  }

  /**
   * Books again after missing a booked slot (woke late): a new slot of the shared limits, at
   * most `maxHoldMs` away; the chat's key, already charged for this send, only moves on to
   * the new slot + its interval.
   */
  async rebook(rules: PacedRule[]): Promise<PacedReserve> {
    const r = await this.limiter.reserve(rules.map((x) => (x.perChat ? { ...x, follow: true } : { ...x, maxWaitMs: this.o.maxHoldMs })));
    return r.ok ? r : { ok: false, perChat: false, retryAfterMs: r.retryAfterMs };
  }

  /** Books a later part of a message already half sent: it must go, so up to `maxWaitMs` away. */
  reserveLater(rules: PacedRule[]): Promise<ReserveResult> {
    return this.limiter.reserve(rules.map((r) => ({ ...r, maxWaitMs: this.o.maxWaitMs })));
  }

  /** After a send booked at `sentAt` (ms, local clock): the earliest the chat's next one may go. */
  chatFreeAt(rules: PacedRule[], sentAt: number): number {
    let at = sentAt;
    for (const r of rules) if (r.perChat) at = Math.max(at, sentAt + r.intervalMs * (r.cost ?? 1));
    return at;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A rate limiter shared by every connector instance: GCRA (the "generic cell rate
 * algorithm", a leaky bucket that stores one timestamp per key) in one Lua script, so
 * several limits (per chat, per bot) are checked and charged together, atomically, on
 * Redis's own clock. Nothing is charged when any limit says "wait": a caller that is
 * refused by the bot-wide limit does not burn its chat's slot.
 *
 *   rule = { key, intervalMs, burst }: at most one event per `intervalMs` on average,
 *   with up to `burst` events back to back (burst 1 = evenly spaced).
 *
 * `tryAcquire` answers at once (0 = go, else ms to wait); `acquire` waits (with jitter, so
 * many waiters do not wake in lock step) until allowed, or gives up when the wait would
 * exceed `maxWaitMs` and says how long the caller should stay away.
 *
 * `reserve` (issue 19 item 5) books the earliest slot every rule allows, on Redis's clock,
 * when it is no further away than each rule's `maxWaitMs`, and tells the caller when to go:
 * many callers of one limit (drivers, processes, instances) are given distinct slots in turn
 * instead of polling and racing for the next one, so together they use the whole rate and
 * never more. Beyond a rule's `maxWaitMs` nothing is booked and the caller is told when to
 * come back (e.g. a chat's next send: the caller gives the chat back and returns then).
 */
import type { Redis } from 'ioredis';
import { abortableSleep } from '../core/index.ts';
import { defineScripts, luaScript } from '../redis/redis-scripts.ts';

/** One limit. Keys are full Redis keys; build them with `RateLimiter.key()`. */
export interface RateRule {
  key: string;
  /** Average spacing of events in milliseconds (may be fractional: 1000 / 30). */
  intervalMs: number;
  /** Events allowed back to back before the spacing applies (default 1). */
  burst?: number;
  /**
   * Slots this event uses (default 1). It goes as soon as the first slot is free; the
   * following events of the key wait for all of them (a message Telegram gets in 3 parts).
   */
  cost?: number;
  /** `reserve` only: the longest wait this rule lets a caller book ahead (default 0: only a slot free now). */
  maxWaitMs?: number;
  /**
   * `reserve` only: this rule neither holds the booking back nor refuses it; its key only
   * moves on to at least the booked slot + interval × cost. For booking again an event an
   * earlier booking of this key already counted (a caller that missed its slot).
   */
  follow?: boolean;
}

export interface RateLimiterOptions {
  redis: Redis;
  /** Key prefix (QUEUE_PREFIX); keys are `<prefix>:rate:<name>`. */
  prefix: string;
}

export interface AcquireOptions {
  /** Longest total wait before giving up (default 20 000 ms). */
  maxWaitMs?: number;
  /** Aborts the wait (pause, shutdown); `acquire` then resolves not allowed. */
  signal?: AbortSignal;
  /** Extra random sleep on top of each computed wait, spreading waiters (default 15 ms). */
  jitterMs?: number;
}

export type AcquireResult = { ok: true; waitedMs: number } | { ok: false; retryAfterMs: number; aborted: boolean };

/** `reserve`: booked (go in `waitMs`), or refused (nothing booked; no slot before `retryAfterMs`). */
export type ReserveResult = { ok: true; waitMs: number; slotUs: number } | { ok: false; retryAfterMs: number; rule: RateRule };

/** rateReserve: the rules' keys (their number first), per rule interval, tolerance, cost, longest wait (µs), follow. */
const RESERVE = luaScript(new URL('./scripts/rateReserve.lua', import.meta.url));

/** rateGcra: the rules' keys (their number first), per rule interval, tolerance, cost (µs). */
const GCRA = luaScript(new URL('./scripts/rateGcra.lua', import.meta.url));

type LimiterRedis = Redis & {
  rateGcra(numKeys: number, ...args: (string | number)[]): Promise<number>;
  rateReserve(numKeys: number, ...args: (string | number)[]): Promise<[number, number, number?]>;
};

export class RateLimiter {
  private readonly redis: LimiterRedis;
  private readonly base: string;

  constructor(opts: RateLimiterOptions) {
    const r = opts.redis as LimiterRedis;
    defineScripts(opts.redis, [GCRA, RESERVE]);
    this.redis = r;
    this.base = `${opts.prefix}:rate:`;
  }

  /** The Redis key of a named limit, e.g. `key('tg', 'chat', chatKey)`. */
  key(...parts: string[]): string {
    return this.base + parts.join(':');
  }

  /** One atomic check of every rule: 0 when allowed (all charged), else ms to wait (none charged). */
  async tryAcquire(rules: readonly RateRule[]): Promise<number> {
    if (rules.length === 0) return 0;
    const args: (string | number)[] = [];
    for (const r of rules) {
      if (!(r.intervalMs > 0)) throw new RangeError(`rate rule ${r.key}: intervalMs must be > 0`);
      const burst = Math.max(1, Math.floor(r.burst ?? 1));
      const intervalUs = Math.round(r.intervalMs * 1000);
      args.push(intervalUs, intervalUs * (burst - 1), Math.max(1, Math.floor(r.cost ?? 1)));
    }
    const waitUs = Number(await this.redis.rateGcra(rules.length, ...rules.map((r) => r.key), ...args));
    return waitUs <= 0 ? 0 : Math.ceil(waitUs / 1000);
  }

  /**
   * Books the earliest slot every rule allows when it is within each rule's `maxWaitMs`
   * (every key charged at that slot; the caller goes in `waitMs`), else books nothing and
   * says when a booking could succeed. One call, atomic over the rules, Redis's clock.
   */
  async reserve(rules: readonly RateRule[]): Promise<ReserveResult> {
    if (rules.length === 0) return { ok: true, waitMs: 0, slotUs: 0 };
    const args: (string | number)[] = [];
    for (const r of rules) {
      if (!(r.intervalMs > 0)) throw new RangeError(`rate rule ${r.key}: intervalMs must be > 0`);
      const burst = Math.max(1, Math.floor(r.burst ?? 1));
      const intervalUs = Math.round(r.intervalMs * 1000);
      const maxWaitUs = Math.max(0, Math.round((r.maxWaitMs ?? 0) * 1000));
      args.push(intervalUs, intervalUs * (burst - 1), Math.max(1, Math.floor(r.cost ?? 1)), maxWaitUs, r.follow ? 1 : 0);
    }
    const [booked, waitUs, third] = await this.redis.rateReserve(rules.length, ...rules.map((r) => r.key), ...args);
    const ms = Math.max(0, Number(waitUs)) / 1000;
    if (Number(booked) === 1) return { ok: true, waitMs: ms, slotUs: Number(third) };
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(ms)), rule: rules[Math.max(0, Number(third) - 1)] ?? rules[0] };
  }

  /** Waits until every rule allows one event (then charged), or gives up (nothing charged). */
  async acquire(rules: readonly RateRule[], opts: AcquireOptions = {}): Promise<AcquireResult> {
    const maxWaitMs = opts.maxWaitMs ?? 20_000;
    const jitterMs = opts.jitterMs ?? 15;
    const started = Date.now();
    for (;;) {
      if (opts.signal?.aborted) return { ok: false, retryAfterMs: 0, aborted: true };
      const wait = await this.tryAcquire(rules);
      const waited = Date.now() - started;
      if (wait === 0) return { ok: true, waitedMs: waited };
      if (waited + wait > maxWaitMs) return { ok: false, retryAfterMs: wait, aborted: false };
      const slept = await abortableSleep(wait + Math.floor(Math.random() * jitterMs), opts.signal);
      if (!slept) return { ok: false, retryAfterMs: 0, aborted: true };
    }
  }
}

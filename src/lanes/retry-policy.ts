/**
 * The one place that decides when work is tried again. Every lane's BullMQ worker uses
 * this as its backoff strategy; nothing else sleeps-and-retries on its own.
 *
 * Nothing a customer sent is ever dropped for being "retried too often": lanes retry for as
 * long as the outage lasts, with exponential backoff, full jitter and a cap. A remote that
 * names its own wait (Telegram `retry_after`) is obeyed exactly.
 */
import { backoffDelayMs, isRetryable, retryAfterMs } from '../core/index.ts';

export interface RetryPolicyOptions {
  /** First delay (default 500 ms). */
  baseMs?: number;
  /** Largest delay (default 30 s). */
  capMs?: number;
  /** Delay for errors that need a person to fix something (bad credentials, not published) (default = capMs). */
  configErrorMs?: number;
  /** Random source, injectable for tests. */
  random?: () => number;
}

export class RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly configErrorMs: number;
  private readonly random: () => number;

  constructor(opts: RetryPolicyOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.capMs = opts.capMs ?? 30_000;
    this.configErrorMs = opts.configErrorMs ?? this.capMs;
    this.random = opts.random ?? Math.random;
  }

  /** Delay before attempt `attemptsMade + 1`. */
  delayMs(attemptsMade: number, err: unknown): number {
    const told = retryAfterMs(err);
    if (told !== undefined) return told;
    // A configuration problem will not fix itself quickly; keep trying slowly, never drop.
    if (!isRetryable(err)) return this.configErrorMs;
    return backoffDelayMs(attemptsMade - 1, { minMs: this.baseMs, maxMs: this.capMs, random: this.random });
  }
}

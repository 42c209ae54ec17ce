/**
 * The one exponential back-off of the project (lanes, Telegram runners): the step doubles
 * per failure up to a cap, with "equal jitter" — at least half the step, so retries spread
 * out but never hammer.
 */
export interface BackoffOptions {
  /** First step, ms. */
  minMs: number;
  /** Largest step, ms. */
  maxMs: number;
  /** Random source in [0, 1), injectable for tests (default Math.random). */
  random?: () => number;
}

/** Delay after the `failures`-th failure in a row (0 = the first failure). */
export function backoffDelayMs(failures: number, o: BackoffOptions): number {
  const step = Math.min(o.maxMs, o.minMs * 2 ** Math.min(Math.max(0, failures), 30));
  return Math.round(step / 2 + (o.random ?? Math.random)() * (step / 2));
}

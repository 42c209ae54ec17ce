/**
 * "Not now: drive this key again in N ms" — a sink's answer that is not a failure (issue 19
 * item 5). The outbound lane gives it for a chat whose next send slot is not due yet (a
 * messenger's per-chat pacing): rather than waiting for the slot inside the driver, which
 * would hold one of the lane's worker slots for the whole wait, the driver acknowledges what
 * it sent and hands the key back:
 *
 * - the key's lock stays ours until just before the time given (as for a told wait, see
 *   OrderedLane's releaseAfterFailure), so neither a newer append's kick nor the sweep drives
 *   the key in between, and the order and no-duplicate rules of the lock are unchanged;
 * - a delayed kick of the key is queued for that time, and the kick job that drove it ends
 *   as completed (no failed attempt, no warning: this is pacing, not an error).
 *
 * It is a ConnectorError with `retryAfterMs`, so a lane that does not know deferrals (or any
 * code reading `retryAfterMs()`) still treats it as a told wait of the same length.
 */
import { ConnectorError } from '../core/index.ts';

export class LaneDeferral extends ConnectorError {
  constructor(afterMs: number, message: string) {
    super('lane_deferred', message, { retryable: true, retryAfterMs: Math.max(1, Math.ceil(afterMs)) });
  }
}

export function isLaneDeferral(err: unknown): err is LaneDeferral {
  return err instanceof LaneDeferral;
}

/**
 * What to do when a Baileys socket closes, decided from the Boom status code Baileys puts
 * in `lastDisconnect.error.output.statusCode` (Types/index DisconnectReason), and how long
 * to wait before reconnecting.
 */
import { DisconnectReason } from '@whiskeysockets/baileys';

export type CloseDecision =
  | 'restart'
  | 'logged_out'
  | 'replaced'
  | 'reconnect_backoff'
  /** 403: WhatsApp refuses this number (banned or restricted): a person must look. */
  | 'forbidden'
  /** 411: the linked device and the phone disagree (multi-device mismatch): re-pair. */
  | 'mismatch'
  /** 405: WhatsApp refuses the protocol version we speak. */
  | 'outdated_version';

/**
 * The one table (docs/whatsapp.md has it for administrators). Anything not listed
 * (connectionClosed 428, connectionLost/timedOut 408, badSession 500, unavailableService
 * 503, unknown codes, no code at all) reconnects with backoff; an unscanned QR (408 while
 * pairing) is counted as a QR round by the runner.
 */
export const CLOSE_POLICY: ReadonlyMap<number, CloseDecision> = new Map<number, CloseDecision>([
  // after pairing (pair-success) WhatsApp asks for a new connection with the new creds;
  // the runner sends it through the backoff counter (50 in a row must not open 51 sockets at once)
  [DisconnectReason.restartRequired, 'restart'],
  // unlinked from the phone, or the session was revoked: the creds are worthless
  [DisconnectReason.loggedOut, 'logged_out'],
  // another client (another process with the same creds) took the session over
  [DisconnectReason.connectionReplaced, 'replaced'],
  [DisconnectReason.forbidden, 'forbidden'],
  [DisconnectReason.multideviceMismatch, 'mismatch'],
  // not in Baileys' DisconnectReason, but what WhatsApp answers to an outdated client version
  [405, 'outdated_version'],
]);

export function decideOnClose(statusCode: number | undefined): CloseDecision {
  return (statusCode === undefined ? undefined : CLOSE_POLICY.get(statusCode)) ?? 'reconnect_backoff';
}

/** Reads the status code from what Baileys gives in `lastDisconnect.error` (a Boom). */
export function closeStatusCode(error: unknown): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const output = (error as { output?: { statusCode?: unknown } }).output;
  const code = output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export interface BackoffOptions {
  /** First delay (default 1000 ms). */
  baseMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Upper bound of the delay before jitter (default 60 000 ms). */
  maxMs?: number;
  /** Random part: up to this fraction of the delay is added or removed (default 0.2). */
  jitterRatio?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): base·factor^attempt capped at maxMs,
 * then ±jitter. `random` returns [0, 1) (Math.random by default).
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = opts.baseMs ?? 1000;
  const factor = opts.factor ?? 2;
  const max = opts.maxMs ?? 60_000;
  const ratio = opts.jitterRatio ?? 0.2;
  const raw = Math.min(max, base * Math.pow(factor, Math.max(0, attempt)));
  const jitter = raw * ratio * (random() * 2 - 1);
  return Math.max(0, Math.round(raw + jitter));
}

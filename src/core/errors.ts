/**
 * The error base of the product. Every error that reaches a user carries a snake_case
 * `code` (the API's `error.code`), one human sentence as `message`, and the one decision
 * the pipeline needs: may this be tried again, and not before when.
 *
 * Errors are split by where they failed, as grammY does: the remote refused
 * (`RemoteRefusedError`) or we could not reach it (`UnreachableError`). Modules subclass
 * these; the pipeline only ever asks `isRetryable()` / `retryAfterMs()` — the one place
 * the retry decision is read.
 */

export interface ConnectorErrorOptions {
  /** HTTP status this error maps to in our API (default 500). */
  httpStatus?: number;
  /** May the same operation succeed later without anyone changing anything? (default false) */
  retryable?: boolean;
  /** The remote told us how long to wait (e.g. Telegram `retry_after`). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class ConnectorError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, opts: ConnectorErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = opts.httpStatus ?? 500;
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }

  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The remote answered and refused (4xx-like, or an error page). Retryable only when it says so. */
export class RemoteRefusedError extends ConnectorError {}

/** We could not reach the remote or it failed (connection refused, timeout, 5xx). Always retryable. */
export class UnreachableError extends ConnectorError {
  constructor(code: string, message: string, opts: Omit<ConnectorErrorOptions, 'retryable'> = {}) {
    super(code, message, { httpStatus: 502, ...opts, retryable: true });
  }
}

/** Input we were given is wrong; trying again changes nothing. */
export class ValidationError extends ConnectorError {
  constructor(message: string, code = 'invalid_request', httpStatus = 400) {
    super(code, message, { httpStatus, retryable: false });
  }
}

/**
 * The single retry decision. Unknown errors (bugs, surprises) are retried: dropping a
 * customer's message because of our own exception is worse than retrying it.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof ConnectorError ? err.retryable : true;
}

export function retryAfterMs(err: unknown): number | undefined {
  return err instanceof ConnectorError ? err.retryAfterMs : undefined;
}

/** One line for logs and the failed list, never a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Errors of the 1C client and the ONE place that decides what a 1C answer or failure
 * means (onec-http-service.md, "Errors and latency the connector must handle").
 * Messages are one human sentence and never carry credentials or whole error pages.
 */
import { ConnectorError, describeError, RemoteRefusedError, UnreachableError, redactUrl } from '../core/index.ts';

/** No free 1C client license to open a session (recognised by the body text, any status). */
export class OnecLicenseRefusedError extends RemoteRefusedError {
  constructor(message = '1C has no free client license to open a session; try again when one is free.', cause?: unknown) {
    super('onec_license_unavailable', message, { httpStatus: 503, retryable: true, cause });
  }
}

/** 401 (wrong user name, password or PIN) or 403 (the user lacks the rights of the service). */
export class OnecAuthError extends RemoteRefusedError {
  constructor(code: 'invalid_credentials' | 'onec_forbidden', message: string) {
    super(code, message, { httpStatus: code === 'invalid_credentials' ? 401 : 403, retryable: false });
  }
}

/** 404: nothing is published at the configured URL — a configuration error. */
export class OnecNotPublishedError extends RemoteRefusedError {
  constructor(message: string) {
    super('onec_not_published', message, { httpStatus: 502, retryable: false });
  }
}

/** 1C answered with an error of its own (500 exception, 502/503/504): retryable. */
export class OnecRemoteError extends UnreachableError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super('onec_remote_error', message, { httpStatus: 502 });
    this.status = status;
  }
}

/** 1C could not be reached: connection refused or reset, DNS, timeout. */
export class OnecUnreachableError extends UnreachableError {
  constructor(message: string, cause?: unknown) {
    super('onec_unreachable', message, { httpStatus: 502, cause });
  }
}

/** 1C answered something that is not the contract (wrong shape, an HTML page): retryable. */
export class OnecProtocolError extends RemoteRefusedError {
  constructor(message: string) {
    super('onec_protocol_error', message, { httpStatus: 502, retryable: true });
  }
}

/** Any other 4xx: the request itself is wrong (a bug on our side); retrying changes nothing. */
export class OnecBadRequestError extends RemoteRefusedError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super('onec_bad_request', message, { httpStatus: 502, retryable: false });
  }
}

/** 400 "Сеанс отсутствует или удален": the session ended; the client reopens it once. */
export class OnecSessionGoneError extends RemoteRefusedError {
  constructor(message = 'The 1C session no longer exists.') {
    super('onec_session_gone', message, { httpStatus: 502, retryable: true });
  }
}

export const LICENSE_REFUSAL_MARKERS = ['Не обнаружено свободной лицензии', 'There are no free licenses'];
const SESSION_GONE_MARKER = 'Сеанс отсутствует или удален';

/** A short plain-text excerpt of a body (tags stripped, whitespace collapsed, cut). */
export function excerpt(body: string, max = 120): string {
  const plain = body
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}

function sentence(s: string): string {
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

export function looksLikeLicenseRefusal(body: string): boolean {
  return LICENSE_REFUSAL_MARKERS.some((m) => body.includes(m));
}

export interface OnecRawResponse {
  status: number;
  body: string;
  contentType?: string;
}

export interface OnecCallContext {
  /** Endpoint path relative to the service root, e.g. `/messages`. */
  path: string;
  /** The service root (credentials are removed before it appears in a message). */
  baseUrl: string;
}

/**
 * What an HTTP answer of 1C means: null for a 2xx (the caller parses the body and
 * raises OnecProtocolError itself when the shape is wrong), otherwise the typed error.
 */
export function classifyOnecResponse(res: OnecRawResponse, ctx: OnecCallContext): ConnectorError | null {
  const { status, body } = res;
  const where = `${redactUrl(ctx.baseUrl)}${ctx.path}`;
  if (status >= 200 && status < 300) return null;
  if (looksLikeLicenseRefusal(body)) return new OnecLicenseRefusedError();
  if (status === 401) return new OnecAuthError('invalid_credentials', '1C rejected the user name, password or PIN.');
  if (status === 403)
    return new OnecAuthError('onec_forbidden', 'The 1C user has no rights to the chats HTTP service; grant the role in 1C.');
  if (status === 404) {
    return new OnecNotPublishedError(
      `The 1C HTTP service "chats" is not published at ${where}; check ONEC_BASE_URL and the web server publication.`,
    );
  }
  if (status === 400 && body.includes(SESSION_GONE_MARKER)) return new OnecSessionGoneError();
  if (status >= 500) {
    const detail = excerpt(body);
    return new OnecRemoteError(sentence(`1C failed with HTTP ${status} on ${ctx.path}${detail ? `: ${detail}` : ''}`), status);
  }
  const detail = excerpt(body);
  return new OnecBadRequestError(
    sentence(`1C refused the request to ${ctx.path} with HTTP ${status}${detail ? `: ${detail}` : ''}`),
    status,
  );
}

/** What a failure without an HTTP answer means (network errors, timeouts). */
export function classifyOnecFailure(err: unknown, ctx: OnecCallContext & { timeoutMs: number }): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const code = typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? '') : '';
  const host = (() => {
    try {
      return new URL(ctx.baseUrl).host;
    } catch {
      return 'the 1C server';
    }
  })();
  // Never keep the HTTP library's error as the cause: it holds the request config, Authorization header included.
  err = new Error(`${code || 'error'}: ${describeError(err)}`);
  switch (code) {
    case 'ECONNABORTED':
    case 'ETIMEDOUT':
      return new OnecUnreachableError(`1C did not answer ${ctx.path} within ${ctx.timeoutMs} ms.`, err);
    case 'ECONNREFUSED':
      return new OnecUnreachableError(`1C at ${host} refused the connection; is the web server running?`, err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OnecUnreachableError(`The 1C host ${host} cannot be resolved; check ONEC_BASE_URL.`, err);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ERR_BAD_RESPONSE':
      return new OnecUnreachableError(`1C at ${host} dropped the connection during ${ctx.path}.`, err);
    default:
      return new OnecUnreachableError(`1C at ${host} could not be reached for ${ctx.path}${code ? ` (${code})` : ''}.`, err);
  }
}

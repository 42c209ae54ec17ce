/** Errors of operator login and the operator token (connector-api.md, "Operator login errors"). */
import { ConnectorError, RemoteRefusedError, UnreachableError } from '../core/index.ts';

/** `403 chats_not_licensed`: no feature 42 for this host. */
export class ChatsNotLicensedError extends ConnectorError {
  constructor(reason: string | null) {
    super(
      'chats_not_licensed',
      `Chat login is not available: the chat module is not licensed on this host${reason ? ` (${reason.replace(/[.]$/, '')})` : ''}.`,
      { httpStatus: 403, retryable: false },
    );
  }
}

/** `503 onec_license_unavailable` with Retry-After: no free 1C license within ONEC_AUTH_WAIT_MS. */
export class OnecLicenseUnavailableError extends RemoteRefusedError {
  constructor(waitedMs: number, retryAfterMs: number) {
    super(
      'onec_license_unavailable',
      `No 1C client license became free within ${waitedMs} ms to authorize the operator; try again later.`,
      { httpStatus: 503, retryable: true, retryAfterMs },
    );
  }
}

/** `502 onec_unreachable`: 1C is down or failing while authorizing. */
export class OnecLoginUnreachableError extends UnreachableError {
  constructor(detail: string, cause?: unknown) {
    super('onec_unreachable', `1C could not authorize the operator: ${detail.replace(/[.]$/, '')}.`, { httpStatus: 502, cause });
  }
}

/** `401`: a missing, unknown or expired operator token. */
export class OperatorTokenError extends ConnectorError {
  constructor(message = 'This endpoint needs "Authorization: Bearer <operator token>" from a current operator login.') {
    super('invalid_operator_token', message, { httpStatus: 401, retryable: false });
  }
}

/** Public types of the 1C client (onec-http-service.md). */
import type { Logger } from '../core/index.ts';
import type { SessionPermits } from './session-permits.ts';

/** What 1C said about one delivered item. */
export interface OnecItemResult {
  id: string;
  status: 'accepted' | 'duplicate' | 'rejected' | 'unknown';
  /** 1C's reason, for `rejected`. */
  error?: string;
}

export const ONEC_ITEM_STATUSES: ReadonlySet<string> = new Set(['accepted', 'duplicate', 'rejected', 'unknown']);

/** One delivery status of an outbound message, as `POST /statuses` takes it. */
export interface OnecStatusUpdate {
  /** The outbound message id. */
  id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  at: string;
  error?: string;
}

export type OnecRoutingEventType = 'queued' | 'assigned' | 'transferred' | 'closed' | 'reopened';

/** One routing event, as `POST /routing` takes it. */
export interface OnecRoutingEvent {
  /** The event id (idempotency key in 1C). */
  id: string;
  chatId: string;
  type: OnecRoutingEventType;
  operatorId?: string | null;
  group?: string | null;
  comment?: string | null;
  at: string;
  /** Who acted: an operator id, `api` or `system` (additive; 1C ignores fields it does not know). */
  actor?: string;
}

/** The operator `POST /auth` returns. */
export interface OnecOperator {
  id: string;
  name: string;
  groups: string[];
}

export interface OnecLicenses {
  total: number;
  used: number;
  free: number;
}

/** An operator's own 1C user name and password, or the PIN 1C shows for the external panel. */
export type OnecAuthCredentials = { login: string; password: string } | { pin: string };

export interface OnecAuthorizeOptions {
  /** Stops waiting; the short session is still finished before the promise settles. */
  signal?: AbortSignal;
  /** Awaited after 1C opened the session and before it is used (record it for orphan cleanup). */
  onSessionStarted?: (sessionId: string) => Promise<void> | void;
  /** Called once 1C has ended the session (not called when finishing it failed). */
  onSessionFinished?: (sessionId: string) => Promise<void> | void;
}

/** Hooks for metrics; every callback is optional and must not throw. */
export interface OnecObserver {
  /** After every 1C call: endpoint (`messages`, `auth`, …), `ok` or the error code, duration. */
  onCall?(endpoint: string, outcome: string, ms: number): void;
  /** The number of routing sessions open in 1C changed. */
  onSessionsOpen?(n: number): void;
  /** 1C refused to open a session for lack of a free license. */
  onLicenseRefused?(): void;
}

export interface OnecClientOptions {
  /** The service root, e.g. `http://host/base/hs/chats/v1` (ONEC_BASE_URL). Required. */
  baseUrl: string;
  /** The service user routing calls run as (ONEC_USER). Required. */
  user: string;
  /** Its password (ONEC_PASSWORD). Default ''. */
  password?: string;
  /** Timeout of one 1C call in ms (ONEC_TIMEOUT_MS). Default 10000. */
  timeoutMs?: number;
  /** Most routing sessions this client holds at once (ONEC_MAX_SESSIONS). Default 1. */
  maxSessions?: number;
  /** Most items in one POST /messages, /statuses or /routing (ONEC_BATCH_MAX). Default 100, at most 500. */
  batchMax?: number;
  /** A routing session without traffic for this long is finished (ONEC_IDLE_FINISH_MS). Default 2000. */
  idleFinishMs?: number;
  /**
   * How long 1C keeps a session without requests (ONEC_SESSION_MAX_AGE_S, in ms). A session
   * whose `IBSession: finish` was not confirmed (no answer, or a 5xx) may still be open in
   * 1C, so its permit is held this long before it goes back. Default 20 000.
   */
  sessionMaxAgeMs?: number;
  /** Where session permits come from. Default `new LocalSessionPermits(maxSessions)`. */
  permits?: SessionPermits;
  /** Default: silent. */
  logger?: Logger;
  /** Metrics hooks. Default: none. */
  observer?: OnecObserver;
}

/**
 * Options, users and the inspection snapshot of the 1C emulator (onec-http-service.md,
 * "The emulator"). The emulator is for tests, the demo and benchmarks only: its control
 * endpoints under `/_emulator/*` need no authentication.
 */
import type { ContractFault } from './emulator-contract-faults.ts';

/** A 1C infobase user known to the emulator. */
export interface EmulatorUser {
  /** 1C user name used in HTTP Basic auth (may be Cyrillic; sent as UTF-8). */
  login: string;
  password: string;
  /** 1C user id returned by `POST /auth` as `operator.id`. */
  id: string;
  /** Display name returned as `operator.name`, e.g. `Иванов И.И.`. */
  name: string;
  /** Operator groups returned as `operator.groups`, e.g. `['sales']`. */
  groups: string[];
  /** 4-digit PIN for `POST /auth` with `{"pin": …}` ("CTI application authorization"). */
  pin?: string;
  /** Has the rights of the `chats` service (default true); false → every call answers 403. */
  serviceRights?: boolean;
}

export type EmulatorLanguage = 'ru' | 'en';

/** Artificial slowness, applied per request inside the session (so it serializes like 1C). */
export interface EmulatorLatency {
  /** Every call (default 0). */
  perCallMs: number;
  /** Per item in the body: messages, statuses or routing events (default 0). */
  perMessageMs: number;
  /** Extra when the request opens a session with `IBSession: start` (default 0). */
  newSessionMs: number;
}

/** The endpoints of the service, as named in faults and call counters. */
export type EmulatorEndpoint = 'licenses' | 'messages' | 'statuses' | 'routing' | 'auth';
export const EMULATOR_ENDPOINTS: readonly EmulatorEndpoint[] = ['licenses', 'messages', 'statuses', 'routing', 'auth'];

/** "Fail the next N calls": answered instead of the handler, inside the session (cookie still set). */
export interface EmulatorFault {
  /** How many calls fail (default 1). */
  count?: number;
  /** HTTP status to answer (default 500). */
  status?: number;
  /** Body to answer (default: a 1C exception page in HTML). */
  body?: string;
  /** Content type of the body (default `text/html; charset=utf-8`). */
  contentType?: string;
  /** Only calls to this endpoint fail (default: every endpoint). */
  endpoint?: EmulatorEndpoint;
}

/** How an outage looks to clients: a 503 page, a dropped connection, or no answer at all. */
export type OutageMode = '503' | 'drop' | 'hang';

export interface EmulatorOutage {
  mode: OutageMode;
  /** Length of the outage; absent → until cleared. */
  forMs?: number;
}

export interface OnecEmulatorOptions {
  /** TCP port; 0 (default) → a random free port. */
  port?: number;
  /** Interface to listen on (default `127.0.0.1`). */
  host?: string;
  /** Path of the service root (default `/base/hs/chats/v1`). */
  basePath?: string;
  /** Users of the infobase (default DEMO_USERS). */
  users?: EmulatorUser[];
  /** Client licenses of the infobase (default 20). */
  licenseTotal?: number;
  /** Seconds without requests after which a session ends by itself (default 20). */
  sessionMaxAgeS?: number;
  /** Platform language of error texts such as the license refusal (default 'ru'). */
  language?: EmulatorLanguage;
  /** Latency (every field defaults to 0); change at run time with `setLatency()`. */
  latency?: Partial<EmulatorLatency>;
  /**
   * Rejects a message with the returned reason (null → accept). Default: a message whose
   * `text` contains `#reject-me` is rejected.
   */
  rejectWhen?: (msg: Record<string, unknown>) => string | null;
  /** Breaks one rule of the contract on purpose, to prove `onec-check` catches it (default `none`). */
  contractFault?: ContractFault;
}

export interface EmulatorStoredRef {
  id: string;
  seq: number | null;
}

export interface EmulatorBatchStats {
  /** Calls that reached the handler. */
  count: number;
  /** Items in the largest call. */
  maxSize: number;
}

/** What happened so far (`state()` and `GET /_emulator/state`). */
export interface OnecEmulatorState {
  url: string;
  sessions: {
    open: number;
    peakOpen: number;
    opened: number;
    finished: number;
    expired: number;
    /** Most requests of one session present at once (a client sending in parallel on one session shows > 1). */
    peakQueuedInSession: number;
    /** Most requests of one session processed at once (always 1: the platform serializes). */
    peakRunningInSession: number;
  };
  licenses: { total: number; takenByOthers: number; used: number; free: number; refused: number };
  messages: {
    stored: number;
    /** Stored messages per chat key, in arrival order. */
    byChat: Record<string, EmulatorStoredRef[]>;
    duplicates: { count: number; ids: string[] };
    rejected: Array<{ id: string; error: string }>;
  };
  statuses: {
    /** Accepted statuses per outbound id, in arrival order. */
    byId: Record<string, string[]>;
    duplicates: { count: number; ids: string[] };
  };
  routing: {
    events: Array<{ id: string; chatId: string; type: string; operatorId: string | null; group: string | null; actor?: string | null }>;
    duplicates: { count: number; ids: string[] };
  };
  auth: { ok: number; failed: number };
  /** Requests per endpoint (including refused ones); `other` counts unknown paths. */
  calls: Record<EmulatorEndpoint | 'other', number>;
  batches: Record<'messages' | 'statuses' | 'routing', EmulatorBatchStats>;
  faults: { pendingFailures: number; outage: { mode: OutageMode; untilMs: number | null } | null; pendingLicenseRefusals: number };
  latency: EmulatorLatency;
}

/** A default set of users for the demo and tests. Passwords live here, never in logs. */
export const DEMO_USERS: readonly EmulatorUser[] = Object.freeze([
  { login: 'service', password: 'service-pass', id: 'u-service', name: 'Коннектор чатов', groups: [] },
  { login: 'Иванов', password: 'пароль1', id: 'u-ivanov', name: 'Иванов И.И.', groups: ['sales'], pin: '1234' },
  { login: 'Петрова', password: 'пароль2', id: 'u-petrova', name: 'Петрова А.С.', groups: ['support'], pin: '5678' },
  { login: 'Сидоров', password: 'пароль3', id: 'u-sidorov', name: 'Сидоров П.П.', groups: ['sales', 'support'], pin: '4321' },
  { login: 'Гость', password: 'guest', id: 'u-guest', name: 'Гость', groups: [], serviceRights: false },
]);

export const LICENSE_REFUSAL_TEXT: Record<EmulatorLanguage, string> = {
  ru: 'Не обнаружено свободной лицензии!',
  en: 'There are no free licenses!',
};
export const NO_SESSION_HEADER_TEXT = 'Не указан заголовок управления сеансами или куки с идентификатором сеанса.';
export const SESSION_GONE_TEXT = 'Сеанс отсутствует или удален';

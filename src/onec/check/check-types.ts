/**
 * The vocabulary of `onec-check`: a check, its verdict, its outcome in the report, and the
 * context checks share (the client, the credentials, the test chat, the main session).
 */
import { excerpt, looksLikeLicenseRefusal } from '../onec-errors.ts';
import type { Answer, CallRecord, CheckHttp, Credentials } from './check-http.ts';

/** `not-run`: a check that needs what an earlier failed check should have given (or the run was interrupted). */
export type CheckMark = 'pass' | 'fail' | 'skip' | 'not-run';

export interface Verdict {
  mark: CheckMark;
  /** For a failure: what the contract wants. */
  expected?: string;
  /** For a failure: what came back — the exact status and the first line of the body. */
  got?: string;
  /** A detail: why a ✓ is weaker than it looks, which item broke the rule. */
  note?: string;
}

export interface CheckOutcome {
  name: string;
  /** The rule of onec-http-service.md the check proves, in one line. */
  proves: string;
  mark: CheckMark;
  ms: number;
  expected?: string;
  got?: string;
  note?: string;
}

export interface CheckContext {
  http: CheckHttp;
  service: Credentials;
  /** A Cyrillic 1C user to prove UTF-8 Basic auth with (the service user when its name is not ASCII). */
  cyrillic: Credentials | null;
  /** Random part of every id this run writes; the chat key is `test:onec-check:<run>`. */
  run: string;
  chatId: string;
  timeoutMs: number;
  /** A call slower than this fails `response-times`. */
  maxCallMs: number;
  /** The session `session-start` opened; most checks run inside it. */
  mainSession: string | null;
  /** What the cookie of the session `session-finish` ended got afterwards (dead-session-text judges its text). */
  finishedCookieAnswer: Answer | null;
  /** Per message id, what 1C answered to the mixed batch (messages-duplicate repeats the accepted ones). */
  firstBatch: { body: { messages: Array<Record<string, unknown>> }; statusById: Map<string, string> } | null;
}

export interface Check {
  name: string;
  proves: string;
  /** Needs `ctx.mainSession` (not run when session-start failed). */
  needsSession?: boolean;
  run(ctx: CheckContext): Promise<Verdict>;
}

export interface OnecCheckReport {
  ok: boolean;
  interrupted: boolean;
  /** Why nothing could be checked (no answer, or 404 on the first call), or null. */
  unreachable: string | null;
  /** The service root, credentials removed. */
  url: string;
  user: string;
  chatId: string;
  checks: CheckOutcome[];
  calls: CallRecord[];
  sessions: { opened: number; finished: number; open: number; startsUnanswered: number };
  ms: number;
}

export const pass = (note?: string): Verdict => ({ mark: 'pass', ...(note ? { note } : {}) });
export const skip = (note: string): Verdict => ({ mark: 'skip', note });
export const notRun = (note: string): Verdict => ({ mark: 'not-run', note });
export const fail = (expected: string, got: Answer | string, note?: string): Verdict => {
  // The refusal's key sentence is not on the first line of 1C's page: say it outright.
  if (typeof got !== 'string' && looksLikeLicenseRefusal(got.body))
    note = `1C has no free client license (the run needs two at once): free one and run again${note ? `; ${note}` : ''}`;
  return { mark: 'fail', expected, got: typeof got === 'string' ? got : describeAnswer(got), ...(note ? { note } : {}) };
};

/** `<status> <first line of the body>`, or why no answer came. */
export function describeAnswer(a: Answer): string {
  if (a.status === 0) return `no answer (${a.error ?? 'unknown error'})`;
  const line = firstLine(a);
  return line ? `${a.status} ${line}` : `${a.status} (empty body)`;
}

/** The first non-empty line of a body; an HTML page as its text (an exception page's first line is its doctype). */
export function firstLine(a: Pick<Answer, 'body' | 'contentType'>, max = 160): string {
  const body = a.body.replace(/^\uFEFF/, '');
  if (/html/i.test(a.contentType) || /^\s*</.test(body)) return excerpt(body, max);
  const line = body.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const t = line.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The body as JSON, or undefined. */
export function jsonOf(a: Answer): unknown {
  try {
    return JSON.parse(a.body.replace(/^\uFEFF/, '')) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A platform text compared exactly, except for whitespace around it and a BOM. */
export function sameText(body: string, expected: string): boolean {
  return body.replace(/^\uFEFF/, '').trim() === expected;
}

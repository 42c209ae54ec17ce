/**
 * `onec-check`: runs the conformance checks of onec-http-service.md against a 1C
 * publication, in an order where each check finds what it needs (the session of
 * `session-start`, the stored messages of `messages-accepted`), and finishes every session
 * it opened before it returns — after the last check, after an error, after an interrupt.
 *
 *   missing-session-header, bad-password-401, basic-auth-utf8      no session of ours needed
 *   session-start → session-cookie, licenses-shape, license-release, session-finish, dead-session-text
 *   messages-accepted → messages-duplicate, messages-500, statuses, routing → results-one-per-item
 *   error-bodies, auth-wrong-password, auth-wrong-pin
 *   json-answers, response-times                                    judge every call above
 *   sessions-finished                                               after finishing: none left open
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { redactUrl } from '../onec-errors.ts';
import { CheckHttp, CheckInterrupted, type CallRecord, type Credentials } from './check-http.ts';
import { authWrongPassword, authWrongPin, badPassword401, basicAuthUtf8 } from './checks-auth.ts';
import { jsonAnswers, responseTimes } from './checks-answers.ts';
import { errorBodies, messages500, messagesAccepted, messagesDuplicate, resultsOnePerItem, routing, statuses } from './checks-batches.ts';
import {
  deadSessionText,
  licenseRelease,
  licensesShape,
  missingSessionHeader,
  sessionCookie,
  sessionFinish,
  sessionStart,
} from './checks-sessions.ts';
import type { Check, CheckContext, CheckOutcome, OnecCheckReport, Verdict } from './check-types.ts';

export const CHECKS: readonly Check[] = [
  missingSessionHeader,
  badPassword401,
  basicAuthUtf8,
  sessionStart,
  sessionCookie,
  licensesShape,
  licenseRelease,
  sessionFinish,
  deadSessionText,
  messagesAccepted,
  messagesDuplicate,
  messages500,
  statuses,
  routing,
  resultsOnePerItem,
  errorBodies,
  authWrongPassword,
  authWrongPin,
  jsonAnswers,
  responseTimes,
];

export const SESSIONS_FINISHED = {
  name: 'sessions-finished',
  proves: 'every session this run opened was ended with IBSession: finish (no license left held)',
};

/** Every check name, in the order of the report. */
export const CHECK_NAMES: readonly string[] = [...CHECKS.map((c) => c.name), SESSIONS_FINISHED.name];

export interface OnecCheckOptions {
  /** The service root (ONEC_BASE_URL). */
  url: string;
  /** The service user (ONEC_USER / ONEC_PASSWORD). */
  service: Credentials;
  /** A Cyrillic 1C user for `basic-auth-utf8`; without one (and an ASCII service user) that check is skipped. */
  cyrillic?: Credentials | null;
  /** Timeout of one call (ONEC_TIMEOUT_MS). Default 10 000. */
  timeoutMs?: number;
  /** A call slower than this fails `response-times`. Default half of `timeoutMs`. */
  maxCallMs?: number;
  /** Stops after the call in flight; the sessions are still finished. */
  signal?: AbortSignal;
  /** Each outcome as soon as it is known (the CLI prints lines from it). */
  onOutcome?: (o: CheckOutcome) => void;
  onCall?: (c: CallRecord) => void;
}

export async function runOnecCheck(o: OnecCheckOptions): Promise<OnecCheckReport> {
  const t0 = performance.now();
  const timeoutMs = o.timeoutMs ?? 10_000;
  const http = new CheckHttp({ baseUrl: o.url, timeoutMs, signal: o.signal, serviceCreds: o.service, onCall: o.onCall });
  const run = randomBytes(6).toString('hex');
  const ctx: CheckContext = {
    http,
    service: o.service,
    cyrillic: o.cyrillic ?? null,
    run,
    chatId: `test:onec-check:${run}`,
    timeoutMs,
    maxCallMs: o.maxCallMs ?? Math.floor(timeoutMs / 2),
    mainSession: null,
    finishedCookieAnswer: null,
    firstBatch: null,
  };
  const outcomes: CheckOutcome[] = [];
  const record = (check: { name: string; proves: string }, v: Verdict, ms: number): void => {
    const outcome: CheckOutcome = { name: check.name, proves: check.proves, mark: v.mark, ms, ...strip(v) };
    outcomes.push(outcome);
    o.onOutcome?.(outcome);
  };
  let interrupted = false;
  let unreachable: string | null = null;
  try {
    for (const check of CHECKS) {
      if (interrupted || o.signal?.aborted) {
        interrupted = true;
        record(check, { mark: 'not-run', note: 'interrupted' }, 0);
        continue;
      }
      if (unreachable) {
        record(check, { mark: 'not-run', note: 'nothing to check (see the first line)' }, 0);
        continue;
      }
      if (check.needsSession && !ctx.mainSession) {
        record(check, { mark: 'not-run', note: 'needs the session session-start should have opened' }, 0);
        continue;
      }
      http.current = check.name;
      const started = performance.now();
      let verdict: Verdict;
      try {
        verdict = await check.run(ctx);
      } catch (e) {
        if (e instanceof CheckInterrupted) {
          interrupted = true;
          verdict = { mark: 'not-run', note: 'interrupted' };
        } else {
          // A fault of the checker itself: report it on this line and go on with the others.
          verdict = {
            mark: 'fail',
            expected: 'the check to run',
            got: `an error in onec-check: ${e instanceof Error ? e.message : String(e)}`,
          };
        }
      }
      if (check === CHECKS[0]) unreachable = firstCallProblem(http.calls[0]);
      if (unreachable) verdict = { ...verdict, note: unreachable };
      record(check, verdict, Math.round(performance.now() - started));
    }
  } finally {
    // Whatever happened above: no session of this run stays open (each holds a 1C license).
    http.current = SESSIONS_FINISHED.name;
    await http.finishAll();
  }
  const s = http.sessions;
  const unseen = s.startsUnanswered
    ? `; ${s.startsUnanswered} IBSession: start call(s) got no answer — if 1C opened them, it ends them after sessionMaxAge`
    : '';
  record(
    SESSIONS_FINISHED,
    s.open === 0
      ? { mark: 'pass', note: `${s.opened} opened, ${s.finished} finished${unseen}` }
      : {
          mark: 'fail',
          expected: 'every session of this run ended by IBSession: finish',
          got: `${s.open} of ${s.opened} still open after two attempts to finish them`,
          note: `1C ends them after sessionMaxAge${unseen}`,
        },
    0,
  );
  return {
    ok: !interrupted && outcomes.every((c) => c.mark === 'pass' || c.mark === 'skip'),
    interrupted,
    unreachable,
    url: redactUrl(o.url),
    user: o.service.login,
    chatId: ctx.chatId,
    checks: outcomes,
    calls: http.calls,
    sessions: s,
    ms: Math.round(performance.now() - t0),
  };
}

/** When the very first call shows there is no service to check, the other checks would only repeat it. */
function firstCallProblem(c: CallRecord | undefined): string | null {
  if (!c) return null;
  if (c.status === 0) return `1C did not answer the first call (${c.error ?? 'no answer'}): check --url / ONEC_BASE_URL and the web server`;
  if (c.status === 404) return 'the first call got 404: nothing is published at this URL; check --url / ONEC_BASE_URL (…/hs/chats/v1)';
  return null;
}

function strip(v: Verdict): Partial<CheckOutcome> {
  const out: Partial<CheckOutcome> = {};
  if (v.expected !== undefined) out.expected = v.expected;
  if (v.got !== undefined) out.got = v.got;
  if (v.note !== undefined) out.note = v.note;
  return out;
}

/** One line per check: `✓ name (12 ms)`, `✗ name: expected …, got <status> <first line>`. */
export function formatOutcome(c: CheckOutcome): string {
  const note = c.note ? ` — ${c.note}` : '';
  switch (c.mark) {
    case 'pass':
      return `✓ ${c.name} (${c.ms} ms)${note}`;
    case 'fail':
      return `✗ ${c.name}: expected ${c.expected ?? '?'}, got ${c.got ?? '?'}${note}`;
    case 'skip':
      return `– ${c.name}: skipped${note}`;
    default:
      return `· ${c.name}: not run${note}`;
  }
}

export function formatSummary(r: OnecCheckReport): string {
  const n = (m: CheckOutcome['mark']): number => r.checks.filter((c) => c.mark === m).length;
  const parts = [`${n('pass')} ✓`, `${n('fail')} ✗`];
  if (n('skip')) parts.push(`${n('skip')} skipped`);
  if (n('not-run')) parts.push(`${n('not-run')} not run`);
  const verdict = r.interrupted
    ? 'interrupted'
    : r.unreachable
      ? 'no 1C service to check at this URL'
      : r.ok
        ? 'the publication keeps the contract'
        : 'the publication breaks the contract where marked ✗';
  return `${r.checks.length} checks: ${parts.join(', ')} — ${verdict}; ${r.calls.length} calls in ${(r.ms / 1000).toFixed(1)} s; test chat ${r.chatId}`;
}

/**
 * Checks of the platform's session handling (onec-http-service.md, "Sessions and licenses"):
 * the refusal without header or cookie, `IBSession: start` and its cookie, a request inside
 * the session, `IBSession: finish`, the refusal of a dead session, the license a session
 * holds and gives back, and the shape of `GET /licenses`.
 */
import { randomInt } from 'node:crypto';
import type { Answer } from './check-http.ts';
import { describeAnswer, fail, isObject, jsonOf, pass, sameText, type Check, type CheckContext } from './check-types.ts';

// The platform's own texts, as the contract quotes them. Kept here and not taken from the
// emulator: the checker is the independent judge of both.
export const NO_SESSION_TEXT = 'Не указан заголовок управления сеансами или куки с идентификатором сеанса.';
export const SESSION_GONE_TEXT = 'Сеанс отсутствует или удален';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function licensesCall(ctx: CheckContext, cookie: string, ibsession?: 'start' | 'finish'): Promise<Answer> {
  return ctx.http.call({ method: 'GET', path: '/licenses', creds: ctx.service, cookie, ...(ibsession ? { ibsession } : {}) });
}

function startSession(ctx: CheckContext): Promise<Answer> {
  return ctx.http.call({ method: 'GET', path: '/licenses', creds: ctx.service, ibsession: 'start' });
}

/** A session id of the same shape as a real one that surely names no session (a malformed id might be refused differently). */
export function lookalikeId(id: string): string {
  const hex = /^[0-9a-f-]+$/i.test(id);
  const pick = (set: string): string => set[randomInt(set.length)];
  for (;;) {
    const out = [...id]
      .map((c) => {
        if (/[0-9]/.test(c)) return hex ? pick('0123456789abcdef') : pick('0123456789');
        if (/[a-f]/.test(c) && hex) return pick('0123456789abcdef');
        if (/[A-F]/.test(c) && hex) return pick('0123456789ABCDEF');
        if (/[a-z]/.test(c)) return pick('abcdefghijklmnopqrstuvwxyz');
        if (/[A-Z]/.test(c)) return pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
        return c;
      })
      .join('');
    if (out !== id) return out;
  }
}

export const missingSessionHeader: Check = {
  name: 'missing-session-header',
  proves: 'a request with neither IBSession nor cookie is refused: 400 with the platform text',
  async run(ctx) {
    const a = await ctx.http.call({ method: 'GET', path: '/licenses', creds: ctx.service });
    await ctx.http.finishIfOpened(a);
    return a.status === 400 && sameText(a.body, NO_SESSION_TEXT) ? pass() : fail(`400 "${NO_SESSION_TEXT}"`, a);
  },
};

export const sessionStart: Check = {
  name: 'session-start',
  proves: '`IBSession: start` opens a session and sets the cookie `ibsession=<id>`',
  async run(ctx) {
    const a = await startSession(ctx);
    if (a.sessionId) ctx.mainSession = a.sessionId;
    const expected = '200 with Set-Cookie: ibsession=<id>';
    if (a.status !== 200) return fail(expected, a);
    if (!a.sessionId) return fail(expected, `${describeAnswer(a)} — no ibsession cookie`);
    if (a.cookieName !== 'ibsession') return fail(expected, `${describeAnswer(a)} — the cookie is named "${a.cookieName}"`);
    return pass();
  },
};

export const sessionCookie: Check = {
  name: 'session-cookie',
  proves: 'a request with `Cookie: ibsession=<id>` runs inside that session (no new session, no new cookie)',
  needsSession: true,
  async run(ctx) {
    const main = ctx.mainSession as string;
    const a = await licensesCall(ctx, main);
    const expected = '200 inside the same session (no new ibsession cookie)';
    if (a.status !== 200) return fail(expected, a);
    if (a.sessionId && a.sessionId !== main) return fail(expected, `${describeAnswer(a)} — a new session cookie was set`);
    return pass();
  },
};

export const licensesShape: Check = {
  name: 'licenses-shape',
  proves: 'GET /licenses is {"total","used","free"}: whole numbers, used + free = total, the caller counted as used',
  needsSession: true,
  async run(ctx) {
    const a = await licensesCall(ctx, ctx.mainSession as string);
    const expected = '200 {"total": n, "used": n, "free": n} with used + free = total and used ≥ 1';
    if (a.status !== 200) return fail(expected, a);
    const j = jsonOf(a);
    if (!isObject(j)) return fail(expected, a, 'the body is not a JSON object');
    for (const k of ['total', 'used', 'free'] as const) {
      const v = j[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        return fail(expected, a, `"${k}" is ${JSON.stringify(v) ?? 'missing'}, not a whole number`);
    }
    const { total, used, free } = j as { total: number; used: number; free: number };
    if (used + free !== total) return fail(expected, a, `used ${used} + free ${free} ≠ total ${total}`);
    if (used < 1) return fail(expected, a, 'used is 0 although this request runs in a session of its own');
    return pass(`total ${total}, used ${used}, free ${free}`);
  },
};

export const licenseRelease: Check = {
  name: 'license-release',
  proves: 'a session holds a client license until `IBSession: finish`, then "free" in GET /licenses comes back',
  needsSession: true,
  async run(ctx) {
    const main = ctx.mainSession as string;
    const b = await startSession(ctx);
    if (b.status !== 200 || !b.sessionId) return fail('a second session to open: 200 with an ibsession cookie', b);
    const freeNow = async (): Promise<{ a: Answer; free: number | null }> => {
      const a = await licensesCall(ctx, main);
      const j = jsonOf(a);
      return { a, free: a.status === 200 && isObject(j) && typeof j.free === 'number' ? j.free : null };
    };
    const before = await freeNow();
    if (before.free === null) {
      await ctx.http.finish(b.sessionId);
      return fail('200 with a numeric "free"', before.a);
    }
    const f = await ctx.http.finish(b.sessionId);
    if (!f || f.status !== 200) return fail('200 to the request with IBSession: finish', f ?? 'no call');
    // Other 1C users may log in or out meanwhile: look a few times before calling it a leak.
    let after = await freeNow();
    for (let i = 0; i < 3 && (after.free === null || after.free < before.free + 1); i++) {
      await sleep(500);
      after = await freeNow();
    }
    if (after.free !== null && after.free >= before.free + 1) return pass(`free ${before.free} → ${after.free}`);
    return fail(
      `"free" back to ${before.free + 1} after IBSession: finish (it was ${before.free} with the second session open)`,
      after.a,
      `"free" stayed ${after.free ?? 'unreadable'}: the finished session still holds a license`,
    );
  },
};

export const sessionFinish: Check = {
  name: 'session-finish',
  proves: '`IBSession: finish` ends the session: a later request with its cookie is refused (400)',
  async run(ctx) {
    const c = await startSession(ctx);
    if (c.status !== 200 || !c.sessionId) return fail('a session to open: 200 with an ibsession cookie', c);
    const f = await ctx.http.finish(c.sessionId);
    if (!f || f.status !== 200) return fail('200 to the request with IBSession: finish', f ?? 'no call');
    const later = await licensesCall(ctx, c.sessionId);
    ctx.finishedCookieAnswer = later;
    // The status is this rule; the text is dead-session-text's.
    if (later.status === 400) return pass();
    return fail('400 for the cookie of a finished session', later, later.status === 200 ? 'the session still runs requests' : undefined);
  },
};

export const deadSessionText: Check = {
  name: 'dead-session-text',
  proves: 'the cookie of a finished session, and of one that never existed, is refused: 400 with the platform text',
  needsSession: true,
  async run(ctx) {
    const expected = `400 "${SESSION_GONE_TEXT}"`;
    // A finished session's refusal (when session-finish got one; a 200 there is that check's ✗).
    const finished = ctx.finishedCookieAnswer;
    if (finished?.status === 400 && !sameText(finished.body, SESSION_GONE_TEXT))
      return fail(expected, finished, 'for the cookie of the session session-finish ended');
    const a = await licensesCall(ctx, lookalikeId(ctx.mainSession as string));
    if (a.status === 400 && sameText(a.body, SESSION_GONE_TEXT)) return pass();
    return fail(expected, a, 'for a cookie shaped like a real one that names no session');
  },
};

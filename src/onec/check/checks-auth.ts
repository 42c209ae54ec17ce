/**
 * Checks of authentication (onec-http-service.md, "Authentication" and `POST /auth`):
 * Basic auth in UTF-8, the 401 challenge for a wrong password, and `POST /auth` refusing a
 * wrong password and a wrong PIN. None of them ever logs an operator in: the wrong password
 * is random, and the wrong PIN has six digits, which no 4-digit PIN can equal.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Answer, Credentials } from './check-http.ts';
import { describeAnswer, fail, isObject, jsonOf, pass, skip, type Check, type CheckContext } from './check-types.ts';

const wrongPassword = (): string => `onec-check-wrong-${randomBytes(6).toString('hex')}`;

/** A PIN no operator can have: the contract's PINs have four digits. */
const impossiblePin = (): string => String(randomInt(100_000, 1_000_000));

const nonAscii = (s: string): boolean => /[^\x20-\x7e]/.test(s);

function hasOperator(a: Answer): boolean {
  const j = jsonOf(a);
  return isObject(j) && j.operator !== undefined;
}

function startWith(ctx: CheckContext, creds: Credentials, path = '/licenses', body?: unknown): Promise<Answer> {
  return ctx.http.call({
    method: body === undefined ? 'GET' : 'POST',
    path,
    creds,
    ibsession: 'start',
    ...(body === undefined ? {} : { body }),
  });
}

export const basicAuthUtf8: Check = {
  name: 'basic-auth-utf8',
  proves: 'HTTP Basic credentials are read as UTF-8: a Cyrillic 1C user logs in',
  async run(ctx) {
    const who = ctx.cyrillic ?? (nonAscii(ctx.service.login) ? ctx.service : null);
    if (who) {
      const a = await startWith(ctx, who);
      await ctx.http.finishIfOpened(a);
      // 403 also proves the point: 1C recognised the user and only then found it lacks the service's rights.
      if (a.status === 200 || a.status === 403)
        return pass(`"${who.login}" authenticated${a.status === 403 ? ' (403: no rights to the service, which is fine here)' : ''}`);
      return fail(
        `200 (or 403) for "${who.login}" sent as UTF-8`,
        a,
        a.status === 401 ? 'the name or password was not read as UTF-8 (or the password is wrong)' : undefined,
      );
    }
    // Without a Cyrillic user nothing can prove the decoding; at least the header must not break 1C.
    const probe = await startWith(ctx, { login: `onec-check-проверка-${randomBytes(3).toString('hex')}`, password: wrongPassword() });
    await ctx.http.finishIfOpened(probe);
    if (probe.status !== 401) return fail('401 for an unknown Cyrillic user name', probe);
    return skip(
      'no Cyrillic user to prove UTF-8 with: pass --cyrillic-user and --cyrillic-password (an unknown Cyrillic name got 401, as it should)',
    );
  },
};

export const badPassword401: Check = {
  name: 'bad-password-401',
  proves: 'a wrong password gets 401 with `WWW-Authenticate: Basic realm="…"`',
  async run(ctx) {
    const a = await startWith(ctx, { login: ctx.service.login, password: wrongPassword() });
    await ctx.http.finishIfOpened(a);
    const expected = '401 with WWW-Authenticate: Basic realm="1C"';
    if (a.status !== 401) return fail(expected, a, a.status === 200 ? 'a wrong password was let in' : undefined);
    const challenge = a.headers['www-authenticate'];
    if (!challenge || !/^Basic\s+realm=/i.test(challenge))
      return fail(expected, `${describeAnswer(a)} — WWW-Authenticate ${challenge ? `is "${challenge}"` : 'is missing'}`);
    return pass();
  },
};

export const authWrongPassword: Check = {
  name: 'auth-wrong-password',
  proves: 'POST /auth with an operator name and a wrong password gets 401 and logs nobody in',
  async run(ctx) {
    const who = ctx.cyrillic ?? ctx.service;
    const a = await startWith(ctx, { login: who.login, password: wrongPassword() }, '/auth', {});
    await ctx.http.finishIfOpened(a);
    if (a.status === 401 && !hasOperator(a)) return pass();
    return fail('401 (no operator)', a, hasOperator(a) ? '1C logged an operator in with a wrong password' : undefined);
  },
};

export const authWrongPin: Check = {
  name: 'auth-wrong-pin',
  proves: 'POST /auth with the service user and a wrong PIN gets 401 and logs nobody in',
  async run(ctx) {
    const a = await startWith(ctx, ctx.service, '/auth', { pin: impossiblePin() });
    // /auth runs in a short session of its own: end it now, not at the end of the run.
    await ctx.http.finishIfOpened(a);
    if (a.status === 401 && !hasOperator(a)) return pass();
    return fail('401 (no operator)', a, hasOperator(a) ? '1C logged an operator in with a PIN no operator can have' : undefined);
  },
};

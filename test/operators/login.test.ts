/**
 * The operator login matrix: every outcome of POST /api/v1/operators/login with its code
 * and message, the seat given back when the 1C step fails, heartbeat and logout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, IVANOV, PETROVA, startOperators, type OperatorsHarness } from './operators-helpers.ts';

let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const ws = (n: string) => `CORP\\${n}`;

describe('operator login', () => {
  it('logs in with the 1C user and password: token, operator, seat of 48; the short session is finished', async () => {
    h = await startOperators();
    const res = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ token: string; operator: unknown; seat: unknown; expiresAt: string }>();
    expect(body.operator).toEqual({ id: 'u-ivanov', name: 'Иванов И.И.', groups: ['sales'] });
    expect(body.seat).toEqual({ feature: 48, used: 1, total: 10 });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    const st = h.stack.onec.state();
    expect(st.sessions.open).toBe(0);
    expect(st.auth.ok).toBe(1);
    expect(await h.feature.journal.count()).toBe(0);
    // Only the hash is stored.
    const keys = await h.connector.ctx.redis.keys(`${h.prefix}:operators:token:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(body.token);
    expect(await h.connector.ctx.redis.get(keys[0])).not.toContain(body.token);
    expect(h.feature.login.stats.maxLicenseHeldMs).toBeGreaterThan(0);
  });

  it('logs in with a PIN for the panel (service user + PIN): seat of 49', async () => {
    h = await startOperators();
    const res = await h.login({ workstationUser: 'petrova@corp', client: 'panel', pin: '5678' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ operator: { id: string }; seat: unknown }>();
    expect(body.operator.id).toBe('u-petrova');
    expect(body.seat).toEqual({ feature: 49, used: 1, total: 10 });
    expect(h.stack.onec.state().sessions.open).toBe(0);
  });

  it('401 invalid_credentials for a wrong password and a wrong PIN; the seat is given back', async () => {
    h = await startOperators();
    const bad = await h.login({ workstationUser: ws('Ivanov'), client: '1c', login: IVANOV.login, password: 'wrong' });
    expect(bad.statusCode).toBe(401);
    expect(errorOf(bad)).toEqual({ code: 'invalid_credentials', message: '1C rejected the user name, password or PIN.' });
    const pin = await h.login({ workstationUser: ws('Petrova'), client: 'panel', pin: '0000' });
    expect(pin.statusCode).toBe(401);
    expect(errorOf(pin).code).toBe('invalid_credentials');
    expect(await h.connector.ctx.seats.usage(48)).toBe(0);
    expect(await h.connector.ctx.seats.usage(49)).toBe(0);
    expect(h.stack.onec.state().sessions.open).toBe(0);
    expect(await h.feature.journal.count()).toBe(0);
  });

  it('403 chats_not_licensed without feature 42', async () => {
    h = await startOperators({ features: { 48: 10, 49: 10 } });
    const res = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('chats_not_licensed');
    expect(errorOf(res).message).toMatch(/^Chat login is not available: the chat module is not licensed on this host \(.*42.*\)\.$/);
    expect(h.stack.onec.state().calls.licenses).toBe(0);
  });

  it('403 seat_unavailable names the feature and used/total; the same user from a second window keeps one seat', async () => {
    h = await startOperators({ features: { 42: 1, 48: 1, 49: 1 } });
    const first = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(first.statusCode).toBe(200);
    const again = await h.login({ workstationUser: 'ivanov@corp', client: '1c', ...IVANOV });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ seat: unknown }>().seat).toEqual({ feature: 48, used: 1, total: 1 });
    const other = await h.login({ workstationUser: ws('Petrova'), client: '1c', ...PETROVA });
    expect(other.statusCode).toBe(403);
    expect(errorOf(other)).toEqual({
      code: 'seat_unavailable',
      message: 'No free seat of feature 48 (Интеграция 1С и телефонии ПРОФ (сеанс в 1С)): 1/1 in use.',
    });
    // The panel's feature 49 is a separate count.
    expect((await h.login({ workstationUser: ws('Petrova'), client: 'panel', pin: '5678' })).statusCode).toBe(200);
    // A failed 1C step of a user who already holds the seat does not free it.
    const failed = await h.login({ workstationUser: ws('IVANOV'), client: '1c', login: IVANOV.login, password: 'nope' });
    expect(failed.statusCode).toBe(401);
    expect(await h.connector.ctx.seats.usage(48)).toBe(1);
  });

  it('502 onec_unreachable when 1C is down; the seat is given back', async () => {
    h = await startOperators({ env: { ONEC_TIMEOUT_MS: '500' } });
    h.stack.onec.outage({ mode: '503' });
    const res = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(res.statusCode).toBe(502);
    expect(errorOf(res).code).toBe('onec_unreachable');
    expect(errorOf(res).message).toMatch(/^1C could not authorize the operator: .*HTTP 503.*\.$/);
    h.stack.onec.outage({ mode: 'drop' });
    await h.connector.ctx.redis.del(`${h.prefix}:operators:onec-free`);
    const dropped = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(dropped.statusCode).toBe(502);
    expect(errorOf(dropped).code).toBe('onec_unreachable');
    expect(await h.connector.ctx.seats.usage(48)).toBe(0);
  });

  it('502 onec_unreachable when /auth fails with a 1C exception; the session is still finished', async () => {
    h = await startOperators();
    h.stack.onec.failNext({ endpoint: 'auth', status: 500 });
    const res = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(res.statusCode).toBe(502);
    expect(errorOf(res).code).toBe('onec_unreachable');
    expect(h.stack.onec.state().sessions.open).toBe(0);
    expect(await h.feature.journal.count()).toBe(0);
    expect(await h.connector.ctx.seats.usage(48)).toBe(0);
  });

  it('503 onec_license_unavailable with Retry-After when no 1C license frees up in ONEC_AUTH_WAIT_MS', async () => {
    h = await startOperators({ onec: { licenseTotal: 3 }, env: { ONEC_AUTH_WAIT_MS: '400' } });
    h.stack.onec.takeLicenses(3);
    const res = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(errorOf(res)).toEqual({
      code: 'onec_license_unavailable',
      message: 'No 1C client license became free within 400 ms to authorize the operator; try again later.',
    });
    expect(await h.connector.ctx.seats.usage(48)).toBe(0);
    expect(await h.feature.admission.semaphore.waiting()).toBe(0);
    // Licenses back: the next login goes through.
    h.stack.onec.returnLicenses(3);
    const ok = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    expect(ok.statusCode).toBe(200);
  });

  it('400 names the bad field; login needs no API token (the credentials are the proof)', async () => {
    h = await startOperators();
    const cases: [Record<string, unknown>, string][] = [
      [{ client: '1c', ...IVANOV }, 'Field "workstationUser" must be a non-empty string.'],
      [{ workstationUser: 'x', client: 'web', ...IVANOV }, 'Field "client" must be "1c" or "panel".'],
      [{ workstationUser: 'x', client: 'panel', pin: '12a4' }, 'Field "pin" must be 4 digits.'],
      [{ workstationUser: 'x', client: '1c', password: 'p' }, 'Field "login" must be a non-empty string (or send "pin").'],
    ];
    for (const [body, message] of cases) {
      const res = await h.login(body);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res)).toEqual({ code: 'invalid_request', message });
    }
    expect(h.stack.onec.state().calls.auth).toBe(0);
    // No Authorization header at all (before issue 11 this was 401: the panel needed the master API token).
    const noAuth = await h.app.inject({
      method: 'POST',
      url: '/api/v1/operators/login',
      payload: { workstationUser: 'x', client: '1c', ...IVANOV },
    });
    expect(noAuth.statusCode).toBe(200);
    expect(noAuth.json()).toMatchObject({ operator: { id: 'u-ivanov' } });
  });

  it('heartbeat keeps token and seat; logout frees both; the token is refused afterwards', async () => {
    h = await startOperators();
    const res = await h.login({ workstationUser: ws('Ivanov'), client: '1c', ...IVANOV });
    const { token, expiresAt } = res.json<{ token: string; expiresAt: string }>();
    const auth = { authorization: `Bearer ${token}` };
    const hb = await h.app.inject({ method: 'POST', url: '/api/v1/operators/heartbeat', headers: auth });
    expect(hb.statusCode).toBe(200);
    const hbBody = hb.json<{ expiresAt: string; seat: unknown }>();
    expect(Date.parse(hbBody.expiresAt)).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(hbBody.seat).toEqual({ feature: 48, used: 1, total: 10 });
    expect(await h.feature.store.isOnline('u-ivanov')).toBe(true);
    // The API token is not an operator token.
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/api/v1/operators/heartbeat',
      headers: { authorization: `Bearer ${h.apiToken}` },
    });
    expect(wrong.statusCode).toBe(401);
    expect(errorOf(wrong).code).toBe('invalid_operator_token');
    const out = await h.app.inject({ method: 'POST', url: '/api/v1/operators/logout', headers: auth });
    expect(out.statusCode).toBe(200);
    expect(await h.connector.ctx.seats.usage(48)).toBe(0);
    expect(await h.feature.store.isOnline('u-ivanov')).toBe(false);
    const after = await h.app.inject({ method: 'POST', url: '/api/v1/operators/heartbeat', headers: auth });
    expect(after.statusCode).toBe(401);
    expect(errorOf(after).code).toBe('invalid_operator_token');
  });
});

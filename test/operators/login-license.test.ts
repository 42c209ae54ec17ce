/**
 * The momentary 1C license of operator login: admission one license at a time, a license
 * taken by another 1C user mid-wait, the HTTP client hanging up mid-login, and a crash
 * mid-login cleaned up at the next start.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { loginSemaphoreKey } from '../../src/operators/license-admission.ts';
import { LoginSessionJournal } from '../../src/operators/login-sessions.ts';
import { RedisSemaphore } from '../../src/coordination/redis-semaphore.js';
import { until } from '../helpers/redis.ts';
import { cookieOf, raw } from '../onec/onec-test-helpers.ts';
import { errorOf, IVANOV, startOperators, type OperatorsHarness } from './operators-helpers.ts';

let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

describe('one free 1C license at a time', () => {
  it('50 simultaneous logins of distinct users with one free license and a slow 1C: all succeed, never 2 sessions', async () => {
    h = await startOperators({ onec: { licenseTotal: 1, latency: { perCallMs: 20 } }, features: { 42: 1, 48: 60, 49: 60 } });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h!.login({
          workstationUser: `CORP\\user${i}`,
          client: i % 2 ? 'panel' : '1c',
          ...(i % 2 ? { pin: '1234' } : IVANOV),
        }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(50).fill(200));
    const st = h.stack.onec.state();
    expect(st.sessions.peakOpen).toBe(1);
    expect(st.sessions.open).toBe(0);
    expect(st.auth.ok).toBe(50);
    expect(await h.connector.ctx.seats.usage(48)).toBe(25);
    expect(await h.connector.ctx.seats.usage(49)).toBe(25);
    expect(await h.feature.journal.count()).toBe(0);
    expect(await h.feature.admission.semaphore.holders()).toBe(0);
  });

  it('another 1C user takes the last license while a login waits: 503 with Retry-After after the wait', async () => {
    h = await startOperators({ onec: { licenseTotal: 1 }, env: { ONEC_AUTH_WAIT_MS: '800' } });
    const redis = h.connector.ctx.redis;
    // Another instance's login holds the only permit.
    const other = new RedisSemaphore({ redis, key: loginSemaphoreKey(h.prefix) });
    const held = await other.acquire(1);
    const pending = h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV });
    await until(async () => (await h!.feature.admission.semaphore.waiting()) >= 1, { what: 'the login to wait in line' });
    expect(h.stack.onec.takeLicenses(1)).toBe(1);
    await held.release();
    const res = await pending;
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe('onec_license_unavailable');
    expect(res.headers['retry-after']).toBe('5');
    const st = h.stack.onec.state();
    expect(st.sessions.open).toBe(0);
    expect(st.auth.ok).toBe(0);
    expect(await h.connector.ctx.seats.usage(48)).toBe(0);
    expect(await h.feature.admission.semaphore.waiting()).toBe(0);
  });

  it('the client hanging up mid-login aborts it; the 1C session is still finished and the seat given back', async () => {
    h = await startOperators({ onec: { latency: { perCallMs: 300 } } });
    const url = new URL('/api/v1/operators/login', h.connector.url as string);
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${h.apiToken}`, 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV }));
    await until(() => h!.stack.onec.state().calls.auth >= 1, { what: 'the login to reach /auth' });
    expect(h.stack.onec.state().sessions.open).toBe(1);
    req.destroy();
    await until(
      async () =>
        h!.stack.onec.state().sessions.open === 0 &&
        (await h!.feature.journal.count()) === 0 &&
        (await h!.connector.ctx.seats.usage(48)) === 0,
      { what: 'the session finished and the seat freed' },
    );
    expect(h.stack.onec.state().sessions.expired).toBe(0);
    expect(h.feature.login.stats.failed).toBe(1);
    expect(h.feature.login.stats.ok).toBe(0);
  });

  it("a crash mid-login: the recorded session is finished at the next start; a live instance's is left alone", async () => {
    h = await startOperators({ feature: { orphanSweepMs: 0 } });
    const redis = h.connector.ctx.redis;
    const open = async () => cookieOf(await raw(`${h!.stack.onec.url}/licenses`, { creds: IVANOV, ibsession: 'start' }));
    // A process that crashed after onSessionStarted: its record stays, its liveness key is gone.
    const crashed = new LoginSessionJournal({ redis, prefix: h.prefix, owner: 'crashed-process' });
    const orphan = await open();
    await crashed.record(orphan);
    // A live instance mid-login.
    const live = new LoginSessionJournal({ redis, prefix: h.prefix, owner: 'live-process' });
    await live.start();
    const inFlight = await open();
    await live.record(inFlight);
    expect(h.stack.onec.state().sessions.open).toBe(2);

    await h.another({ orphanSweepMs: 0 });
    await until(async () => (await redis.hexists(`${h!.prefix}:operators:onec-login-sessions`, orphan)) === 0, {
      what: 'the orphan record to go',
    });
    const st = h.stack.onec.state();
    expect(st.sessions.open).toBe(1);
    expect(st.sessions.finished).toBe(1);
    expect(st.sessions.expired).toBe(0);
    // The live one is untouched and still usable.
    const stillThere = await raw(`${h.stack.onec.url}/licenses`, { creds: IVANOV, cookie: inFlight });
    expect(stillThere.status).toBe(200);
    await live.stop();
    await raw(`${h.stack.onec.url}/licenses`, { creds: IVANOV, cookie: inFlight, ibsession: 'finish' });
  });
});

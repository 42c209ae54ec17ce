/**
 * Issue 11 item 4 — operator login needed the master API token (every panel held the key to
 * the whole API). Now the credentials alone authenticate it, so it is throttled: per
 * workstation user and per client address (exponential backoff after failures → 429 with
 * Retry-After) and overall (a bounded queue → 503), so a flood of bad logins cannot keep
 * 1C licenses from real operators. Tokens have a hard maximum lifetime, and an admin can
 * end every login of an operator.
 *
 * Clocks: the operators' clock is the harness's `now` (token lifetimes and the throttle),
 * moved by the test instead of sleeping.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { until } from '../helpers/redis.ts';
import { errorOf, IVANOV, PETROVA, startOperators, type OperatorsHarness } from './operators-helpers.ts';

let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const WRONG = { login: 'Иванов', password: 'не тот' };
const retryAfter = (r: LightMyRequestResponse) => Number(r.headers['retry-after']);

describe('operator login throttling', () => {
  it('bad passwords from one address: 429 with a growing Retry-After, without reaching 1C; another operator from another address still logs in', async () => {
    let now = Date.now();
    h = await startOperators({ feature: { clock: () => now } });
    const attacker = { address: '10.0.0.66' };
    // Sprayed over many workstation users, so only the per-address count applies: 10 free failures.
    let n = 0;
    const guess = () => h!.login({ workstationUser: `CORP\\victim${++n}`, client: '1c', ...WRONG }, attacker);
    for (let i = 1; i <= 10; i++) expect((await guess()).statusCode).toBe(401);
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      expect((await guess()).statusCode).toBe(401); // this failure starts (or doubles) the block
      const authCalls = h.stack.onec.state().calls.auth;
      const blocked = await guess();
      expect(blocked.statusCode).toBe(429);
      expect(errorOf(blocked).code).toBe('too_many_login_attempts');
      expect(errorOf(blocked).message).toBe(
        `Too many failed logins for this workstation user or from this address; try again in ${retryAfter(blocked)} s.`,
      );
      expect(h.stack.onec.state().calls.auth).toBe(authCalls); // refused before any 1C license is used
      seen.push(retryAfter(blocked));
      // Petrova at her own desk is not affected.
      const petrova = await h.login({ workstationUser: 'CORP\\petrova', client: '1c', ...PETROVA }, { address: '10.0.0.7' });
      expect(petrova.statusCode).toBe(200);
      now += retryAfter(blocked) * 1000;
    }
    expect(seen).toEqual([1, 2, 4]);
  });

  it('bad passwords for one workstation user: blocked from every address, even with the right password; cleared by the wait', async () => {
    let now = Date.now();
    h = await startOperators({ feature: { clock: () => now } });
    const ws = 'CORP\\ivanov';
    for (let i = 0; i < 4; i++)
      expect((await h.login({ workstationUser: ws, client: '1c', ...WRONG }, { address: `10.1.0.${i}` })).statusCode).toBe(401);
    const right = await h.login({ workstationUser: 'corp\\IVANOV', client: '1c', ...IVANOV }, { address: '10.2.0.1' });
    expect(right.statusCode).toBe(429);
    expect(retryAfter(right)).toBe(1);
    now += 1_000;
    expect((await h.login({ workstationUser: ws, client: '1c', ...IVANOV }, { address: '10.2.0.1' })).statusCode).toBe(200);
    // A success clears the user's count: the next typo is free again.
    expect((await h.login({ workstationUser: ws, client: 'panel', ...WRONG }, { address: '10.2.0.1' })).statusCode).toBe(401);
    expect((await h.login({ workstationUser: ws, client: 'panel', ...IVANOV }, { address: '10.2.0.1' })).statusCode).toBe(200);
  });

  it('a flood beyond the overall bound is refused at once (503 + Retry-After) and never reaches 1C; a real login gets a license after at most the bound', async () => {
    const bound = 4;
    h = await startOperators({
      // Slow enough that no flooded login finishes before all 20 have asked for a place.
      onec: { licenseTotal: 1, latency: { perCallMs: 250 } },
      features: { 42: 1, 48: 50, 49: 50 },
      env: { OPERATOR_LOGIN_QUEUE_MAX: String(bound) },
    });
    // 20 bad logins from 20 addresses and users at once (no per-address or per-user rule applies).
    const flood = Array.from({ length: 20 }, (_, i) =>
      h!.login({ workstationUser: `CORP\\bot${i}`, client: '1c', ...WRONG }, { address: `192.0.2.${i + 1}` }),
    );
    await until(async () => (await h!.feature.throttle.pending()) === bound, { what: 'the queue full' });
    const real = async (): Promise<LightMyRequestResponse> => {
      for (;;) {
        const r = await h!.login({ workstationUser: 'CORP\\petrova', client: '1c', ...PETROVA }, { address: '10.0.0.7' });
        if (r.statusCode !== 503) return r;
        expect(errorOf(r).code).toBe('login_queue_full');
        // Instead of sleeping Retry-After: retry as soon as the queue has room.
        await until(async () => (await h!.feature.throttle.pending()) < bound, { what: 'room in the queue' });
      }
    };
    const ok = await real();
    expect(ok.statusCode).toBe(200);
    const results = await Promise.all(flood);
    const full = results.filter((r) => r.statusCode === 503);
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(bound);
    expect(full).toHaveLength(20 - bound);
    for (const r of full) {
      expect(errorOf(r).code).toBe('login_queue_full');
      expect(retryAfter(r)).toBeGreaterThan(0);
    }
    // Only the bound's worth of bad logins and the real one went on to a seat and a 1C license;
    // the rest of the flood was answered before either.
    expect(h.feature.login.stats).toMatchObject({ ok: 1, failed: bound });
    expect(h.stack.onec.state().auth.ok).toBe(1);
  });
});

describe('operator token lifetime and revoke', () => {
  it('a token that keeps heart-beating still ends at OPERATOR_TOKEN_MAX_AGE_S', async () => {
    let now = Date.now();
    h = await startOperators({ feature: { clock: () => now }, env: { OPERATOR_TOKEN_MAX_AGE_S: '3600', SEAT_TTL_S: '300' } });
    const issued = now;
    const res = await h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV });
    const { token } = res.json<{ token: string }>();
    const beat = () => h!.app.inject({ method: 'POST', url: '/api/v1/operators/heartbeat', headers: { authorization: `Bearer ${token}` } });
    // Heart-beat every 4 minutes (inside the 5-minute sliding expiry) for the whole hour.
    while (now + 240_000 < issued + 3_600_000) {
      now += 240_000;
      const b = await beat();
      expect(b.statusCode).toBe(200);
      expect(Date.parse(b.json<{ expiresAt: string }>().expiresAt)).toBeLessThanOrEqual(issued + 3_600_000);
    }
    now = issued + 3_600_000;
    const late = await beat();
    expect(late.statusCode).toBe(401);
    expect(errorOf(late).code).toBe('invalid_operator_token');
  });

  it('DELETE /api/v1/operators/:id/sessions (API token) ends every login of the operator: tokens refused, seats freed, feed closed', async () => {
    h = await startOperators();
    const a = (await h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV })).json<{ token: string }>();
    const b = (await h.login({ workstationUser: 'CORP\\ivanov-laptop', client: 'panel', ...IVANOV })).json<{ token: string }>();
    const p = (await h.login({ workstationUser: 'CORP\\petrova', client: '1c', ...PETROVA })).json<{ token: string }>();
    expect(await h.connector.ctx.seats.usage(48)).toBe(2);
    expect(await h.connector.ctx.seats.usage(49)).toBe(1);

    const feed = await fetch(new URL('/api/v1/operators/feed', h.connector.url as string), {
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(feed.status).toBe(200);
    const body = (async () => {
      let text = '';
      const dec = new TextDecoder();
      for await (const chunk of feed.body as unknown as AsyncIterable<Uint8Array>) text += dec.decode(chunk);
      return text;
    })();

    const del = (token: string) =>
      h!.app.inject({ method: 'DELETE', url: '/api/v1/operators/u-ivanov/sessions', headers: { authorization: `Bearer ${token}` } });
    expect((await del(p.token)).statusCode).toBe(401); // an operator token cannot revoke
    const r = await del(h.apiToken);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ operatorId: 'u-ivanov', revoked: 2 });

    // The feed ends at once (not at its next 15 s heartbeat) with a logout event.
    expect(await body).toContain('event: logout');
    for (const t of [a.token, b.token]) {
      const hb = await h.app.inject({ method: 'POST', url: '/api/v1/operators/heartbeat', headers: { authorization: `Bearer ${t}` } });
      expect(hb.statusCode).toBe(401);
    }
    expect(await h.connector.ctx.seats.usage(48)).toBe(1);
    expect(await h.connector.ctx.seats.usage(49)).toBe(0);
    const hp = await h.app.inject({ method: 'POST', url: '/api/v1/operators/heartbeat', headers: { authorization: `Bearer ${p.token}` } });
    expect(hp.statusCode).toBe(200);
  });
});

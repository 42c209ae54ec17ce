import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';
import { InvalidWorkstationUserError, SeatManager, SeatUnavailableError, normalizeWorkstationUser } from '../../src/licensing/seats.ts';

const conns: Redis[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const p of prefixes.splice(0)) await cleanupPrefix(p);
  for (const c of conns.splice(0)) c.disconnect();
});

function managers(n: number, o: { ttlS?: number; now?: () => number } = {}): SeatManager[] {
  const prefix = uniquePrefix('seats');
  prefixes.push(prefix);
  return Array.from({ length: n }, () => {
    const redis = newRedis();
    conns.push(redis);
    return new SeatManager({ redis, prefix, ttlS: o.ttlS ?? 300, now: o.now });
  });
}

describe('normalizeWorkstationUser', () => {
  const table: Array<[string, string]> = [
    ['CORP\\Ivanov', 'ivanov@corp'],
    ['corp\\ivanov', 'ivanov@corp'],
    ['ivanov@corp', 'ivanov@corp'],
    ['ivanov@CORP', 'ivanov@corp'],
    ['  CORP\\IVANOV ', 'ivanov@corp'],
    ['Ivanov@Corp.Local', 'ivanov@corp.local'],
    ['ivanov', 'ivanov'],
    ['  IVANOV\t', 'ivanov'],
    ['CORP\\Иванов', 'иванов@corp'],
  ];
  for (const [raw, want] of table) {
    it(`${JSON.stringify(raw)} → ${want}`, () => expect(normalizeWorkstationUser(raw)).toBe(want));
  }

  it('keeps a DNS domain apart from a NetBIOS one unless aliased', () => {
    expect(normalizeWorkstationUser('ivanov@corp.local')).not.toBe(normalizeWorkstationUser('CORP\\ivanov'));
    expect(normalizeWorkstationUser('ivanov@corp.local', { 'corp.local': 'corp' })).toBe(normalizeWorkstationUser('CORP\\ivanov'));
  });

  it('rejects empty, control characters and malformed forms with a clear error', () => {
    for (const bad of ['', '   ', 'iva\u0000nov', 'corp\\iva\nnov', '\\ivanov', 'corp\\', '@corp', 'ivanov@', 'a\\b\\c']) {
      expect(() => normalizeWorkstationUser(bad), JSON.stringify(bad)).toThrow(InvalidWorkstationUserError);
    }
    try {
      normalizeWorkstationUser('corp\\');
    } catch (e) {
      expect((e as InvalidWorkstationUserError).code).toBe('invalid_workstation_user');
      expect((e as Error).message).toContain('DOMAIN\\user');
    }
  });
});

describe('SeatManager', () => {
  it('gives exactly 10 seats to 100 concurrent logins across two connections', async () => {
    const [a, b] = managers(2);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).acquire(49, `CORP\\user${i}`, 10, { session: `s${i}` })),
    );
    const winners = results.filter((r) => r.ok);
    expect(winners).toHaveLength(10);
    const holders = await a.holders(49);
    expect(holders.map((h) => h.user).sort()).toEqual(winners.map((w) => w.user).sort());
    expect(await b.usage(49)).toBe(10);
    for (const r of results.filter((x) => !x.ok)) expect(r.used).toBe(10);
  });

  it('counts the same user twice (two windows, two spellings) as one seat, freed at the last logout', async () => {
    const [m] = managers(1);
    const first = await m.acquire(48, 'CORP\\Ivanov', 1, { session: 'w1', operatorId: 'op-1' });
    const second = await m.acquire(48, 'ivanov@corp', 1, { session: 'w2' });
    expect(first).toMatchObject({ ok: true, used: 1, user: 'ivanov@corp' });
    expect(second).toMatchObject({ ok: true, used: 1, holders: ['ivanov@corp'] });
    expect((await m.holders(48))[0]).toMatchObject({ user: 'ivanov@corp', sessions: 2 });
    expect(await m.release(48, 'corp\\IVANOV', 'w1')).toEqual({ freed: false, sessions: 1 });
    expect(await m.acquire(48, 'petrov@corp', 1, { session: 'p' })).toMatchObject({ ok: false, used: 1, total: 1 });
    expect(await m.release(48, 'ivanov@corp', 'w2')).toEqual({ freed: true, sessions: 0 });
    expect(await m.acquire(48, 'petrov@corp', 1, { session: 'p' })).toMatchObject({ ok: true, used: 1 });
    // Features are counted apart.
    expect(await m.acquire(49, 'ivanov@corp', 1, { session: 'w1' })).toMatchObject({ ok: true, used: 1 });
  });

  it('throws seat_unavailable naming the feature and used/total', async () => {
    const [m] = managers(1);
    await m.acquire(48, 'a', 1, { session: 'x' });
    const err = await m.acquireOrThrow(48, 'b', 1, { session: 'y' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeatUnavailableError);
    expect(err).toMatchObject({ code: 'seat_unavailable', httpStatus: 403 });
    expect((err as Error).message).toContain('48');
    expect((err as Error).message).toContain('1/1');
  });

  it('frees a seat after ttlS without heartbeat, and a heartbeat keeps it', async () => {
    let t = Date.UTC(2026, 0, 10, 9);
    const [m] = managers(1, { ttlS: 60, now: () => t });
    await m.acquire(49, 'alice', 2, { session: 'a1' });
    await m.acquire(49, 'bob', 2, { session: 'b1' });
    t += 40_000;
    expect(await m.heartbeat(49, 'alice', 'a1')).toBe(true);
    t += 40_000; // bob silent for 80 s, alice for 40 s
    const holders = await m.holders(49);
    expect(holders.map((h) => h.user)).toEqual(['alice']);
    expect(holders[0].since).toBe(new Date(Date.UTC(2026, 0, 10, 9)).toISOString());
    expect(holders[0].lastSeen).toBe(new Date(t - 40_000).toISOString());
    expect(await m.heartbeat(49, 'bob', 'b1')).toBe(false);
    expect(await m.heartbeat(49, 'alice', 'other-session')).toBe(false);
    t += 61_000;
    expect(await m.usage(49)).toBe(0);
    expect(await m.acquire(49, 'carol', 1, { session: 'c' })).toMatchObject({ ok: true, used: 1 });
  });

  it('expires one silent window of a user while the other keeps the seat', async () => {
    let t = Date.UTC(2026, 0, 10, 9);
    const [m] = managers(1, { ttlS: 60, now: () => t });
    await m.acquire(48, 'alice', 1, { session: 'w1' });
    await m.acquire(48, 'alice', 1, { session: 'w2' });
    t += 50_000;
    await m.heartbeat(48, 'alice', 'w2');
    t += 20_000; // w1 silent 70 s
    expect((await m.holders(48))[0].sessions).toBe(1);
    expect(await m.release(48, 'alice', 'w2')).toEqual({ freed: true, sessions: 0 });
  });

  it('never evicts on a smaller total, and admits no one new until used < total', async () => {
    const [m] = managers(1);
    for (const u of ['u1', 'u2', 'u3']) expect((await m.acquire(48, u, 3, { session: u })).ok).toBe(true);
    expect(await m.acquire(48, 'new', 2, { session: 'n' })).toMatchObject({ ok: false, used: 3, total: 2 });
    expect(await m.acquire(48, 'u1', 2, { session: 'u1b' })).toMatchObject({ ok: true, used: 3 });
    expect(await m.usage(48)).toBe(3);
    await m.release(48, 'u2');
    expect(await m.acquire(48, 'new', 2, { session: 'n' })).toMatchObject({ ok: false, used: 2 });
    await m.release(48, 'u3');
    expect(await m.acquire(48, 'new', 2, { session: 'n' })).toMatchObject({ ok: true, used: 2 });
  });

  it('rejects a bad workstation user before touching Redis', async () => {
    const [m] = managers(1);
    await expect(m.acquire(48, ' ', 5, { session: 's' })).rejects.toBeInstanceOf(InvalidWorkstationUserError);
    expect(await m.usage(48)).toBe(0);
  });
});

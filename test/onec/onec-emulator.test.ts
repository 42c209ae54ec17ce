import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OnecEmulator, NO_SESSION_HEADER_TEXT, SESSION_GONE_TEXT } from '../../src/onec/emulator/index.ts';
import { until } from '../helpers/redis.ts';
import { cookieOf, IVANOV, msg, raw, SERVICE } from './onec-test-helpers.ts';

describe('1C emulator contract', () => {
  let emu: OnecEmulator;
  beforeEach(async () => {
    emu = new OnecEmulator({ licenseTotal: 5 });
    await emu.start();
  });
  afterEach(async () => {
    await emu.stop();
  });

  it('refuses a request without session header or cookie, and an unknown cookie', async () => {
    const a = await raw(`${emu.url}/licenses`, { creds: SERVICE });
    expect(a.status).toBe(400);
    expect(a.body).toBe(NO_SESSION_HEADER_TEXT);
    const b = await raw(`${emu.url}/licenses`, { creds: SERVICE, cookie: 'nope' });
    expect(b.status).toBe(400);
    expect(b.body).toBe(SESSION_GONE_TEXT);
  });

  it('opens a session with a cookie, counts it as used, reuses and finishes it', async () => {
    const a = await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ total: 5, used: 1, free: 4 });
    const id = cookieOf(a);
    const b = await raw(`${emu.url}/licenses`, { creds: SERVICE, cookie: id });
    expect(JSON.parse(b.body)).toEqual({ total: 5, used: 1, free: 4 });
    expect(emu.state().sessions).toMatchObject({ open: 1, opened: 1 });
    const c = await raw(`${emu.url}/licenses`, { creds: SERVICE, cookie: id, ibsession: 'finish' });
    expect(c.status).toBe(200);
    expect(emu.state().sessions).toMatchObject({ open: 0, finished: 1 });
    const d = await raw(`${emu.url}/licenses`, { creds: SERVICE, cookie: id });
    expect(d.body).toBe(SESSION_GONE_TEXT);
  });

  it('answers 401 with the Basic realm, accepts Cyrillic users, and 403 without rights', async () => {
    const bad = await raw(`${emu.url}/licenses`, { creds: { login: 'Иванов', password: 'wrong' }, ibsession: 'start' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Basic realm="1C"');
    const ok = await raw(`${emu.url}/auth`, { method: 'POST', body: {}, creds: IVANOV, ibsession: 'start' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ operator: { id: 'u-ivanov', name: 'Иванов И.И.', groups: ['sales'] } });
    const guest = await raw(`${emu.url}/licenses`, { creds: { login: 'Гость', password: 'guest' }, ibsession: 'start' });
    expect(guest.status).toBe(403);
    expect(emu.state().sessions.opened).toBe(1);
  });

  it('authorizes by PIN with the service user; a wrong PIN is 401', async () => {
    const a = await raw(`${emu.url}/auth`, { method: 'POST', body: { pin: '5678' }, creds: SERVICE, ibsession: 'start' });
    expect((JSON.parse(a.body) as { operator: unknown }).operator).toEqual({ id: 'u-petrova', name: 'Петрова А.С.', groups: ['support'] });
    const b = await raw(`${emu.url}/auth`, { method: 'POST', body: { pin: '0000' }, creds: SERVICE, cookie: cookieOf(a) });
    expect(b.status).toBe(401);
    expect(emu.state().auth).toEqual({ ok: 1, failed: 1 });
  });

  it('refuses a session when licenses are taken by others, and gives them back', async () => {
    expect(emu.takeLicenses(10)).toBe(5);
    const a = await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
    expect(a.status).toBe(500);
    expect(a.body).toContain('Не обнаружено свободной лицензии!');
    expect(emu.returnLicenses(2)).toBe(2);
    const b = await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
    expect(JSON.parse(b.body)).toEqual({ total: 5, used: 4, free: 1 });
    expect(emu.state().licenses).toMatchObject({ takenByOthers: 3, refused: 1 });
  });

  it('takes and returns licenses, injects faults and expires sessions over HTTP', async () => {
    const take = await raw(`${emu.origin}/_emulator/licenses/take`, { method: 'POST', body: { count: 2 } });
    expect(JSON.parse(take.body)).toMatchObject({ taken: 2, used: 2, free: 3 });
    await raw(`${emu.origin}/_emulator/licenses/return`, { method: 'POST', body: { count: 1 } });
    await raw(`${emu.origin}/_emulator/faults`, {
      method: 'POST',
      body: { count: 1, status: 502, body: 'bad gateway', endpoint: 'licenses' },
    });
    const a = await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
    expect(a.status).toBe(502);
    expect(a.body).toBe('bad gateway');
    const expired = await raw(`${emu.origin}/_emulator/expire-sessions`, { method: 'POST' });
    expect(JSON.parse(expired.body)).toEqual({ expired: 1 });
    const st = JSON.parse((await raw(`${emu.origin}/_emulator/state`)).body) as { licenses: unknown; sessions: unknown };
    expect(st.licenses).toMatchObject({ takenByOthers: 1, used: 1 });
    expect(st.sessions).toMatchObject({ open: 0, opened: 1, expired: 1 });
  });

  it('stores messages in order, answers duplicates, rejects by rule, limits a batch to 500', async () => {
    const s = cookieOf(await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' }));
    const first = await raw(`${emu.url}/messages`, {
      method: 'POST',
      creds: SERVICE,
      cookie: s,
      body: { messages: [msg('a', 1), msg('a', 2), msg('b', 1, 'x #reject-me')] },
    });
    expect((JSON.parse(first.body) as { results: { status: string }[] }).results.map((r) => r.status)).toEqual([
      'accepted',
      'accepted',
      'rejected',
    ]);
    const again = await raw(`${emu.url}/messages`, {
      method: 'POST',
      creds: SERVICE,
      cookie: s,
      body: { messages: [msg('a', 2), msg('a', 3)] },
    });
    expect((JSON.parse(again.body) as { results: unknown }).results).toEqual([
      { id: 'tg:bot:a:2', status: 'duplicate' },
      { id: 'tg:bot:a:3', status: 'accepted' },
    ]);
    const many = Array.from({ length: 501 }, (_, i) => msg('c', i + 1));
    const tooMany = await raw(`${emu.url}/messages`, { method: 'POST', creds: SERVICE, cookie: s, body: { messages: many } });
    expect(tooMany.status).toBe(400);
    const st = emu.state();
    expect(st.messages.byChat['tg:bot:a']).toEqual([
      { id: 'tg:bot:a:1', seq: 1 },
      { id: 'tg:bot:a:2', seq: 2 },
      { id: 'tg:bot:a:3', seq: 3 },
    ]);
    expect(st.messages.byChat['tg:bot:c']).toBeUndefined();
    expect(st.messages.duplicates).toEqual({ count: 1, ids: ['tg:bot:a:2'] });
    expect(st.messages.rejected[0].id).toBe('tg:bot:b:1');
  });

  it('keeps statuses per id in order, duplicates by id and status; routing events by id', async () => {
    const s = cookieOf(await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' }));
    const at = new Date().toISOString();
    const st1 = await raw(`${emu.url}/statuses`, {
      method: 'POST',
      creds: SERVICE,
      cookie: s,
      body: {
        statuses: [
          { id: 'o1', status: 'sent', at },
          { id: 'o1', status: 'delivered', at },
          { id: 'o1', status: 'sent', at },
        ],
      },
    });
    expect((JSON.parse(st1.body) as { results: { status: string }[] }).results.map((r) => r.status)).toEqual([
      'accepted',
      'accepted',
      'duplicate',
    ]);
    const ev = { id: 'e1', chatId: 'tg:bot:a', type: 'assigned', operatorId: 'u-ivanov', at };
    await raw(`${emu.url}/routing`, { method: 'POST', creds: SERVICE, cookie: s, body: { events: [ev, ev] } });
    const state = emu.state();
    expect(state.statuses.byId.o1).toEqual(['sent', 'delivered']);
    expect(state.routing.events).toEqual([{ id: 'e1', chatId: 'tg:bot:a', type: 'assigned', operatorId: 'u-ivanov', group: null }]);
    expect(state.routing.duplicates.count).toBe(1);
  });

  it('ends a session after sessionMaxAge without requests', async () => {
    const short = new OnecEmulator({ sessionMaxAgeS: 0.1 });
    await short.start();
    try {
      await raw(`${short.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
      await until(() => short.state().sessions.expired === 1, { what: 'session expiry' });
      expect(short.state().sessions.open).toBe(0);
    } finally {
      await short.stop();
    }
  });

  it('runs requests of one session one at a time', async () => {
    emu.setLatency({ perCallMs: 100 });
    const s = cookieOf(await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' }));
    await Promise.all(
      [1, 2, 3].map((i) =>
        raw(`${emu.url}/messages`, { method: 'POST', creds: SERVICE, cookie: s, body: { messages: [msg('serial', i)] } }),
      ),
    );
    const st = emu.state();
    expect(st.messages.byChat['tg:bot:serial']).toHaveLength(3);
    expect(st.sessions.peakQueuedInSession).toBeGreaterThan(1);
    expect(st.sessions.peakRunningInSession).toBe(1);
  });
});

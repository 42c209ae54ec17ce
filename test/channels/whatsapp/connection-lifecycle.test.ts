/**
 * Issue 15, items 1 and 2: an account that was logged out / replaced comes back on request
 * on the lease holder (no restart), and no close code loops without end. Connection-update
 * sequences per close code, with the count of sockets opened (Baileys' real event buffer).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { buildHttpApp } from '../../../src/http/app.ts';
import { whatsappRoutes } from '../../../src/http/routes/whatsapp-routes.ts';
import { createWhatsappConnector, type WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { AccountSupervisor } from '../../../src/coordination/account-supervisor.js';
import { silentLogger } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, until, uniquePrefix } from '../../helpers/redis.ts';
import { FakeSocketFactory, MemoryMediaStore, MemorySink, boom, type FakeSocket } from './fakes.ts';

const prefix = uniquePrefix('wa-life');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

function setup(account: string, backoff: { baseMs: number; maxMs?: number } = { baseMs: 60_000 }, extra = {}) {
  const fake = new FakeSocketFactory();
  const c = createWhatsappConnector({
    accounts: [account],
    redis,
    prefix,
    mediaStore: new MemoryMediaStore(),
    logger: silentLogger,
    socketFactory: fake.factory,
    backoff,
    runnerOptions: { pairingWaitMs: 5_000, ...extra },
  });
  connectors.push(c);
  return { fake, c, runner: c.runner(account)!, sink: new MemorySink() };
}

function pair(s: FakeSocket, phone = '79990000001'): void {
  s.ev.emit('creds.update', { me: { id: `${phone}:5@s.whatsapp.net`, name: 'Shop' }, account: { details: Buffer.from([1]) } });
}

describe('item 1: re-pair without a restart, on the lease holder', () => {
  it('after loggedOut, GET qr starts a new pairing round and returns a PNG; pairing-code works too', async () => {
    const { fake, c, runner, sink } = setup('relog', { baseMs: 1 });
    const sup = new AccountSupervisor({ redis, prefix, sink, runners: c.runners(), instanceId: 'a', leaseMs: 60_000, retryMs: 60_000 });
    await sup.setEnabled(true);
    const app = await buildHttpApp({ apiToken: 'tok', plugins: [whatsappRoutes({ runner: (a) => c.runner(a) })] });
    const auth = { authorization: 'Bearer tok' };
    try {
      const s1 = await fake.nth(1);
      pair(s1);
      s1.open();
      await s1.end(boom(DisconnectReason.loggedOut));
      await until(() => runner.state().state === 'logged_out');
      expect(sup.states()[0].state).toBe('logged_out');
      const pending = app.inject({ method: 'GET', url: '/api/v1/whatsapp/relog/qr', headers: auth });
      const s2 = await fake.nth(2);
      expect(s2.input.auth.creds.me).toBeUndefined(); // fresh creds: the old session was deleted
      s2.qr('2@new,qr,round');
      const res = await pending;
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/png');
      const code = await app.inject({
        method: 'POST',
        url: '/api/v1/whatsapp/relog/pairing-code',
        headers: auth,
        payload: { phone: '79991234567' },
      });
      expect(code.json()).toEqual({ code: 'C1234567' });
      pair(s2, '79990000002');
      s2.open();
      expect(runner.state().state).toBe('open');
    } finally {
      await app.close();
      await sup.close();
    }
  });

  it('after connectionReplaced, a pairing-code request reconnects it (creds kept)', async () => {
    const { fake, runner, sink } = setup('replc', { baseMs: 1 });
    await runner.start(sink);
    const s1 = await fake.nth(1);
    pair(s1);
    s1.open();
    await s1.end(boom(DisconnectReason.connectionReplaced));
    await until(() => runner.state().state === 'replaced');
    expect(fake.sockets.length).toBe(1);
    const p = runner.requestPairingCode('79991234567').catch((e: Error) => e);
    const s2 = await fake.nth(2);
    expect(s2.input.auth.creds.me?.id).toBe('79990000001:5@s.whatsapp.net');
    s2.open();
    expect(await p).toBeInstanceOf(Error); // already paired: it opened instead
    expect(runner.state().state).toBe('open');
  });

  it('a 401 within seconds after a 515 is retried once before the session is deleted', async () => {
    const clock = { t: 1_000_000 };
    const { fake, runner, sink } = setup('false401', { baseMs: 1 }, { now: () => clock.t });
    await runner.start(sink);
    const s1 = await fake.nth(1);
    s1.qr('2@a,b,c');
    pair(s1);
    await until(async () => (await redis.get(`${prefix}:wa:false401:auth:creds`))?.includes('Shop') ?? false);
    await s1.end(boom(DisconnectReason.restartRequired));
    const s2 = await fake.nth(2);
    clock.t += 2_000;
    await s2.end(boom(DisconnectReason.loggedOut));
    const s3 = await fake.nth(3);
    expect(await redis.exists(`${prefix}:wa:false401:auth:creds`)).toBe(1);
    expect(s3.input.auth.creds.me?.id).toBe('79990000001:5@s.whatsapp.net');
    await s3.end(boom(DisconnectReason.loggedOut)); // the second one is believed
    await until(() => runner.state().state === 'logged_out');
    expect(await redis.exists(`${prefix}:wa:false401:auth:creds`)).toBe(0);
    expect(fake.sockets.length).toBe(3);
  });
});

describe('item 2: bounded reconnects per close code (sockets opened)', () => {
  it('515 in a row: the first reconnects at once, the next ones wait for the backoff', async () => {
    const { fake, runner, sink } = setup('r515');
    await runner.start(sink);
    const s1 = await fake.nth(1);
    pair(s1);
    s1.open();
    await s1.end(boom(DisconnectReason.restartRequired));
    const s2 = await fake.nth(2);
    s2.open();
    await s2.end(boom(DisconnectReason.restartRequired));
    await until(() => runner.diagnostics().reconnectPending);
    // the old code reconnected at once every time (50 in a row opened 51 sockets)
    expect(fake.sockets.length).toBe(2);
    expect(runner.diagnostics()).toMatchObject({ reconnectPending: true, attempts: 2 });
  });

  it.each([
    [DisconnectReason.forbidden, 'forbidden', /refused this number/],
    [DisconnectReason.multideviceMismatch, 'error', /multi-device mismatch/],
    [405, 'outdated_version', /protocol version/],
  ] as const)('%s → state %s, no reconnect, the lease holder stays idle until asked', async (code, state, why) => {
    const { fake, runner, sink } = setup(`c${code}`, { baseMs: 1 });
    await runner.start(sink);
    const s1 = await fake.nth(1);
    pair(s1);
    s1.open();
    await s1.end(boom(code));
    await until(() => runner.state().state === state);
    expect(runner.state().lastError).toMatch(why);
    expect(runner.diagnostics()).toMatchObject({ reconnectPending: false, running: true });
    expect(fake.sockets.length).toBe(1);
    const saved = JSON.parse((await redis.get(`${prefix}:wa:c${code}:state`)) ?? '{}') as { state?: string };
    expect(saved.state).toBe(state); // what doctor reads
  });

  it('unscanned QR rounds are capped, then waiting_for_pairing until a QR is requested', async () => {
    const { fake, runner, sink } = setup('qrcap', { baseMs: 1 });
    await runner.start(sink);
    for (let i = 1; i <= 3; i++) {
      const s = await fake.nth(i);
      s.qr(`2@round${i}`);
      await s.end(boom(DisconnectReason.timedOut, 'QR refs attempts ended'));
    }
    await until(() => runner.state().state === 'waiting_for_pairing');
    expect(fake.sockets.length).toBe(3);
    expect(runner.diagnostics().reconnectPending).toBe(false);
    const png = runner.qrPngWhenReady();
    const s4 = await fake.nth(4);
    s4.qr('2@round4');
    expect((await png)?.subarray(1, 4).toString()).toBe('PNG');
  });
});

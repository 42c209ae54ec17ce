import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { backoffDelay, decideOnClose, type CloseDecision } from '../../../src/channels/whatsapp/connection-policy.ts';
import { createWhatsappConnector, type WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { silentLogger } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, until, uniquePrefix } from '../../helpers/redis.ts';
import { FakeSocketFactory, MemoryMediaStore, MemorySink, boom } from './fakes.ts';

const TABLE: [keyof typeof DisconnectReason, CloseDecision][] = [
  ['restartRequired', 'restart'],
  ['loggedOut', 'logged_out'],
  ['connectionReplaced', 'replaced'],
  ['connectionClosed', 'reconnect_backoff'],
  ['connectionLost', 'reconnect_backoff'],
  ['timedOut', 'reconnect_backoff'],
  ['badSession', 'reconnect_backoff'],
  ['multideviceMismatch', 'mismatch'],
  ['forbidden', 'forbidden'],
  ['unavailableService', 'reconnect_backoff'],
];

describe('decideOnClose', () => {
  it.each(TABLE)('%s → %s', (name, decision) => {
    expect(decideOnClose(DisconnectReason[name])).toBe(decision);
  });
  it('no status code or an unknown one → backoff', () => {
    expect(decideOnClose(undefined)).toBe('reconnect_backoff');
    expect(decideOnClose(999)).toBe('reconnect_backoff');
    expect(decideOnClose(405)).toBe('outdated_version');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially and is capped; jitter stays within its ratio', () => {
    const mid = () => 0.5; // no jitter
    const d = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((a) => backoffDelay(a, { baseMs: 100, maxMs: 5000 }, mid));
    for (let i = 1; i < d.length; i++) expect(d[i]).toBeGreaterThanOrEqual(d[i - 1]);
    expect(d.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(Math.max(...d)).toBe(5000);
    expect(backoffDelay(20, { baseMs: 100, maxMs: 5000, jitterRatio: 0.2 }, () => 0.999)).toBeLessThanOrEqual(6000);
    expect(backoffDelay(20, { baseMs: 100, maxMs: 5000, jitterRatio: 0.2 }, () => 0)).toBeGreaterThanOrEqual(4000);
  });
});

describe('runner connection policy (socket-factory double on Baileys’ event buffer)', () => {
  const prefix = uniquePrefix('wa-conn');
  const redis = newRedis();
  const connectors: WhatsappConnector[] = [];
  afterEach(async () => {
    for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  function setup(account: string, backoff = { baseMs: 60_000 }, clock?: { t: number }) {
    const fake = new FakeSocketFactory();
    const c = createWhatsappConnector({
      accounts: [account],
      redis,
      prefix,
      mediaStore: new MemoryMediaStore(),
      logger: silentLogger,
      socketFactory: fake.factory,
      backoff,
      runnerOptions: clock ? { now: () => clock.t, stableOpenMs: 1000 } : {},
    });
    connectors.push(c);
    return { fake, runner: c.runner(account)!, sink: new MemorySink() };
  }

  it('pairing: QR is exposed, restartRequired → exactly one new socket, then open', async () => {
    const { fake, runner, sink } = setup('pair');
    await runner.start(sink);
    await runner.start(sink); // idempotent
    const s1 = await fake.nth(1);
    expect(runner.state().state).toBe('pairing');
    s1.qr('2@abc,def,ghi');
    expect(runner.currentQr()).toBe('2@abc,def,ghi');
    const png = await runner.qrPng();
    expect(png!.subarray(1, 4).toString()).toBe('PNG');
    expect(await runner.requestPairingCode('+7 999 123-45-67')).toBe('C1234567');
    // pair-success: Baileys emits creds.update with account + me, then closes with 515
    s1.ev.emit('creds.update', { me: { id: '79991234567:7@s.whatsapp.net', name: 'Shop' }, account: { details: Buffer.from([1]) } });
    await s1.end(boom(DisconnectReason.restartRequired));
    const s2 = await fake.nth(2);
    expect(runner.state().state).toBe('connecting');
    s2.open();
    expect(runner.state()).toMatchObject({ state: 'open', lastError: null });
    expect(runner.currentQr()).toBeNull();
    expect(await runner.qrPng()).toBeNull();
    expect(fake.sockets.length).toBe(2);
    expect(runner.diagnostics().reconnectPending).toBe(false);
    // creds were persisted: they are in Redis for the next process
    const saved = await until(async () => {
      const raw = await redis.get(`${prefix}:wa:pair:auth:creds`);
      return raw?.includes('Shop') ? raw : null;
    });
    expect(saved).toContain('79991234567:7@s.whatsapp.net');
  });

  it('connectionReplaced → state replaced, no reconnect (no fight)', async () => {
    const { fake, runner, sink } = setup('repl', { baseMs: 1 });
    await runner.start(sink);
    const s1 = await fake.nth(1);
    s1.open();
    await s1.end(boom(DisconnectReason.connectionReplaced));
    await until(() => runner.state().state === 'replaced');
    // still held here (running), idle until someone asks for a QR / pairing code
    expect(runner.diagnostics()).toMatchObject({ reconnectPending: false, running: true });
    expect(runner.idle()).toBe(true);
    expect(fake.sockets.length).toBe(1);
    expect(runner.state().lastError).toMatch(/replaced/);
  });

  it('loggedOut → auth state cleared, state logged_out, no reconnect', async () => {
    const { fake, runner, sink } = setup('out', { baseMs: 1 });
    await runner.start(sink);
    const s1 = await fake.nth(1);
    s1.ev.emit('creds.update', { me: { id: '79990000000:3@s.whatsapp.net' } });
    await s1.input.auth.keys.set({ session: { a: new Uint8Array([1]) } });
    await until(async () => (await redis.exists(`${prefix}:wa:out:auth:creds`)) === 1);
    s1.open();
    await s1.end(boom(DisconnectReason.loggedOut));
    await until(() => runner.state().state === 'logged_out');
    expect(await redis.exists(`${prefix}:wa:out:auth:creds`, `${prefix}:wa:out:auth:keys`)).toBe(0);
    expect(runner.diagnostics().reconnectPending).toBe(false);
    expect(fake.sockets.length).toBe(1);
    // start() again pairs from scratch
    await runner.start(sink);
    await fake.nth(2);
    expect(runner.state().state).toBe('pairing');
  });

  it('other closes reconnect with growing backoff, reset after a stable open; stop() ends it for good', async () => {
    const clock = { t: 1_000_000 };
    const { fake, runner, sink } = setup('flaky', { baseMs: 1, maxMs: 4 } as { baseMs: number }, clock);
    await runner.start(sink);
    let s = await fake.nth(1);
    for (let i = 1; i <= 3; i++) {
      await s.end(boom(DisconnectReason.connectionLost));
      expect(runner.diagnostics().attempts).toBe(i);
      s = await fake.nth(i + 1);
    }
    expect(runner.state().lastError).toMatch(/408/);
    s.open();
    clock.t += 1000; // stable for stableOpenMs
    await s.end(boom(DisconnectReason.connectionClosed));
    expect(runner.diagnostics().attempts).toBe(1);
    s = await fake.nth(5);
    await runner.stop();
    expect(s.ended).toBe(true);
    expect(runner.state().state).toBe('stopped');
    expect(runner.diagnostics()).toMatchObject({ reconnectPending: false, running: false });
    expect(fake.sockets.length).toBe(5);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRunner, AccountState, InboundSink } from '../../src/core/index.ts';
import { AccountSupervisor } from '../../src/coordination/account-supervisor.js';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../helpers/redis.ts';

class CountingRunner implements AccountRunner {
  readonly channel = 'telegram' as const;
  running = false;
  starts = 0;
  constructor(readonly leaseKey: string) {}
  async start(_sink: InboundSink) {
    this.running = true;
    this.starts++;
  }
  async stop() {
    this.running = false;
  }
  state(): AccountState {
    return {
      channel: 'telegram',
      account: this.leaseKey,
      state: this.running ? 'open' : 'stopped',
      since: new Date().toISOString(),
      lastError: null,
    };
  }
}

const sink: InboundSink = { ingest: async () => [] };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function instance(prefix: string, name: string, runner: CountingRunner) {
  const redis = newRedis();
  const sup = new AccountSupervisor({ redis, prefix, sink, runners: [runner], instanceId: name, leaseMs: 600, retryMs: 100 });
  cleanups.push(async () => {
    await sup.close().catch(() => undefined);
    redis.disconnect();
  });
  return { sup, redis };
}

describe('AccountSupervisor', () => {
  it('runs an account on exactly one of two instances, and the other takes over when the holder dies', async () => {
    const prefix = uniquePrefix('sup');
    cleanups.push(() => cleanupPrefix(prefix));
    const ra = new CountingRunner('tg:1');
    const rb = new CountingRunner('tg:1');
    const a = instance(prefix, 'a', ra);
    const b = instance(prefix, 'b', rb);
    a.sup.start();
    b.sup.start();
    await Promise.all([a.sup.setEnabled(true), b.sup.setEnabled(true)]);
    await until(() => ra.running || rb.running, { what: 'one runner started' });
    // Several lease rounds later still exactly one runs.
    await until(async () => (await a.sup.holders())['tg:1'] !== null, { what: 'lease visible' });
    expect(Number(ra.running) + Number(rb.running)).toBe(1);
    const [holder, other, otherRunner] = ra.running ? [a, b, rb] : [b, a, ra];
    // The holder "dies": its Redis connection is gone, nothing renews or releases its lease.
    holder.redis.disconnect();
    await until(() => otherRunner.running, { what: 'takeover', timeoutMs: 5000 });
    expect(otherRunner.starts).toBe(1);
    expect(await other.sup.holders()).toEqual({ 'tg:1': other === a ? 'a' : 'b' });
  });

  it('starts nothing while the license gate is closed, and stops runners when it closes', async () => {
    const prefix = uniquePrefix('sup');
    cleanups.push(() => cleanupPrefix(prefix));
    const r = new CountingRunner('wa:main');
    const a = instance(prefix, 'a', r);
    a.sup.start();
    expect(r.starts).toBe(0);
    expect(a.sup.states()[0].state).toBe('unlicensed');
    await a.sup.setEnabled(true);
    await until(() => r.running, { what: 'runner started' });
    await a.sup.setEnabled(false);
    expect(r.running).toBe(false);
    expect(await a.sup.holders()).toEqual({ 'wa:main': null });
  });
});

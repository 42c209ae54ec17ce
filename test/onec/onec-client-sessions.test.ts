import { describe, expect, it } from 'vitest';
import {
  LocalSessionPermits,
  OnecClient,
  OnecLicenseRefusedError,
  type OnecClientOptions,
  type SessionPermit,
  type SessionPermits,
} from '../../src/onec/index.ts';
import { until } from '../helpers/redis.ts';
import { msg, useEmulator } from './onec-test-helpers.ts';

describe('1C client sessions and batching', () => {
  const fx = useEmulator({ licenseTotal: 10 });
  const client = (o: Partial<OnecClientOptions> = {}): OnecClient => fx.client(o);

  it('reuses one session for many deliveries and finishes it on close', async () => {
    const c = client();
    for (let i = 1; i <= 20; i++) {
      expect(await c.deliverMessages([msg('a', i)])).toEqual([{ id: `tg:bot:a:${i}`, status: 'accepted' }]);
    }
    await c.deliverStatuses([{ id: 'out-1', status: 'sent', at: new Date().toISOString() }]);
    await c.deliverRouting([{ id: 'ev-1', chatId: 'tg:bot:a', type: 'queued', group: 'sales', at: new Date().toISOString() }]);
    expect(fx.emu.state().sessions).toMatchObject({ opened: 1, open: 1 });
    expect(c.openSessions).toBe(1);
    await c.close();
    expect(fx.emu.state().sessions).toMatchObject({ open: 0, finished: 1 });
    expect(fx.emu.state().messages.byChat['tg:bot:a']).toHaveLength(20);
  });

  it('reopens a session once after 1C ended it', async () => {
    const c = client();
    await c.deliverMessages([msg('a', 1)]);
    expect(fx.emu.expireSessions()).toBe(1);
    expect(await c.deliverMessages([msg('a', 2)])).toEqual([{ id: 'tg:bot:a:2', status: 'accepted' }]);
    expect(fx.emu.state().sessions).toMatchObject({ opened: 2, expired: 1, open: 1 });
  });

  it('does not loop when reopening fails, and recovers on the next delivery', async () => {
    const c = client();
    await c.deliverMessages([msg('a', 1)]);
    fx.emu.expireSessions();
    fx.emu.refuseLicenses(1);
    await expect(c.deliverMessages([msg('a', 2)])).rejects.toBeInstanceOf(OnecLicenseRefusedError);
    // 1 delivered, then 1 with the dead cookie and 1 refused reopen: nothing more.
    expect(fx.emu.state().calls.messages).toBe(3);
    expect(c.openSessions).toBe(0);
    expect(await c.deliverMessages([msg('a', 2)])).toEqual([{ id: 'tg:bot:a:2', status: 'accepted' }]);
    expect(fx.emu.state().sessions.opened).toBe(2);
  });

  it('never holds more than maxSessions under 50 concurrent deliveries, and finishes them when idle', async () => {
    fx.emu.setLatency({ perCallMs: 5, newSessionMs: 10 });
    const c = client({ maxSessions: 2, idleFinishMs: 100 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.deliverMessages([msg(`c${i % 7}`, i + 1)])));
    expect(results.flat().every((r) => r.status === 'accepted')).toBe(true);
    const st = fx.emu.state();
    expect(st.sessions.peakOpen).toBeLessThanOrEqual(2);
    expect(st.sessions.peakQueuedInSession).toBe(1);
    expect(st.messages.stored).toBe(50);
    await until(() => fx.emu.state().sessions.open === 0 && c.openSessions === 0, { what: 'idle sessions finished' });
    expect(fx.emu.state().sessions.finished).toBe(fx.emu.state().sessions.opened);
  });

  it('batches concurrent callers without exceeding batchMax or splitting a caller', async () => {
    fx.emu.setLatency({ perCallMs: 10 });
    const c = client({ batchMax: 10 });
    const callers = Array.from({ length: 50 }, (_, k) => Array.from({ length: 1 + (k % 7) }, (_, j) => msg(`k${k}`, j + 1)));
    const results = await Promise.all(callers.map((items) => c.deliverMessages(items)));
    results.forEach((r, k) => expect(r.map((x) => x.id)).toEqual(callers[k].map((m) => m.id)));
    const batches = fx.emu.recentBatches('messages');
    expect(Math.max(...batches.map((b) => b.ids.length))).toBeLessThanOrEqual(10);
    expect(batches.length).toBeLessThan(50);
    for (const items of callers) {
      const holding = batches.filter((b) => items.some((m) => b.ids.includes(m.id)));
      expect(holding).toHaveLength(1);
      expect(items.every((m) => holding[0].ids.includes(m.id))).toBe(true);
    }
    await expect(c.deliverMessages(Array.from({ length: 11 }, (_, i) => msg('big', i + 1)))).rejects.toMatchObject({
      code: 'onec_batch_too_large',
    });
  });

  it('answers duplicates and rejected messages per caller, and fails every caller of a failed batch', async () => {
    const c = client();
    await c.deliverMessages([msg('d', 1)]);
    const [dup, rej] = await Promise.all([
      c.deliverMessages([msg('d', 1), msg('d', 2)]),
      c.deliverMessages([msg('e', 1, 'please #reject-me')]),
    ]);
    expect(dup.map((r) => r.status)).toEqual(['duplicate', 'accepted']);
    expect(rej[0]).toMatchObject({ id: 'tg:bot:e:1', status: 'rejected' });
    expect(rej[0].error).toBeTruthy();

    const callsBefore = fx.emu.state().calls.messages;
    fx.emu.failNext({ endpoint: 'messages', count: 1, status: 503, body: 'down' });
    const together = await Promise.allSettled([c.deliverMessages([msg('i', 1)]), c.deliverMessages([msg('j', 1)])]);
    expect(together.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    // Both callers were in the one failed call, and both get its classified error.
    expect(fx.emu.state().calls.messages).toBe(callsBefore + 1);
    expect(together.map((s) => (s.status === 'rejected' ? (s.reason as { code: string }).code : ''))).toEqual([
      'onec_remote_error',
      'onec_remote_error',
    ]);
    expect(await c.deliverMessages([msg('i', 1)])).toEqual([{ id: 'tg:bot:i:1', status: 'accepted' }]);
  });

  it('acquires a permit before opening a session and releases it after finishing', async () => {
    const log: string[] = [];
    const inner = new LocalSessionPermits(1);
    const permits: SessionPermits = {
      async acquire(signal?: AbortSignal): Promise<SessionPermit> {
        const p = await inner.acquire(signal);
        log.push(`acquire open=${fx.emu.state().sessions.open}`);
        return {
          release: async () => {
            log.push(`release open=${fx.emu.state().sessions.open}`);
            await p.release();
          },
        };
      },
    };
    const c = client({ permits, idleFinishMs: 50 });
    await c.deliverMessages([msg('p', 1)]);
    await until(() => log.length === 2, { what: 'permit released' });
    expect(log).toEqual(['acquire open=0', 'release open=0']);
    expect(fx.emu.state().sessions.finished).toBe(1);
  });

  it('reports calls, open sessions and license refusals to the observer', async () => {
    const calls: string[] = [];
    const open: number[] = [];
    let refused = 0;
    const c = client({
      idleFinishMs: 30,
      observer: {
        onCall: (e, outcome) => calls.push(`${e}:${outcome}`),
        onSessionsOpen: (n) => open.push(n),
        onLicenseRefused: () => {
          refused++;
        },
      },
    });
    await c.deliverMessages([msg('o', 1)]);
    await until(() => open.length === 2, { what: 'session finished after idle' });
    fx.emu.refuseLicenses(1);
    await expect(c.deliverMessages([msg('o', 2)])).rejects.toBeInstanceOf(OnecLicenseRefusedError);
    expect(calls).toEqual(['messages:ok', 'messages:onec_license_unavailable']);
    expect(open).toEqual([1, 0]);
    expect(refused).toBe(1);
  });

  it('reads licenses in a short session that it finishes at once', async () => {
    const c = client();
    expect(await c.getLicenses()).toEqual({ total: 10, used: 1, free: 9 });
    expect(fx.emu.state().sessions).toMatchObject({ open: 0, opened: 1, finished: 1 });
    await c.deliverMessages([msg('l', 1)]);
    expect(await c.getLicenses()).toEqual({ total: 10, used: 1, free: 9 });
    expect(fx.emu.state().sessions.opened).toBe(2);
  });
});

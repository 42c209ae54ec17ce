import { afterEach, describe, expect, it } from 'vitest';
import { OnecClient } from '../../src/onec/onec-client.ts';
import { OnecEmulator } from '../../src/onec/emulator/index.ts';
import { RedisSessionPermits } from '../../src/coordination/onec-session-permits.js';
import { fakeMessage } from '../../src/infra/fake-messages.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('deployment-wide 1C session permits', () => {
  it('two instances with ONEC_MAX_SESSIONS=1: never two sessions, and a busy instance hands over to a waiting one', async () => {
    const emu = new OnecEmulator({ latency: { perCallMs: 10 } });
    await emu.start();
    cleanups.push(() => emu.stop());
    const prefix = uniquePrefix('perm');
    cleanups.push(() => cleanupPrefix(prefix));
    const client = () => {
      const redis = newRedis();
      const c = new OnecClient({
        baseUrl: emu.url,
        user: 'service',
        password: 'service-pass',
        maxSessions: 1,
        idleFinishMs: 500,
        permits: new RedisSessionPermits({ redis, prefix, max: 1 }),
      });
      cleanups.push(async () => {
        await c.close();
        redis.disconnect();
      });
      return c;
    };
    const a = client();
    const b = client();
    // Instance A never idles: a delivery always waits behind the one in flight.
    let stop = false;
    let n = 0;
    const busy = (async () => {
      while (!stop) await a.deliverMessages([{ ...fakeMessage(1, ++n), seq: n, route: null }]);
    })();
    while (n < 5) await new Promise((r) => setImmediate(r));
    const res = await b.deliverMessages([{ ...fakeMessage(2, 1), seq: 1, route: null }]);
    const nWhenBServed = n;
    stop = true;
    await busy;
    expect(res.map((r) => r.status)).toEqual(['accepted']);
    // A was still busy when B got its turn (B did not wait for A to go idle)…
    expect(nWhenBServed).toBeGreaterThan(5);
    // …and at no moment did 1C see two sessions.
    expect(emu.state().sessions.peakOpen).toBe(1);
  });
});

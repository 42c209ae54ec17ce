import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/coordination/rate-limiter.js';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';

const prefixes: string[] = [];
const conns: ReturnType<typeof newRedis>[] = [];
afterEach(async () => {
  conns.splice(0).forEach((c) => c.disconnect());
  await Promise.all(prefixes.splice(0).map(cleanupPrefix));
});
function limiter(prefix: string): RateLimiter {
  const redis = newRedis();
  conns.push(redis);
  return new RateLimiter({ redis, prefix });
}

describe('RateLimiter (GCRA in Redis)', () => {
  it('admits exactly the burst across two connections racing, then asks to wait', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const a = limiter(prefix);
    const b = limiter(prefix);
    const rule = { key: a.key('bot', 'x'), intervalMs: 60_000, burst: 3 };
    const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).tryAcquire([rule])));
    expect(waits.filter((w) => w === 0)).toHaveLength(3);
    for (const w of waits.filter((x) => x > 0)) {
      expect(w).toBeGreaterThan(50_000);
      expect(w).toBeLessThanOrEqual(60_000);
    }
  });

  it('charges nothing when one of several rules refuses', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    const bot = { key: l.key('bot'), intervalMs: 60_000 };
    const chatA = { key: l.key('chat', 'a'), intervalMs: 60_000 };
    const chatB = { key: l.key('chat', 'b'), intervalMs: 60_000 };
    expect(await l.tryAcquire([chatB, bot])).toBe(0);
    // The bot is spent: chat A is refused, and its own slot must stay unspent.
    expect(await l.tryAcquire([chatA, bot])).toBeGreaterThan(0);
    expect(await l.tryAcquire([chatA])).toBe(0);
    expect(await l.tryAcquire([chatA])).toBeGreaterThan(0);
  });

  it('acquire waits for the next slot, or gives up with retryAfterMs beyond maxWaitMs', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    const fast = { key: l.key('fast'), intervalMs: 150 };
    expect(await l.tryAcquire([fast])).toBe(0);
    expect(await l.tryAcquire([fast])).toBeGreaterThan(0);
    const got = await l.acquire([fast], { maxWaitMs: 5_000 });
    expect(got.ok).toBe(true);
    // The slot after that one is charged to the successful acquire.
    expect(await l.tryAcquire([fast])).toBeGreaterThan(0);

    const slow = { key: l.key('slow'), intervalMs: 30_000 };
    expect(await l.tryAcquire([slow])).toBe(0);
    const refused = await l.acquire([slow], { maxWaitMs: 1_000 });
    expect(refused).toMatchObject({ ok: false, aborted: false });
    expect(refused.ok === false && refused.retryAfterMs).toBeGreaterThan(1_000);
  });

  it('an aborted wait resolves at once, not allowed', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    const rule = { key: l.key('r'), intervalMs: 10_000 };
    await l.tryAcquire([rule]);
    const ac = new AbortController();
    const pending = l.acquire([rule], { maxWaitMs: 20_000, signal: ac.signal });
    ac.abort();
    expect(await pending).toEqual({ ok: false, retryAfterMs: 0, aborted: true });
  });

  it('an event of cost 3 goes at once and holds the next 3 slots', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    const key = l.key('c');
    expect(await l.tryAcquire([{ key, intervalMs: 10_000, cost: 3 }])).toBe(0);
    const wait = await l.tryAcquire([{ key, intervalMs: 10_000 }]);
    expect(wait).toBeGreaterThan(20_000);
    expect(wait).toBeLessThanOrEqual(30_000);
  });

  it('rejects a rule without a positive interval', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    await expect(l.tryAcquire([{ key: l.key('z'), intervalMs: 0 }])).rejects.toThrow(/intervalMs/);
  });
});

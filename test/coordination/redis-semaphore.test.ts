import { afterEach, describe, expect, it } from 'vitest';
import { RedisSemaphore, SemaphoreTimeoutError } from '../../src/coordination/redis-semaphore.js';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../helpers/redis.ts';

const prefixes: string[] = [];
const conns: ReturnType<typeof newRedis>[] = [];
afterEach(async () => {
  conns.splice(0).forEach((c) => c.disconnect());
  await Promise.all(prefixes.splice(0).map(cleanupPrefix));
});
function sem(key: string, extra: Partial<ConstructorParameters<typeof RedisSemaphore>[0]> = {}) {
  const redis = newRedis();
  conns.push(redis);
  return new RedisSemaphore({ redis, key, pollMs: 5, ...extra });
}

describe('RedisSemaphore', () => {
  it('never lets more than the limit hold at once, across two connections', async () => {
    const key = uniquePrefix('sem');
    prefixes.push(key);
    const a = sem(key);
    const b = sem(key);
    let inside = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const p = await (i % 2 ? a : b).acquire(3);
        inside++;
        peak = Math.max(peak, inside);
        await new Promise((r) => setImmediate(r));
        inside--;
        await p.release();
      }),
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(0);
    expect(await a.holders()).toBe(0);
  });

  it('admits waiters first come, first served', async () => {
    const key = uniquePrefix('sem');
    prefixes.push(key);
    const s = sem(key);
    const first = await s.acquire(1);
    const order: number[] = [];
    const waiters: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      waiters.push(
        s.acquire(1).then(async (p) => {
          order.push(i);
          await p.release();
        }),
      );
      // The next waiter starts only once this one holds its ticket.
      await until(async () => (await s.waiting()) === i + 1, { what: `waiter ${i} in line` });
    }
    await first.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("times out with the place given up, and a dead holder's permit falls free", async () => {
    const key = uniquePrefix('sem');
    prefixes.push(key);
    const s = sem(key, { holdTtlMs: 200 });
    await s.acquire(1); // never released nor renewed: its holder "died"
    await expect(s.acquire(1, { waitMs: 50 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
    expect(await s.waiting()).toBe(0);
    const p = await s.acquire(1, { waitMs: 2000 });
    expect(await p.renew()).toBe(true);
    await p.release();
    expect(await p.renew()).toBe(false);
  });
});

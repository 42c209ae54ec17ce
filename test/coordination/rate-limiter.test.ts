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

describe('RateLimiter.reserve (booked slots, issue 19 item 5)', () => {
  it('two connections booking one limit at once are given distinct slots, one interval apart, none beyond maxWaitMs', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const a = limiter(prefix);
    const b = limiter(prefix);
    const rule = { key: a.key('bot', 'x'), intervalMs: 35, maxWaitMs: 500 };
    const got = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).reserve([rule])));
    const booked = got.flatMap((r) => (r.ok ? [r] : []));
    // 500 ms ahead at 35 ms: 15 slots (and the one now), a few more as time passes during the calls.
    expect(booked.length).toBeGreaterThanOrEqual(15);
    expect(booked.length).toBeLessThan(25);
    for (const r of booked) expect(r.waitMs).toBeLessThanOrEqual(500);
    const slots = booked.map((r) => r.slotUs).sort((x, y) => x - y);
    // The property many drivers and instances rely on: never two slots closer than the interval.
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeGreaterThanOrEqual(35_000);
    for (const r of got) if (!r.ok) expect(r.retryAfterMs).toBeGreaterThan(0);
  });

  it("refuses beyond a rule's maxWaitMs without charging any rule, and names the rule that refused", async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    const chat = { key: l.key('chat', 'a'), intervalMs: 60_000 };
    const bot = { key: l.key('bot'), intervalMs: 10, maxWaitMs: 1000 };
    const first = await l.reserve([chat, bot]);
    expect(first.ok).toBe(true);
    const again = await l.reserve([chat, bot]);
    expect(again.ok).toBe(false);
    if (again.ok) return;
    expect(again.rule.key).toBe(chat.key);
    expect(again.retryAfterMs).toBeGreaterThan(50_000);
    // The bot was not charged by the refusal: its next slot is the one right after the first.
    const other = await l.reserve([{ key: l.key('chat', 'b'), intervalMs: 60_000 }, bot]);
    expect(other.ok && first.ok && other.slotUs - first.slotUs).toBeGreaterThanOrEqual(10_000);
    expect(other.ok && first.ok && other.slotUs - first.slotUs).toBeLessThan(1_000_000);
  });

  it('a follow rule does not hold the booking back; its key moves on to the new slot + interval', async () => {
    const prefix = uniquePrefix('rate');
    prefixes.push(prefix);
    const l = limiter(prefix);
    const chat = { key: l.key('chat', 'a'), intervalMs: 1000 };
    const bot = { key: l.key('bot'), intervalMs: 200, maxWaitMs: 5000 };
    const first = await l.reserve([chat, bot]);
    if (!first.ok) throw new Error('the first booking was refused');
    // The chat is spent for a second; booking the bot again with the chat following is not refused.
    const again = await l.reserve([{ ...chat, follow: true }, bot]);
    if (!again.ok) throw new Error('the follow booking was refused');
    expect(again.slotUs - first.slotUs).toBeGreaterThanOrEqual(200_000);
    // The chat's next slot is now a second after the new slot, not after the first.
    const next = await l.reserve([{ ...chat, maxWaitMs: 10_000 }]);
    if (!next.ok) throw new Error('the chat booking was refused');
    expect(next.slotUs - again.slotUs).toBeGreaterThanOrEqual(1_000_000);
  });
});

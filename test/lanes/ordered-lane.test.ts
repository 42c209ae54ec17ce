import { afterEach, describe, expect, it } from 'vitest';
import { OrderedLane, type ItemOutcome, type LaneItem } from '../../src/lanes/ordered-lane.js';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix, until } from '../helpers/redis.ts';

interface Body {
  id: string;
  text: string;
}

/** A sink that records what it accepted and fails on a seeded schedule. */
class FlakySink {
  accepted = new Map<string, number[]>();
  calls = 0;
  constructor(
    private readonly failEvery = 0,
    private readonly rejectText = '#reject',
  ) {}
  async deliver(key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
    this.calls++;
    if (this.failEvery && this.calls % this.failEvery === 0) throw new Error('remote down');
    const out: ItemOutcome[] = [];
    for (const [i, it] of items.entries()) {
      // Every so often, a partial success: the rest must stay pending in place.
      if (this.failEvery && i === 3 && this.calls % 3 === 0) {
        out.push({ kind: 'retry', error: new Error('partial') });
        break;
      }
      if (it.body.text.includes(this.rejectText)) {
        out.push({ kind: 'rejected', reason: 'bad data' });
        continue;
      }
      const list = this.accepted.get(key) ?? [];
      list.push(it.seq);
      this.accepted.set(key, list);
      out.push({ kind: 'done' });
    }
    return out;
  }
}

const lanes: OrderedLane<Body>[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(lanes.splice(0).map((l) => l.close()));
  await Promise.all(prefixes.splice(0).map((p) => cleanupPrefix(p)));
});

function makeLane(sink: FlakySink, extra: Partial<ConstructorParameters<typeof OrderedLane<Body>>[0]> = {}) {
  const prefix = uniquePrefix('lane');
  prefixes.push(prefix);
  const lane = new OrderedLane<Body>({
    name: 'inbound',
    redis: newRedis(),
    bullConnection: { url: REDIS_URL },
    prefix,
    sink,
    batchMax: 7,
    concurrency: 10,
    lockMs: 2000,
    sweepIntervalMs: 500,
    retryPolicy: new RetryPolicy({ baseMs: 5, capMs: 40 }),
    ...extra,
  });
  lanes.push(lane);
  return lane;
}

describe('OrderedLane', () => {
  it.each([
    { mode: 'one key per driver', gather: false, keyCount: 20 },
    { mode: 'drivers gathering keys (issue 19)', gather: true, keyCount: 60 },
  ])('delivers every item once per key, in seq order, through failures and partial batches: $mode', async ({ gather, keyCount }) => {
    const sink = new FlakySink(4);
    const lane = makeLane(sink, { gather, gatherSlots: 2, batchMax: gather ? 25 : 7 });
    await lane.start();
    const keys = Array.from({ length: keyCount }, (_, i) => `tg:bot:${1000 + i}`);
    const perKey = 30;
    // Interleave appends of all keys in small calls, as pollers do.
    for (let n = 0; n < perKey; n += 3) {
      await lane.append(
        keys.flatMap((k) => [0, 1, 2].map((j) => ({ key: k, id: `${k}:${n + j}`, body: { id: `${k}:${n + j}`, text: `m${n + j}` } }))),
      );
    }
    await until(
      async () =>
        (await lane.pendingCount()) === 0 &&
        sink.accepted.size === keys.length &&
        [...sink.accepted.values()].every((l) => l.length >= perKey),
      { what: 'all delivered', timeoutMs: 30_000 },
    );
    for (const k of keys) {
      const seqs = sink.accepted.get(k)!;
      // Exactly once, in order, no gaps.
      expect(seqs).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    }
  });

  it('gathers many keys with one item each into shared rounds, each key once, and leaves nothing locked or ready', async () => {
    // A sink that tells how many deliveries run side by side (= one round of one driver).
    let inFlight = 0;
    let widest = 0;
    const seen = new Map<string, number>();
    const sink = {
      async deliver(key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
        inFlight++;
        widest = Math.max(widest, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        seen.set(key, (seen.get(key) ?? 0) + items.length);
        return items.map(() => ({ kind: 'done' }));
      },
    };
    const lane = makeLane(sink as unknown as FlakySink, { gather: true, gatherSlots: 1, batchMax: 50, concurrency: 1 });
    const keys = Array.from({ length: 200 }, (_, i) => `wa:acc:${i}`);
    await lane.append(keys.map((k) => ({ key: k, id: `${k}:1`, body: { id: `${k}:1`, text: 'hi' } })));
    await lane.start();
    await until(async () => seen.size === keys.length && (await lane.pendingCount()) === 0, { what: 'all delivered' });
    // One driver at a time (concurrency 1): rounds of up to 50 keys, not one key per round.
    expect(widest).toBeGreaterThanOrEqual(25);
    expect(widest).toBeLessThanOrEqual(50);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const r = newRedis();
    const base = `${(lane as unknown as { base: string }).base}`;
    await until(async () => (await r.keys(`${base}lock:*`)).length === 0, { what: 'locks released' });
    expect(await r.zcard(`${base}active`)).toBe(0);
    // The kick jobs of claimed keys ran later and found them done: nothing waits in `ready`.
    await until(async () => (await r.zcard(`${base}ready`)) === 0 && (await lane.queue.getWaitingCount()) === 0, {
      what: 'ready set and kicks drained',
    });
    r.disconnect();
  });

  it('answers a repeated id with its first seq and stores nothing new', async () => {
    const sink = new FlakySink();
    const lane = makeLane(sink);
    const a = await lane.append([
      { key: 'k', id: 'k:1', body: { id: 'k:1', text: 'a' } },
      { key: 'k', id: 'k:2', body: { id: 'k:2', text: 'b' } },
    ]);
    const b = await lane.append([
      { key: 'k', id: 'k:2', body: { id: 'k:2', text: 'b again' } },
      { key: 'k', id: 'k:3', body: { id: 'k:3', text: 'c' } },
    ]);
    expect(a.map((r) => [r.seq, r.duplicate])).toEqual([
      [1, false],
      [2, false],
    ]);
    expect(b.map((r) => [r.seq, r.duplicate])).toEqual([
      [2, true],
      [3, false],
    ]);
    expect((await lane.pending('k')).map((i) => i.body.text)).toEqual(['a', 'b', 'c']);
  });

  it('parks a rejected item with its reason without holding the key up, and a retry puts it back at its seq', async () => {
    const sink = new FlakySink(0, '#reject');
    const lane = makeLane(sink);
    await lane.start();
    await lane.append(['ok1', 'bad #reject', 'ok2'].map((t, i) => ({ key: 'c', id: `c:${i}`, body: { id: `c:${i}`, text: t } })));
    await until(async () => (sink.accepted.get('c')?.length ?? 0) === 2 && (await lane.deadQueue.getFailedCount()) === 1, {
      what: 'rejected parked',
    });
    expect(sink.accepted.get('c')).toEqual([1, 3]);
    const [failed] = await lane.deadQueue.getFailed();
    expect(failed.failedReason).toBe('bad data');
    expect(failed.data).toMatchObject({ key: 'c', seq: 2, id: 'c:1' });
    // Retry it as the dashboard would; make 1C accept it this time.
    (sink as unknown as { rejectText: string }).rejectText = '#never';
    await failed.retry('failed');
    await until(() => (sink.accepted.get('c')?.length ?? 0) === 3, { what: 'retried item delivered' });
    expect(sink.accepted.get('c')).toEqual([1, 3, 2]);
  });

  it('a kick whose process died leaves items pending; the sweep gives them a driver', async () => {
    const sink = new FlakySink();
    const lane = makeLane(sink);
    // Append while no worker runs, then lose the kick jobs (as if the process died after the Lua).
    await lane.append([{ key: 'x', id: 'x:1', body: { id: 'x:1', text: 'a' } }]);
    await lane.queue.obliterate({ force: true });
    await lane.start();
    await until(() => sink.accepted.get('x')?.length === 1, { what: 'swept and delivered' });
    expect(sink.accepted.get('x')).toEqual([1]);
  });

  it('a gathering lane queues one wake-up job per append call, not a kick per chat (issue 19)', async () => {
    const sink = new FlakySink();
    const lane = makeLane(sink, { gather: true, sweepIntervalMs: 600_000 });
    const keys = Array.from({ length: 40 }, (_, i) => `g${i}`);
    await lane.append(keys.map((k) => ({ key: k, id: `${k}:1`, body: { id: `${k}:1`, text: 'a' } })));
    // A second call while the first wake-up has not started: its flag stands, no second job.
    await lane.append(keys.map((k) => ({ key: k, id: `${k}:2`, body: { id: `${k}:2`, text: 'b' } })));
    expect(await lane.queue.getWaitingCount()).toBe(1);
    await lane.start();
    await until(() => keys.every((k) => sink.accepted.get(k)?.length === 2), { what: 'every chat delivered' });
    for (const k of keys) expect(sink.accepted.get(k)).toEqual([1, 2]);
  });

  it('a gathering lane whose wake-up job was lost (flag left set) is healed by the sweep, later appends too (issue 19)', async () => {
    const sink = new FlakySink();
    const lane = makeLane(sink, { gather: true, sweepIntervalMs: 300 });
    await lane.append([{ key: 'w1', id: 'w1:1', body: { id: 'w1:1', text: 'a' } }]);
    // The job is gone, its flag stays (as when the process died between the Lua and the add).
    await lane.queue.obliterate({ force: true });
    const base = (lane as unknown as { base: string }).base;
    const r = newRedis();
    expect(await r.exists(`${base}wake`)).toBe(1);
    // Appended while the flag stands: no job of its own.
    await lane.append([{ key: 'w2', id: 'w2:1', body: { id: 'w2:1', text: 'b' } }]);
    expect(await lane.queue.getWaitingCount()).toBe(0);
    await lane.start();
    await until(() => sink.accepted.get('w1')?.length === 1 && sink.accepted.get('w2')?.length === 1, { what: 'swept and delivered' });
    await lane.append([{ key: 'w1', id: 'w1:2', body: { id: 'w1:2', text: 'c' } }]);
    await until(() => sink.accepted.get('w1')?.length === 2, { what: 'a later append delivered' });
    expect(sink.accepted.get('w1')).toEqual([1, 2]);
    r.disconnect();
  });

  it('a sweep round looks at a bounded slice of the pending chats and the next goes on from there (issue 19)', async () => {
    const sink = new FlakySink();
    const lane = makeLane(sink, { sweepIntervalMs: 600_000, sweepSlice: 10 });
    const keys = Array.from({ length: 25 }, (_, i) => `s${i}`);
    await lane.append(keys.map((k) => ({ key: k, id: `${k}:1`, body: { id: `${k}:1`, text: 'a' } })));
    await lane.queue.obliterate({ force: true });
    const rounds = [await lane.sweep(0), await lane.sweep(0), await lane.sweep(0), await lane.sweep(0)];
    // 10 + 10 + 5, then it starts over (the kicks have not run: no worker).
    expect(rounds).toEqual([10, 10, 5, 10]);
    await lane.start();
    await until(() => sink.accepted.size === keys.length, { what: 'every swept chat delivered' });
  });

  it('queues one kick per chat while one is waiting, however many appends arrive', async () => {
    const sink = new FlakySink();
    // No sweep within the test: every delivery below must come from a kick.
    const lane = makeLane(sink, { sweepIntervalMs: 600_000 });
    for (let i = 1; i <= 40; i++)
      await lane.append([
        { key: 'busy', id: `busy:${i}`, body: { id: `busy:${i}`, text: `m${i}` } },
        { key: 'other', id: `other:${i}`, body: { id: `other:${i}`, text: `m${i}` } },
      ]);
    expect(await lane.queue.getWaitingCount()).toBe(2);
    await lane.start();
    await until(() => (sink.accepted.get('busy')?.length ?? 0) === 40 && (sink.accepted.get('other')?.length ?? 0) === 40, {
      what: 'all delivered',
    });
    // Once the kick has started, a new append queues a kick of its own (nothing waits for the sweep).
    await lane.append([{ key: 'busy', id: 'busy:41', body: { id: 'busy:41', text: 'late' } }]);
    await until(() => sink.accepted.get('busy')?.length === 41, { what: 'late item delivered' });
    expect(sink.accepted.get('busy')).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
  });

  it('tells a sink when its lock was taken over, so a stalled driver stops before its next side effect', async () => {
    const prefix = uniquePrefix('lane');
    prefixes.push(prefix);
    const redis = newRedis();
    const sent: { seq: number; whileOwnedBy: string | null }[] = [];
    let stalled = false;
    const lockKey = `${prefix}:lane:outbound:lock:c`;
    const lane = new OrderedLane<Body>({
      name: 'outbound',
      redis,
      bullConnection: { url: REDIS_URL },
      prefix,
      batchMax: 10,
      lockMs: 2000,
      sweepIntervalMs: 200,
      retryPolicy: new RetryPolicy({ baseMs: 5, capMs: 40 }),
      sink: {
        async deliver(_key, items, ctx) {
          const out: ItemOutcome[] = [];
          for (const it of items) {
            if (!(await ctx.stillOwner())) {
              out.push({ kind: 'retry', error: new Error('taken over') });
              break;
            }
            sent.push({ seq: it.seq, whileOwnedBy: await redis.get(lockKey) });
            out.push({ kind: 'done' });
            if (it.seq === 1 && !stalled) {
              // The driver stalls; its lock expires and another driver takes the chat.
              stalled = true;
              await redis.set(lockKey, 'another-driver', 'PX', 300);
            }
          }
          return out;
        },
      },
    });
    lanes.push(lane);
    await lane.append([1, 2, 3].map((n) => ({ key: 'c', id: `c:${n}`, body: { id: `c:${n}`, text: `m${n}` } })));
    await lane.start();
    await until(() => sent.length >= 3 && sent.some((x) => x.seq === 3), { what: 'all sent' });
    // Nothing was sent while another driver held the chat, and the order held.
    expect(sent.filter((x) => x.whileOwnedBy === 'another-driver')).toEqual([]);
    expect(sent.map((x) => x.seq)).toEqual([1, 2, 3]);
  });
});

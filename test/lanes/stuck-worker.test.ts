/**
 * A kick worker that stops taking kicks must not stall its chats for good. After a Redis
 * Cluster failover a worker's blocking wait for the next kick was seen never to return
 * (test/ha/cluster-failover.test.ts: 190+ kicks waiting, the shard's outbound chats stalled
 * until the test gave up); the sweep only added more kicks to the same list. Here the
 * worker is made to take nothing (BullMQ's own pause of that worker, which the lane does not
 * know about — as it did not know its worker was stuck): the sweep must notice that keys
 * wait while no drive starts, replace the worker, and the item must be delivered.
 */
import type { Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { ItemOutcome, LaneItem } from '../../src/lanes/ordered-lane.js';
import { until } from '../helpers/redis.ts';
import { testLanes } from '../helpers/test-lanes.ts';

interface Body {
  id: string;
  text: string;
}

const startLane = testLanes<Body>('stuck');

describe('a kick worker that takes no kicks', () => {
  it('is replaced by the sweep, and the waiting chat is delivered', async () => {
    const delivered: number[] = [];
    const sink = {
      async deliver(_key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
        for (const it of items) delivered.push(it.seq);
        return items.map(() => ({ kind: 'done' as const }));
      },
    };
    const lane = await startLane({ sink, lockMs: 1000, sweepIntervalMs: 100 });
    await lane.append([{ key: 'tg:bot:1', id: 'a', body: { id: 'a', text: 'first' } }]);
    await until(() => delivered.length >= 1);

    // The worker goes deaf (the lane is not paused: its sweep goes on and expects drives).
    // Paused waiting for its active drive, so no driver of the old worker is left to pick
    // up the next item on its own (its drive may still be reading on after the first).
    const deaf = (lane as unknown as { worker: Worker }).worker;
    await deaf.pause();
    expect(await lane.pendingCount()).toBe(0);
    await lane.append([{ key: 'tg:bot:1', id: 'b', body: { id: 'b', text: 'second' } }]);
    // Unserved for max(3 sweeps, 2 locks, 5 s) = 5 s, then a new worker drives the key.
    await until(() => delivered.length >= 2, { timeoutMs: 15_000, what: 'the item delivered by a replaced worker' });
    expect(delivered).toEqual([1, 2]);
    expect((lane as unknown as { worker: Worker }).worker).not.toBe(deaf);
    expect(await lane.pendingCount()).toBe(0);
  }, 30_000);
});

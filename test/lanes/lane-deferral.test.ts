/**
 * A sink's deferral (LaneDeferral, issue 19 item 5: an outbound chat whose next send slot is
 * not due yet) is pacing, not a failure: the key stays locked by the driver until the time
 * given (no kick of a newer append, no sweep delivers it earlier), its own delayed kick
 * drives it then, in order and without duplicates; the kick job completes (no retry hook, no
 * failed attempt) and its worker slot is free for other keys meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { LaneDeferral } from '../../src/lanes/lane-deferral.ts';
import type { ItemOutcome, LaneItem } from '../../src/lanes/ordered-lane.js';
import { until } from '../helpers/redis.ts';
import { testLanes } from '../helpers/test-lanes.ts';

interface Body {
  id: string;
}

const startLane = testLanes<Body>('defer');

describe('a deferral (LaneDeferral)', () => {
  it.each([{ deferMs: 600 }, { deferMs: 30 }])(
    'drives the key again after $deferMs ms, in order, once each; the worker slot serves other keys meanwhile; not a retry',
    async ({ deferMs }) => {
      const delivered: { key: string; id: string; at: number }[] = [];
      let deferredAt = 0;
      const retries: unknown[] = [];
      const sink = {
        async deliver(key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
          const out: ItemOutcome[] = [];
          for (const it of items) {
            // The chat's second message: "not before deferMs" — once.
            if (key === 'chat:a' && it.body.id === 'a2' && deferredAt === 0) {
              deferredAt = Date.now();
              out.push({ kind: 'retry', error: new LaneDeferral(deferMs, 'the next slot is not due') });
              break;
            }
            delivered.push({ key, id: it.body.id, at: Date.now() });
            out.push({ kind: 'done' });
          }
          return out;
        },
      };
      const lane = await startLane({
        sink,
        // One worker slot: key b can only go while a's driver has given its slot back.
        concurrency: 1,
        lockMs: 2000,
        // Far shorter than the deferral: a key left unlocked would be re-kicked at once.
        sweepIntervalMs: 50,
        hooks: { onRetry: (_k, err) => retries.push(err) },
      });
      await lane.append([
        { key: 'chat:a', id: 'a1', body: { id: 'a1' } },
        { key: 'chat:a', id: 'a2', body: { id: 'a2' } },
      ]);
      await until(() => deferredAt > 0);
      // During the deferral: a newer message of the same chat (its kick must not deliver early) and another chat.
      await lane.append([
        { key: 'chat:a', id: 'a3', body: { id: 'a3' } },
        { key: 'chat:b', id: 'b1', body: { id: 'b1' } },
      ]);
      await until(() => delivered.length >= 4, { timeoutMs: 10_000 });
      // Nothing more arrives (a duplicate would come from a second driver of chat a).
      await until(async () => (await lane.pendingCount()) === 0);
      expect(delivered.filter((d) => d.key === 'chat:a').map((d) => d.id)).toEqual(['a1', 'a2', 'a3']);
      expect(delivered.map((d) => d.id).sort()).toEqual(['a1', 'a2', 'a3', 'b1']);
      const a2 = delivered.find((d) => d.id === 'a2');
      expect((a2?.at ?? 0) - deferredAt).toBeGreaterThanOrEqual(deferMs - 15);
      if (deferMs > 100) {
        // The slot was free during the wait: chat b went before chat a's deferred message.
        const b1 = delivered.find((d) => d.id === 'b1');
        expect(b1?.at ?? Infinity).toBeLessThan(a2?.at ?? 0);
      }
      // Pacing is not a failure: no retry hook, and no kick job failed an attempt.
      expect(retries).toEqual([]);
      const jobs = await lane.queue.getJobs(['completed', 'delayed', 'waiting', 'active', 'failed']);
      expect(jobs.filter((j) => !!j.failedReason || (j.stacktrace?.length ?? 0) > 0).map((j) => j.failedReason)).toEqual([]);
    },
  );
});

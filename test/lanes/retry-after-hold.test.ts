/**
 * A remote that names its own wait (Telegram's retry_after, a TDLib flood wait) is obeyed by
 * the whole lane: neither the periodic sweep nor the kick of a newer append may deliver the
 * key before that wait is over (they did: the sweep found the key unlocked and re-kicked it).
 */
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/core/index.ts';
import type { ItemOutcome, LaneItem } from '../../src/lanes/ordered-lane.js';
import { until } from '../helpers/redis.ts';
import { testLanes } from '../helpers/test-lanes.ts';

interface Body {
  id: string;
  text: string;
}

const startLane = testLanes<Body>('hold');

describe('a told wait (retry_after)', () => {
  it.each([{ gather: false }, { gather: true }])(
    'holds the key for the whole wait, sweep and new appends included (gather: $gather)',
    async ({ gather }) => {
      const WAIT_MS = 1000;
      const attempts: number[] = [];
      const delivered: number[] = [];
      const sink = {
        async deliver(_key: string, items: LaneItem<Body>[]): Promise<ItemOutcome[]> {
          attempts.push(Date.now());
          if (attempts.length === 1)
            throw new ConnectorError('telegram_rate_limited', 'Too Many Requests', { retryable: true, retryAfterMs: WAIT_MS });
          for (const it of items) delivered.push(it.seq);
          return items.map(() => ({ kind: 'done' as const }));
        },
      };
      const lane = await startLane({
        sink,
        gather,
        lockMs: 2000,
        // Far shorter than the told wait: without the hold the sweep re-kicks the key at once.
        sweepIntervalMs: 100,
      });
      await lane.append([{ key: 'tg:bot:1', id: 'a', body: { id: 'a', text: 'first' } }]);
      await until(() => attempts.length >= 1);
      // A newer message of the same chat during the wait: its kick must not deliver early either.
      await lane.append([{ key: 'tg:bot:1', id: 'b', body: { id: 'b', text: 'second' } }]);
      await until(() => delivered.length >= 2, { timeoutMs: 10_000 });
      expect(delivered).toEqual([1, 2]);
      expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(WAIT_MS - 20);
    },
  );
});

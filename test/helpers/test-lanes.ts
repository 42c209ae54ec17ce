/**
 * Lanes for lane tests: each on a unique prefix of the real Redis, with the short timings
 * such tests want (retry backoff 5–40 ms), closed and their keys removed after each test.
 */
import { afterEach } from 'vitest';
import { OrderedLane, type OrderedLaneOptions } from '../../src/lanes/ordered-lane.js';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix } from './redis.ts';

/** What a test gives: the sink and the timings it is about; the rest is filled in. */
export type TestLaneOptions<T extends object> = Omit<OrderedLaneOptions<T>, 'redis' | 'bullConnection' | 'prefix' | 'name'> & {
  name?: string;
};

/** Call once per test file: registers the cleanup and returns a factory of started lanes. */
export function testLanes<T extends object>(prefixName: string): (o: TestLaneOptions<T>) => Promise<OrderedLane<T>> {
  const lanes: OrderedLane<T>[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    await Promise.all(lanes.splice(0).map((l) => l.close()));
    await Promise.all(prefixes.splice(0).map((p) => cleanupPrefix(p)));
  });
  return async (o) => {
    const prefix = uniquePrefix(prefixName);
    prefixes.push(prefix);
    const lane = new OrderedLane<T>({
      name: 'outbound',
      retryPolicy: new RetryPolicy({ baseMs: 5, capMs: 40 }),
      ...o,
      redis: newRedis(),
      bullConnection: { url: REDIS_URL },
      prefix,
    });
    lanes.push(lane);
    await lane.start();
    return lane;
  };
}

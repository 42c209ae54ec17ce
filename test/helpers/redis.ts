/**
 * Real Redis for tests (never a mock): REDIS_URL from `npm test` (scripts/with-redis.ts).
 * Each test gets a unique key prefix and removes only its own keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/redis/redis-connection.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label = 't'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export function newRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Deletes every key under `prefix` (SCAN, never KEYS / FLUSHDB: other tests share the server). */
export async function cleanupPrefix(prefix: string): Promise<void> {
  const r = newRedis();
  try {
    await deleteKeysWithPrefix(r, prefix);
  } finally {
    r.disconnect();
  }
}

/** Waits for a condition by polling a cheap probe; for state that has no event to await. */
export async function until<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

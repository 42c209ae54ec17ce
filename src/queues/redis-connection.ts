/**
 * The one place Redis clients are made. BullMQ needs `maxRetriesPerRequest: null` so that
 * blocking commands survive reconnects; the same setting makes our own commands wait for
 * a reconnect instead of failing — a Redis restart pauses the pipeline, it loses nothing.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl, type Logger } from '../core/index.ts';

export interface RedisConnectionOptions {
  url: string;
  /** Used in log lines to tell connections apart (default `redis`). */
  name?: string;
  logger?: Logger;
  /** Extra ioredis options. */
  extra?: RedisOptions;
}

/** A Redis URL safe to print: the password replaced (core's redactUrl, under the name its callers use). */
export function redactRedisUrl(url: string): string {
  return redactUrl(url);
}

export function createRedis(opts: RedisConnectionOptions): Redis {
  const redis = new Redis(opts.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever with a capped backoff: production never gives up on Redis.
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 5), 5_000),
    connectionName: opts.name,
    ...opts.extra,
  });
  const log = opts.logger;
  if (log) {
    let down = false;
    redis.on('error', (err: Error) => {
      if (!down)
        log.error({ redis: redactRedisUrl(opts.url), err: err.message }, `Redis is unreachable at ${redactRedisUrl(opts.url)}; retrying`);
      down = true;
    });
    redis.on('ready', () => {
      if (down) log.info({ redis: redactRedisUrl(opts.url) }, 'Redis connection restored');
      down = false;
    });
  } else {
    // An unhandled 'error' event would crash the process; reconnects are automatic.
    redis.on('error', () => undefined);
  }
  return redis;
}

/**
 * Deletes every key under `<prefix>:` (SCAN + UNLINK, never KEYS or FLUSHDB: the Redis may be
 * shared). Used by the demo, tests and benchmarks to leave nothing behind.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await redis.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

/**
 * The one place Redis clients are made. BullMQ needs `maxRetriesPerRequest: null` so that
 * blocking commands survive reconnects; the same setting makes our own commands wait for
 * a reconnect instead of failing — a Redis restart pauses the pipeline, it loses nothing.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/index.ts';

/** A Sentinel-managed primary (ioredis asks the sentinels where the primary is, and again after a failover). */
export interface RedisSentinelTarget {
  nodes: { host: string; port: number }[];
  /** The monitored primary's name (`sentinel monitor <name> …`). */
  name: string;
  /** Password of the sentinels themselves (the primary's comes from the URL). */
  password: string | null;
  /** TLS to the sentinels (the primary's TLS follows the URL's `rediss:`). */
  tls: boolean;
}

/**
 * Where Redis is: a URL, or Sentinel plus the URL's credentials, database and TLS. Every
 * client the connector and BullMQ open is built from this by `redisOptions`.
 */
export interface RedisTarget {
  url: string;
  sentinel: RedisSentinelTarget | null;
}

/** Where and how to connect, without behaviour (retry strategy etc. are the caller's). */
export type RedisClientOptions = Omit<RedisOptions, 'retryStrategy' | 'reconnectOnError'>;

/** ioredis options for a target (the URL's user, password, db and TLS; Sentinel when configured). */
export function redisOptions(target: RedisTarget | string): RedisClientOptions {
  const t: RedisTarget = typeof target === 'string' ? { url: target, sentinel: null } : target;
  const u = new URL(t.url);
  const auth: RedisClientOptions = {
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) || 0 : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
  if (!t.sentinel) return { ...auth, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
  return {
    ...auth,
    sentinels: t.sentinel.nodes,
    name: t.sentinel.name,
    sentinelPassword: t.sentinel.password ?? undefined,
    sentinelTLS: t.sentinel.tls ? {} : undefined,
    enableTLSForSentinelMode: u.protocol === 'rediss:',
    // After a failover the old primary may come back as a replica: reconnect to the new one.
    failoverDetector: true,
  };
}

/** Where a target points, safe to print. */
export function describeRedisTarget(target: RedisTarget | string): string {
  const t: RedisTarget = typeof target === 'string' ? { url: target, sentinel: null } : target;
  if (!t.sentinel) return redactRedisUrl(t.url);
  return `Sentinel primary "${t.sentinel.name}" via ${t.sentinel.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

export interface RedisConnectionOptions {
  /** A URL, or a target with Sentinel. */
  url: string | RedisTarget;
  /** Used in log lines to tell connections apart (default `redis`). */
  name?: string;
  logger?: Logger;
  /** Extra ioredis options. */
  extra?: RedisOptions;
}

/** A URL safe to print: the password replaced. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(unparseable URL)';
  }
}

export function createRedis(opts: RedisConnectionOptions): Redis {
  const redis = new Redis({
    ...redisOptions(opts.url),
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
        log.error({ redis: describeRedisTarget(opts.url), err: err.message }, `Redis is unreachable at ${describeRedisTarget(opts.url)}; retrying`);
      down = true;
    });
    redis.on('ready', () => {
      if (down) log.info({ redis: describeRedisTarget(opts.url) }, 'Redis connection restored');
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

/** True when the target answers PING within the timeout (Sentinel: the primary it names). */
export async function pingRedisTarget(target: RedisTarget, timeoutMs = 1000): Promise<boolean> {
  const redis = new Redis({
    ...redisOptions(target),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs + 200).unref());
  try {
    const pong = redis.connect().then(
      () => redis.ping().then((r) => r === 'PONG'),
      () => false,
    );
    return await Promise.race([pong, timer]);
  } finally {
    redis.disconnect();
  }
}

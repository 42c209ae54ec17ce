/**
 * The one place Redis clients are made. BullMQ needs `maxRetriesPerRequest: null` so that
 * blocking commands survive reconnects; the same setting makes our own commands wait for
 * a reconnect instead of failing — a Redis restart pauses the pipeline, it loses nothing.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redactUrl, type Logger } from '../core/index.ts';

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

/** A Redis Cluster: seed nodes (ioredis learns the rest, and the new primaries after a failover). */
export interface RedisClusterTarget {
  nodes: { host: string; port: number }[];
}

/**
 * Where Redis is: a URL, Sentinel plus the URL's credentials, database and TLS, or a Cluster
 * plus the URL's credentials and TLS. Every client the connector and BullMQ open is built
 * from this (`redisOptions`, `createRedis`, `bullConnectionFor`).
 */
export interface RedisTarget {
  url: string;
  sentinel: RedisSentinelTarget | null;
  cluster?: RedisClusterTarget | null;
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
    // ioredis finds the new primary by itself when the old one drops (it asks the sentinels
    // again on reconnect). Its optional failoverDetector (subscribing to +switch-master) left
    // clients failing every command with "Connection is closed." after a kill -9 failover in
    // test/ha/sentinel-failover.test.ts, so it stays off.
    failoverDetector: false,
  };
}

/** Where a target points, safe to print. */
export function describeRedisTarget(target: RedisTarget | string): string {
  const t: RedisTarget = typeof target === 'string' ? { url: target, sentinel: null } : target;
  if (t.cluster) return `Redis Cluster via ${t.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
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
  /**
   * Replicas that must have an acknowledged write before the connector confirms it to
   * anyone (a messenger, the API caller): `awaitReplicas` runs WAIT with these. Absent: no wait.
   * `probeKey` is a key of ours the waiter writes (see ReplicaWaiter).
   */
  waitReplicas?: { count: number; timeoutMs: number; probeKey: string };
}

/**
 * Waits until replicas hold every write the connector made so far: with asynchronous
 * replication a failover loses what the replica had not received, so a message may be
 * confirmed outside (Telegram offset, 202) only after this.
 *
 * WAIT blocks the connection it runs on, and the connector shares one connection between
 * every lane: a WAIT there would hold lock renewals behind it. So it runs on a connection of
 * its own — and since WAIT covers only that connection's writes, it first writes a probe
 * key: the replication stream is ordered, so once a replica has the probe it has every write
 * acknowledged on any connection before it. When fewer replicas answer in time (one is down,
 * or a failover left none) the write is confirmed anyway, logged, and waits are skipped for
 * a few seconds: availability over the narrower window, as the operations guide states.
 */
class ReplicaWaiter {
  private conn: Redis | null = null;
  private skipUntil = 0;
  private lastLog = 0;

  constructor(
    private readonly main: Redis,
    private readonly o: { count: number; timeoutMs: number; probeKey: string; logger?: Logger },
  ) {}

  async wait(): Promise<void> {
    if (Date.now() < this.skipUntil) return;
    if (!this.conn) {
      this.conn = this.main.duplicate({ connectionName: 'chat-connector-replica-wait' });
      this.conn.on('error', () => undefined); // the main connection reports Redis trouble
    }
    const [, [, got]] = (await this.conn.pipeline().incr(this.o.probeKey).wait(this.o.count, this.o.timeoutMs).exec()) as [
      [Error | null, unknown],
      [Error | null, number],
    ];
    if (got >= this.o.count) return;
    this.skipUntil = Date.now() + 5_000;
    if (this.o.logger && Date.now() - this.lastLog > 60_000) {
      this.lastLog = Date.now();
      this.o.logger.warn(
        { replicas: got, wanted: this.o.count },
        `Only ${got} of ${this.o.count} Redis replicas confirmed a write within ${this.o.timeoutMs} ms; confirming anyway (a failover now could lose the last writes)`,
      );
    }
  }

  close(): void {
    this.conn?.disconnect();
  }
}

/** Per client made by createRedis: its waiter (absent = no replicas to wait for). */
const waiters = new WeakMap<Redis, ReplicaWaiter>();

/** Resolves once the configured replicas hold this client's writes so far (REDIS_WAIT_REPLICAS). */
export async function awaitReplicas(redis: Redis): Promise<void> {
  await waiters.get(redis)?.wait();
}

/** A Redis URL safe to print: the password replaced (core's redactUrl, under the name its callers use). */
export function redactRedisUrl(url: string): string {
  return redactUrl(url);
}

/** Reconnect forever with a capped backoff: production never gives up on Redis. */
const reconnectDelay = (times: number): number => Math.min(200 * 2 ** Math.min(times, 5), 5_000);

/**
 * ioredis Cluster options for a cluster target: every node gets the URL's user, password and
 * TLS (a Cluster has no databases). While a primary fails over, commands to its slots are
 * retried (MOVED/CLUSTERDOWN/connection lost) for up to about 30 s before they fail — the
 * lanes then retry them like every other Redis error.
 */
export function clusterOptions(target: RedisTarget, extra: RedisOptions = {}): ClusterOptions {
  const { db: _db, host: _h, port: _p, ...auth } = redisOptions(target.url);
  return {
    redisOptions: { ...auth, maxRetriesPerRequest: null, enableReadyCheck: true, ...extra },
    clusterRetryStrategy: reconnectDelay,
    retryDelayOnFailover: 300,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 300,
    retryDelayOnMoved: 0,
    maxRedirections: 100,
    slotsRefreshTimeout: 2_000,
    // Reads go to primaries: a replica may lag behind what the lanes just wrote.
    scaleReads: 'master',
  };
}

/**
 * Makes a client for the target. On a Cluster it is an ioredis `Cluster`, returned under the
 * `Redis` type every module is written against: both have the same command methods,
 * `defineCommand`, `pipeline` (one slot per pipeline — the lanes' pipelines stay in their
 * shard's slot) and `duplicate()` without arguments. What a Cluster client lacks (SCAN, INFO,
 * CONFIG across nodes) is answered by one node; `forEachPrimary` reaches them all.
 */
export function createRedis(opts: RedisConnectionOptions): Redis {
  const target: RedisTarget = typeof opts.url === 'string' ? { url: opts.url, sentinel: null } : opts.url;
  const redis = target.cluster
    ? (new Cluster(target.cluster.nodes, clusterOptions(target, { connectionName: opts.name, ...opts.extra })) as unknown as Redis)
    : new Redis({
        ...redisOptions(opts.url),
        maxRetriesPerRequest: null,
        enableReadyCheck: true,
        retryStrategy: reconnectDelay,
        connectionName: opts.name,
        ...opts.extra,
      });
  if (opts.waitReplicas && opts.waitReplicas.count > 0) {
    const waiter = new ReplicaWaiter(redis, { ...opts.waitReplicas, logger: opts.logger });
    waiters.set(redis, waiter);
    redis.once('end', () => waiter.close());
  }
  const log = opts.logger;
  if (log) {
    let down = false;
    redis.on('error', (err: Error) => {
      if (!down)
        log.error(
          { redis: describeRedisTarget(opts.url), err: err.message },
          `Redis is unreachable at ${describeRedisTarget(opts.url)}; retrying`,
        );
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

/** Is this client (createRedis) a Redis Cluster client? */
export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/** Runs `fn` on every primary of a Cluster client, or once on a plain client. */
export async function forEachPrimary<R>(redis: Redis, fn: (node: Redis) => Promise<R>): Promise<R[]> {
  if (!isCluster(redis)) return [await fn(redis)];
  return Promise.all((redis as unknown as Cluster).nodes('master').map((n) => fn(n)));
}

/**
 * BullMQ's connection for a target: options (BullMQ opens its own connections from them), or
 * on a Cluster the connector's Cluster client itself — BullMQ cannot build a Cluster from
 * options; it shares the client and duplicates it for each worker's blocking connection.
 */
export function bullConnectionFor(target: RedisTarget, redis: Redis): RedisClientOptions | Redis {
  return target.cluster ? redis : redisOptions(target);
}

/**
 * Deletes every key under `<prefix>` (SCAN + UNLINK per primary, never KEYS or FLUSHDB: the
 * Redis may be shared). Used by the demo, tests and benchmarks to leave nothing behind.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  const counts = await forEachPrimary(redis, async (node) => {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One key per call on a Cluster: a multi-key UNLINK must stay in one slot.
      if (keys.length)
        n += isCluster(redis)
          ? (await Promise.all(keys.map((k) => node.unlink(k)))).reduce((a, b) => a + b, 0)
          : await node.unlink(...keys);
    } while (cursor !== '0');
    return n;
  });
  return counts.reduce((a, b) => a + b, 0);
}

/** True when the target answers PING within the timeout (Sentinel: the primary it names). */
export async function pingRedisTarget(target: RedisTarget, timeoutMs = 1000): Promise<boolean> {
  if (target.cluster) {
    const c = new Cluster(target.cluster.nodes, {
      ...clusterOptions(target, { connectTimeout: timeoutMs, maxRetriesPerRequest: 0 }),
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
    });
    c.on('error', () => undefined);
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs + 500).unref());
    try {
      const pong = c.connect().then(
        () => c.ping().then((r) => r === 'PONG'),
        () => false,
      );
      return await Promise.race([pong, timer]);
    } finally {
      c.disconnect();
    }
  }
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

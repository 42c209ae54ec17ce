/**
 * A fair (first come, first served) counting semaphore in Redis, shared by every connector
 * instance. Used for the deployment-wide limit of 1C routing sessions (ONEC_MAX_SESSIONS)
 * and for admitting operator logins one free 1C license at a time.
 *
 * Holders are a sorted set scored by expiry: a holder that dies stops renewing and its
 * permit falls free after `holdTtlMs`. Waiters take a ticket (a counter) and are admitted in
 * ticket order; a waiter that stops asking (its process died) is dropped after
 * `waiterTtlMs`. The limit is given on each acquire, so it can follow what 1C reports.
 * Expiries are on Redis's clock (`TIME` in the scripts), the same for every instance.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { abortableSleep } from '../core/index.ts';
import { defineScripts, luaScript, redisNowMs } from '../redis/redis-scripts.ts';

const SCRIPTS = [
  luaScript(new URL('./scripts/semAcquire-4.lua', import.meta.url)),
  luaScript(new URL('./scripts/semRenew-1.lua', import.meta.url)),
];

export interface RedisSemaphoreOptions {
  redis: Redis;
  /** Full key base, e.g. `chats:sem:onec-sessions`. */
  key: string;
  /** A permit not renewed for this long falls free (default 30 000 ms). */
  holdTtlMs?: number;
  /** A waiter that has not asked for this long loses its place (default 5 000 ms). */
  waiterTtlMs?: number;
  /** How often a waiter asks again (default 20 ms). */
  pollMs?: number;
}

export interface SemaphorePermit {
  readonly token: string;
  /** Extends the permit by holdTtlMs; false when it was lost (expired and taken). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export class SemaphoreTimeoutError extends Error {
  constructor(
    readonly waitedMs: number,
    readonly position: number,
  ) {
    super(`no permit within ${waitedMs} ms (position ${position} in the queue)`);
  }
}

type SemRedis = Redis & {
  semAcquire(k1: string, k2: string, k3: string, k4: string, ...args: (string | number)[]): Promise<[number, number]>;
  semRenew(k: string, token: string, holdTtlMs: number): Promise<number>;
};

export class RedisSemaphore {
  private readonly redis: SemRedis;
  private readonly holdTtlMs: number;
  private readonly waiterTtlMs: number;
  private readonly pollMs: number;
  private readonly keys: [string, string, string, string];

  constructor(opts: RedisSemaphoreOptions) {
    this.redis = opts.redis as SemRedis;
    defineScripts(opts.redis, SCRIPTS);
    this.holdTtlMs = opts.holdTtlMs ?? 30_000;
    this.waiterTtlMs = opts.waiterTtlMs ?? 5_000;
    this.pollMs = opts.pollMs ?? 20;
    this.keys = [`${opts.key}:holders`, `${opts.key}:waiters`, `${opts.key}:seen`, `${opts.key}:counter`];
  }

  /** One attempt: a permit, or null with the caller's place kept for `waiterTtlMs`. */
  async tryAcquire(
    limit: number,
    token = randomBytes(12).toString('hex'),
  ): Promise<{ permit: SemaphorePermit | null; position: number; token: string }> {
    const [ok, rank] = await this.redis.semAcquire(...this.keys, limit, token, this.holdTtlMs, this.waiterTtlMs);
    return { permit: Number(ok) === 1 ? this.permit(token) : null, position: Number(rank), token };
  }

  /**
   * Waits in line for a permit. `limit` may change while waiting (it is asked for on every
   * attempt: e.g. free 1C licenses). Rejects with SemaphoreTimeoutError after `waitMs`, or
   * with the signal's reason when aborted; either way the place in line is given up.
   */
  async acquire(
    limit: number | (() => number | Promise<number>),
    opts: { waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<SemaphorePermit> {
    const token = randomBytes(12).toString('hex');
    const started = Date.now();
    const deadline = opts.waitMs === undefined ? Infinity : started + opts.waitMs;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const lim = typeof limit === 'function' ? await limit() : limit;
        const r = await this.tryAcquire(lim, token);
        if (r.permit) return r.permit;
        if (Date.now() >= deadline) throw new SemaphoreTimeoutError(Date.now() - started, r.position);
        // An abort cuts the wait short; the check at the top of the loop then throws its reason.
        await abortableSleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), opts.signal);
      }
    } catch (err) {
      await this.leaveLine(token);
      throw err;
    }
  }

  private async leaveLine(token: string): Promise<void> {
    await this.redis
      .multi()
      .zrem(this.keys[1], token)
      .zrem(this.keys[2], token)
      .exec()
      .catch(() => undefined);
  }

  private permit(token: string): SemaphorePermit {
    return {
      token,
      renew: async () => Number(await this.redis.semRenew(this.keys[0], token, this.holdTtlMs)) === 1,
      release: async () => {
        await this.redis.zrem(this.keys[0], token);
      },
    };
  }

  /** Permits held right now (expired ones not counted). */
  async holders(): Promise<number> {
    return this.redis.zcount(this.keys[0], String(await redisNowMs(this.redis)), '+inf');
  }

  /** Callers waiting in line right now. */
  async waiting(): Promise<number> {
    return this.redis.zcard(this.keys[1]);
  }
}

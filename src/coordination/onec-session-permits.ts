/**
 * Deployment-wide 1C routing-session permits: ONEC_MAX_SESSIONS is for the whole
 * deployment, not per process. A permit is held from before a session is opened until
 * after it is finished, renewed meanwhile; if this process dies, the permit falls free
 * after `holdTtlMs` — chosen a little above 1C's own sessionMaxAge, because that is how
 * long 1C keeps the orphaned session (and its license).
 */
import type { Redis } from 'ioredis';
import { RedisSemaphore } from './redis-semaphore.js';

export interface RedisSessionPermitsOptions {
  redis: Redis;
  prefix: string;
  max: number;
  /** Default 25 000 ms (1C's default sessionMaxAge is 20 s). */
  holdTtlMs?: number;
}

export interface YieldingPermit {
  release(): Promise<void>;
  /** True when someone else (another instance) waits for a permit: a busy holder should hand over. */
  contended(): Promise<boolean>;
  /** Stops renewing after one last renewal: the permit falls free `holdTtlMs` from now, as a dead process's would. */
  abandon(): Promise<void>;
}

export class RedisSessionPermits {
  private readonly sem: RedisSemaphore;
  private readonly holdTtlMs: number;

  constructor(private readonly o: RedisSessionPermitsOptions) {
    this.holdTtlMs = o.holdTtlMs ?? 25_000;
    this.sem = new RedisSemaphore({ redis: o.redis, key: `${o.prefix}:sem:onec-sessions`, holdTtlMs: this.holdTtlMs, pollMs: 25 });
  }

  async acquire(signal?: AbortSignal): Promise<YieldingPermit> {
    const permit = await this.sem.acquire(this.o.max, { signal });
    const timer = setInterval(
      () => {
        permit.renew().catch(() => undefined);
      },
      Math.floor(this.holdTtlMs / 3),
    );
    timer.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await permit.release();
      },
      contended: async () => (await this.sem.waiting()) > 0,
      abandon: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await permit.renew().catch(() => undefined);
      },
    };
  }

  /** Sessions held right now across the deployment. */
  holders(): Promise<number> {
    return this.sem.holders();
  }
}

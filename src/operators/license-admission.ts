/**
 * Admits operator logins one free 1C client license at a time, across every connector
 * instance (licensing.md rule 4): a fair (FIFO) Redis semaphore whose size is what 1C
 * reports free.
 *
 * The size comes from `GET /licenses`, cached in Redis for all instances and refreshed by
 * one probe at a time. Asking 1C is not free — outside a routing session the question
 * itself opens a session that takes a license — so the probe runs only when nobody of ours
 * is being admitted: when there is no answer yet, or the answer is stale and the line is
 * idle (while logins run or wait, the answer they work with stands, up to `maxStaleMs`;
 * a refusal by 1C corrects it at once, see below). Whoever
 * probes makes everyone else wait (size 0) until the answer is in, so the probe never
 * races a login for the last license.
 *
 * size = free (as 1C reports it)
 *      + 1 when the probe opened a session of its own (1C counts it as used)
 *      + our login sessions open in 1C at that moment (the journal; their permits are held)
 *
 * When the answer is wrong anyway (another 1C user took the license since), the admitted
 * login is refused by 1C on session start; it reports that here (`refused()`), which sets
 * the size to 0 until a new probe, and waits again.
 */
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../core/index.ts';
import { OnecLicenseRefusedError } from '../onec/onec-errors.ts';
import type { OnecLicenses } from '../onec/onec-types.ts';
import { RedisSemaphore, type SemaphorePermit } from '../coordination/redis-semaphore.js';

export interface LicenseAdmissionOptions {
  redis: Redis;
  /** QUEUE_PREFIX; the semaphore is `<prefix>:sem:onec-login`. */
  prefix: string;
  /** The 1C client: `getLicenses()` and how many routing sessions it has open. */
  onec: { getLicenses(): Promise<OnecLicenses>; readonly openSessions: number };
  /** Our login sessions open in 1C now (LoginSessionJournal.count). */
  openLoginSessions: () => Promise<number>;
  /** A permit not released within this falls free (default 35 000 ms: a login's worst case). */
  holdTtlMs?: number;
  /** How long a positive answer of 1C is used before asking again when idle (default 5 000 ms). */
  probeTtlMs?: number;
  /** Longest a positive answer is used while logins keep the line busy (default 60 000 ms). */
  maxStaleMs?: number;
  /** How long one process reuses the size it read (default 20 ms). */
  memoMs?: number;
  /** How soon to ask again after 1C had no free license (default 250 ms). */
  emptyRetryMs?: number;
  /** How often a waiting login asks the semaphore (default 10 ms). */
  pollMs?: number;
  /** A waiter silent this long loses its place (default 25 000 ms; a probe may take a 1C timeout). */
  waiterTtlMs?: number;
  logger?: Logger;
}

export function loginSemaphoreKey(prefix: string): string {
  return `${prefix}:sem:onec-login`;
}

export class LicenseAdmission {
  readonly semaphore: RedisSemaphore;
  private readonly r: Redis;
  private readonly cacheKey: string;
  private readonly lockKey: string;
  private readonly probeTtlMs: number;
  private readonly emptyRetryMs: number;
  private readonly maxStaleMs: number;
  private readonly memoMs: number;
  private memo: { n: number; at: number } | null = null;
  private readonly log: Logger;
  /** Probes made by this process (for tests and the benchmark). */
  probes = 0;

  constructor(private readonly o: LicenseAdmissionOptions) {
    this.r = o.redis;
    this.semaphore = new RedisSemaphore({
      redis: o.redis,
      key: loginSemaphoreKey(o.prefix),
      holdTtlMs: o.holdTtlMs ?? 35_000,
      waiterTtlMs: o.waiterTtlMs ?? 25_000,
      pollMs: o.pollMs ?? 10,
    });
    this.cacheKey = `${o.prefix}:operators:onec-free`;
    this.lockKey = `${o.prefix}:operators:onec-probe`;
    this.probeTtlMs = o.probeTtlMs ?? 5_000;
    this.emptyRetryMs = o.emptyRetryMs ?? 250;
    this.maxStaleMs = o.maxStaleMs ?? 60_000;
    this.memoMs = o.memoMs ?? 20;
    this.log = o.logger ?? silentLogger;
  }

  /**
   * Waits in line for a license. Rejects with SemaphoreTimeoutError after `waitMs`, with
   * the signal's reason when aborted, or with the 1C error when 1C cannot be asked.
   */
  admit(opts: { waitMs: number; signal?: AbortSignal }): Promise<SemaphorePermit> {
    return this.semaphore.acquire(() => this.size(), opts);
  }

  /** 1C refused to open a session for lack of a license: admit nobody until 1C says otherwise. */
  async refused(): Promise<void> {
    this.memo = null;
    await this.r.set(this.cacheKey, `0:${Date.now()}`);
  }

  /**
   * The semaphore's size right now. Asked on every attempt of every waiter, so the answer
   * is shared in-process for `memoMs` (many waiters, one Redis read).
   */
  async size(): Promise<number> {
    const now = Date.now();
    if (this.memo && now - this.memo.at < this.memoMs) return this.memo.n;
    const n = await this.readSize();
    this.memo = { n, at: Date.now() };
    return n;
  }

  private async readSize(): Promise<number> {
    const raw = await this.r.get(this.cacheKey);
    let cached: number | null = null;
    if (raw) {
      const [n, at] = raw.split(':').map(Number);
      cached = n;
      const ttl = n > 0 ? this.probeTtlMs : this.emptyRetryMs;
      if (Date.now() - at < ttl) return n;
      // Logins running or waiting: the answer they work with stands (a probe now would
      // compete with them for the license), up to maxStaleMs.
      if (n > 0 && Date.now() - at < this.maxStaleMs && ((await this.semaphore.holders()) > 0 || (await this.semaphore.waiting()) > 0))
        return n;
    }
    const got = await this.r.set(this.lockKey, '1', 'PX', 15_000, 'NX');
    if (got !== 'OK') return 0;
    try {
      const n = await this.probe();
      if (n !== cached) this.log.info({ free: n }, `1C licenses available to operator logins: ${n}`);
      return n;
    } finally {
      await this.r.del(this.lockKey);
    }
  }

  private async probe(): Promise<number> {
    this.probes++;
    const ownSession = this.o.onec.openSessions === 0 ? 1 : 0;
    let n: number;
    try {
      const lic = await this.o.onec.getLicenses();
      n = lic.free + ownSession + (await this.o.openLoginSessions());
    } catch (err) {
      if (!(err instanceof OnecLicenseRefusedError)) throw err;
      n = await this.o.openLoginSessions();
    }
    await this.r.set(this.cacheKey, `${n}:${Date.now()}`);
    return n;
  }
}

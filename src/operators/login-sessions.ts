/**
 * The journal of short 1C login sessions: each session id is recorded (before it is used)
 * and removed once 1C has finished it. A process that crashes mid-login leaves its record;
 * the next start — or the periodic sweep of any live instance — finishes it in 1C, so the
 * license it holds comes back before 1C's own `sessionMaxAge`.
 *
 * Each journal instance has an owner id with a liveness key refreshed while it runs; a
 * record is an orphan when its owner's liveness key is gone (never the records of a live
 * instance, which may be mid-login right now).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeError, silentLogger, type Logger } from '../core/index.ts';

export interface LoginSessionJournalOptions {
  redis: Redis;
  /** QUEUE_PREFIX; keys are `<prefix>:operators:onec-login-sessions` and `…:alive:<owner>`. */
  prefix: string;
  /** This journal's owner id (default: `<instanceId>:<random>`). */
  owner?: string;
  instanceId?: string;
  /** Liveness key lifetime (default 15 000 ms), refreshed at a third of it. */
  aliveMs?: number;
  logger?: Logger;
}

interface Entry {
  owner: string;
  at: string;
}

export class LoginSessionJournal {
  readonly owner: string;
  private readonly r: Redis;
  private readonly key: string;
  private readonly alivePrefix: string;
  private readonly aliveMs: number;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;

  constructor(o: LoginSessionJournalOptions) {
    this.r = o.redis;
    this.owner = o.owner ?? `${o.instanceId ?? 'instance'}:${randomBytes(6).toString('hex')}`;
    this.key = `${o.prefix}:operators:onec-login-sessions`;
    this.alivePrefix = `${o.prefix}:operators:alive:`;
    this.aliveMs = o.aliveMs ?? 15_000;
    this.log = o.logger ?? silentLogger;
  }

  /** Starts refreshing this owner's liveness key. */
  async start(): Promise<void> {
    await this.beat();
    if (this.timer) return;
    this.timer = setInterval(
      () => {
        this.beat().catch(() => undefined);
      },
      Math.max(50, Math.floor(this.aliveMs / 3)),
    );
    this.timer.unref();
  }

  /** Stops refreshing and drops the liveness key (records left now are orphans). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.r.del(this.alivePrefix + this.owner).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    await this.r.set(this.alivePrefix + this.owner, '1', 'PX', this.aliveMs);
  }

  async record(sessionId: string): Promise<void> {
    await this.r.hset(this.key, sessionId, JSON.stringify({ owner: this.owner, at: new Date().toISOString() } satisfies Entry));
  }

  async remove(sessionId: string): Promise<void> {
    await this.r.hdel(this.key, sessionId);
  }

  /** 1C could not confirm the end of this session: hand it to the orphan sweep (of whichever instance). */
  async abandon(sessionId: string): Promise<void> {
    if (await this.r.hexists(this.key, sessionId)) {
      await this.r.hset(this.key, sessionId, JSON.stringify({ owner: '', at: new Date().toISOString() } satisfies Entry));
    }
  }

  /** Login sessions recorded as open in 1C right now (all instances). */
  async count(): Promise<number> {
    return this.r.hlen(this.key);
  }

  /**
   * Finishes every recorded session whose owner is no longer alive. `finish` resolves true
   * when 1C ended it and false when it was already gone; both remove the record. A failure
   * (1C unreachable) keeps it for the next sweep. Returns how many records were cleared.
   */
  async finishOrphans(finish: (sessionId: string) => Promise<boolean>): Promise<number> {
    const all = await this.r.hgetall(this.key);
    const owners = new Map<string, boolean>();
    let cleared = 0;
    for (const [id, raw] of Object.entries(all)) {
      let owner: string;
      try {
        owner = (JSON.parse(raw) as Entry).owner;
      } catch {
        owner = '';
      }
      if (owner === this.owner) continue;
      if (!owners.has(owner)) owners.set(owner, owner !== '' && (await this.r.exists(this.alivePrefix + owner)) === 1);
      if (owners.get(owner)) continue;
      try {
        const ended = await finish(id);
        await this.r.hdel(this.key, id);
        cleared++;
        this.log.warn(
          { owner, ended },
          ended
            ? 'finished a 1C login session a crashed connector left open'
            : 'a 1C login session a crashed connector left had already ended',
        );
      } catch (err) {
        this.log.warn({ owner, err: describeError(err) }, 'could not finish an orphaned 1C login session; will try again');
      }
    }
    return cleared;
  }
}

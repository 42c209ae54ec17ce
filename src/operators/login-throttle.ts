/**
 * Throttling of operator login (connector-api.md: login needs no API token, so anyone who
 * reaches the port may try passwords). Every attempt that gets past validation costs a 1C
 * client license for the length of a short session, so guessing is not only a password
 * risk: a flood of bad logins could keep licenses (and seats) from real operators.
 *
 * Three limits, all in Redis so every connector instance counts the same attempts:
 *
 * 1. Backoff after failures, per workstation user and per client address: the first
 *    `freeFailures` wrong passwords/PINs in a row cost nothing (typos); each further one
 *    blocks that user (or address) for base·2^k (1 s, 2 s, 4 s, … up to `maxBlockMs`),
 *    answered `429 too_many_login_attempts` with Retry-After — before any license is
 *    touched. The count is forgotten `windowMs` after the last failure; a successful login
 *    clears the user's count (not the address's: one good account behind an address must
 *    not launder guesses at others).
 * 2. In flight, per workstation user and per client address: at most `maxInFlightUser` /
 *    `maxInFlightAddress` attempts at once (429, Retry-After 1 s), so a burst sent before
 *    the first failure is counted cannot dodge rule 1.
 * 3. Overall: at most `maxPending` logins in progress or waiting for a license, across
 *    instances; beyond it `503 login_queue_full` with Retry-After at once. So however many
 *    addresses a flood comes from, it can hold at most `maxPending` places, and a real
 *    operator's login that got a place waits behind at most that many attempts.
 *
 * Entries of rules 2–3 are sorted-set members scored by their expiry (`holdMs`, longer
 * than any login can take), so a crashed process's attempts free themselves. Blocks and
 * expiries are on Redis's clock (`TIME` in the scripts), the same for every instance.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConnectorError, RemoteRefusedError } from '../core/index.ts';
import { defineScripts, luaScript, redisNowMs } from '../redis/redis-scripts.ts';

/** `429`: this workstation user or address is blocked for a while (or has too many logins at once). */
export class TooManyLoginAttemptsError extends ConnectorError {
  constructor(message: string, retryAfterMs: number) {
    super('too_many_login_attempts', message, { httpStatus: 429, retryable: true, retryAfterMs });
  }
}

/** `503`: the overall bound of logins in progress is reached. */
export class LoginQueueFullError extends RemoteRefusedError {
  constructor(max: number, retryAfterMs: number) {
    super(
      'login_queue_full',
      `${max} operator logins are already in progress or waiting for a 1C license; try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
      { httpStatus: 503, retryable: true, retryAfterMs },
    );
  }
}

export interface LoginThrottleOptions {
  redis: Redis;
  /** QUEUE_PREFIX; keys are `<prefix>:operators:throttle:*`. */
  prefix: string;
  /**
   * Most logins in progress or waiting, all instances (OPERATOR_LOGIN_QUEUE_MAX; default 100:
   * a whole shift logging in at once, and at ~0.2–0.3 s of 1C per login on one license the
   * last of them still gets its turn within ONEC_AUTH_WAIT_MS' 30 s).
   */
  maxPending?: number;
  /** Failures in a row before backoff starts, per workstation user (default 3). */
  freeFailuresUser?: number;
  /** The same per client address (default 10: several operators may share one, behind NAT). */
  freeFailuresAddress?: number;
  /** First block (default 1 000 ms); doubles with each further failure. */
  baseBlockMs?: number;
  /** Longest block (default 300 000 ms). */
  maxBlockMs?: number;
  /** A failure count is forgotten this long after its last failure (default 900 000 ms). */
  windowMs?: number;
  /**
   * Attempts at once per workstation user (default 2: the 1C client and the panel) and per
   * address (default 64: an office behind one NAT address starting its shift; below the
   * overall bound, so one address never fills the whole queue).
   */
  maxInFlightUser?: number;
  maxInFlightAddress?: number;
  /** How long an attempt's place is held at most (a crashed process's place frees itself). */
  holdMs: number;
  /** Retry-After of `503 login_queue_full` (default 5 000 ms). */
  queueRetryAfterMs?: number;
  /** A test's clock (tests move it); default: Redis TIME inside the scripts (one clock for all instances). */
  now?: () => number;
}

const SCRIPTS = [
  luaScript(new URL('./scripts/loginThrottleBegin-5.lua', import.meta.url)),
  luaScript(new URL('./scripts/loginThrottleEnd-5.lua', import.meta.url)),
];

type ThrottleRedis = Redis & {
  loginThrottleBegin(...a: (string | number)[]): Promise<number[]>;
  loginThrottleEnd(...a: (string | number)[]): Promise<number[]>;
};

export type AttemptOutcome = 'ok' | 'bad' | 'other';

/** A place taken by `begin`; `end` gives it back and records the outcome. */
export interface LoginAttempt {
  end(outcome: AttemptOutcome): Promise<void>;
}

export class LoginThrottle {
  private readonly r: ThrottleRedis;
  private readonly base: string;
  readonly maxPending: number;
  private readonly o: Required<Omit<LoginThrottleOptions, 'redis' | 'prefix' | 'now'>>;
  private readonly clock: (() => number) | undefined;

  constructor(opts: LoginThrottleOptions) {
    this.r = opts.redis as ThrottleRedis;
    defineScripts(opts.redis, SCRIPTS);
    this.base = `${opts.prefix}:operators:throttle:`;
    this.clock = opts.now;
    this.o = {
      maxPending: opts.maxPending ?? 100,
      freeFailuresUser: opts.freeFailuresUser ?? 3,
      freeFailuresAddress: opts.freeFailuresAddress ?? 10,
      baseBlockMs: opts.baseBlockMs ?? 1_000,
      maxBlockMs: opts.maxBlockMs ?? 300_000,
      windowMs: opts.windowMs ?? 900_000,
      maxInFlightUser: opts.maxInFlightUser ?? 2,
      maxInFlightAddress: opts.maxInFlightAddress ?? 64,
      holdMs: opts.holdMs,
      queueRetryAfterMs: opts.queueRetryAfterMs ?? 5_000,
    };
    this.maxPending = this.o.maxPending;
  }

  /** ARGV `now` of the scripts: '' = Redis TIME, or the test's clock. */
  private nowArg(): string {
    return this.clock ? String(Math.floor(this.clock())) : '';
  }

  private keys(user: string, address: string): string[] {
    // The user name is normalized by the caller (case, domain); both parts may hold any text.
    const u = encodeURIComponent(user);
    const a = encodeURIComponent(address);
    return [
      `${this.base}fail:user:${u}`,
      `${this.base}fail:addr:${a}`,
      `${this.base}busy:user:${u}`,
      `${this.base}busy:addr:${a}`,
      `${this.base}pending`,
    ];
  }

  /** Takes a place for one login attempt, or throws the 429/503. */
  async begin(user: string, address: string): Promise<LoginAttempt> {
    const keys = this.keys(user, address);
    const id = randomBytes(9).toString('base64url');
    const r = await this.r.loginThrottleBegin(
      ...keys,
      this.nowArg(),
      id,
      this.o.holdMs,
      this.o.maxInFlightUser,
      this.o.maxInFlightAddress,
      this.o.maxPending,
    );
    const kind = Number(r[0]);
    if (kind === 1) {
      const waitMs = Number(r[1]);
      throw new TooManyLoginAttemptsError(
        `Too many failed logins for this workstation user or from this address; try again in ${Math.max(1, Math.ceil(waitMs / 1000))} s.`,
        waitMs,
      );
    }
    if (kind === 2)
      throw new TooManyLoginAttemptsError(
        'Too many logins at once for this workstation user or from this address; try again in 1 s.',
        1_000,
      );
    if (kind === 3) throw new LoginQueueFullError(this.o.maxPending, this.o.queueRetryAfterMs);
    let ended = false;
    return {
      end: async (outcome) => {
        if (ended) return;
        ended = true;
        await this.r.loginThrottleEnd(
          ...keys,
          this.nowArg(),
          id,
          outcome,
          this.o.freeFailuresUser,
          this.o.freeFailuresAddress,
          this.o.baseBlockMs,
          this.o.maxBlockMs,
          this.o.windowMs,
        );
      },
    };
  }

  /** Logins in progress or waiting now (all instances). */
  async pending(): Promise<number> {
    const now = this.clock ? this.clock() : await redisNowMs(this.r);
    await this.r.zremrangebyscore(`${this.base}pending`, '-inf', String(now));
    return this.r.zcard(`${this.base}pending`);
  }
}

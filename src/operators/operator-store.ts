/**
 * Operator tokens and who is online, in Redis (shared by every instance).
 *
 * A token is 32 random bytes (base64url) given to the client once; Redis keeps only its
 * sha256 (`<prefix>:operators:token:<hash>`), with the login's data and an expiry that a
 * heartbeat extends. Lookup is by hash, so no comparison of the secret depends on where it
 * differs; the stored hash is still compared with crypto.timingSafeEqual.
 *
 * Online index: `online` (operator → latest expiry of their tokens), `tokens:<operator>`
 * (token hashes → expiry) and `group:<group>` (operator → expiry), so routing can tell
 * whether a previous owner is still here and the feed who may take a queued chat.
 *
 * A login also has a hard end (`notAfter` = issuedAt + OPERATOR_TOKEN_MAX_AGE_S): a
 * heartbeat extends the sliding expiry, never past it, so a stolen token that is kept
 * alive still dies.
 *
 * Who exists: the connector has no list of 1C's users, so an operator is *known* once they
 * have logged in here (`known` hash: id → name, groups, last login; kept, not expired —
 * 1C users are a small set) and a group once an operator of it has (`known-groups`).
 * Transfers to anything else are refused (`404`), see chat-actions.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ClientKind, SeatFeatureId } from '../licensing/features.ts';

export interface OperatorIdentity {
  id: string;
  name: string;
  groups: string[];
}

export interface OperatorLogin {
  /** sha256 hex of the token (never the token). */
  tokenHash: string;
  operator: OperatorIdentity;
  workstationUser: string;
  client: ClientKind;
  feature: SeatFeatureId;
  /** The seat reference this login holds (SeatManager session). */
  seatSession: string;
  issuedAt: string;
  expiresAt: string;
  /** The hard end of this login (OPERATOR_TOKEN_MAX_AGE_S after issuedAt); absent in older records. */
  notAfter?: string;
}

export interface OperatorStoreOptions {
  redis: Redis;
  /** QUEUE_PREFIX; keys are `<prefix>:operators:*`. */
  prefix: string;
  /** Token lifetime without heartbeat, ms (SEAT_TTL_S × 1000). */
  ttlMs: number;
  /** Longest life of a login whatever its heartbeats, ms (OPERATOR_TOKEN_MAX_AGE_S × 1000; default 12 h). */
  maxAgeMs?: number;
  /** The clock (tests move it; default Date.now). */
  now?: () => number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class OperatorStore {
  private readonly r: Redis;
  private readonly base: string;
  readonly ttlMs: number;
  readonly maxAgeMs: number;
  readonly now: () => number;

  constructor(o: OperatorStoreOptions) {
    this.r = o.redis;
    this.base = `${o.prefix}:operators:`;
    this.ttlMs = o.ttlMs;
    this.maxAgeMs = o.maxAgeMs ?? 12 * 3600 * 1000;
    this.now = o.now ?? Date.now;
  }

  /** The expiry and hard end of a login issued now. */
  newLifetime(): { issuedAt: string; expiresAt: string; notAfter: string } {
    const now = this.now();
    const notAfter = now + this.maxAgeMs;
    return {
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(Math.min(now + this.ttlMs, notAfter)).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
    };
  }

  /** A fresh token and its hash; the seat session id is derived from the hash (not secret). */
  static newToken(): { token: string; tokenHash: string } {
    const token = randomBytes(32).toString('base64url');
    return { token, tokenHash: hashToken(token) };
  }

  async save(login: OperatorLogin): Promise<void> {
    const exp = Date.parse(login.expiresAt);
    const m = this.r.multi();
    m.set(`${this.base}token:${login.tokenHash}`, JSON.stringify(login), 'PX', Math.max(1, exp - this.now()));
    this.indexOnline(m, login, exp);
    const op = login.operator;
    m.hset(`${this.base}known`, op.id, JSON.stringify({ name: op.name, groups: op.groups, lastLoginAt: login.issuedAt }));
    if (op.groups.length) m.sadd(`${this.base}known-groups`, ...op.groups);
    await m.exec();
  }

  /** Has this operator ever logged in here? */
  async isKnownOperator(operatorId: string): Promise<boolean> {
    return (await this.r.hexists(`${this.base}known`, operatorId)) === 1;
  }

  /** Is this a group of an operator who has logged in here? */
  async isKnownGroup(group: string): Promise<boolean> {
    return (await this.r.sismember(`${this.base}known-groups`, group)) === 1;
  }

  /** Every current login of an operator (all their windows and desks). */
  async loginsOf(operatorId: string): Promise<OperatorLogin[]> {
    const hashes = await this.r.zrange(`${this.base}tokens:${operatorId}`, '0', '-1');
    if (hashes.length === 0) return [];
    const raws = await this.r.mget(...hashes.map((h) => `${this.base}token:${h}`));
    return raws.filter((x): x is string => x !== null).map((x) => JSON.parse(x) as OperatorLogin);
  }

  /** The login of a presented token, or null (unknown or expired). */
  async lookup(token: string | null): Promise<OperatorLogin | null> {
    if (!token) return null;
    const h = hashToken(token);
    const raw = await this.r.get(`${this.base}token:${h}`);
    if (!raw) return null;
    const login = JSON.parse(raw) as OperatorLogin;
    const a = Buffer.from(login.tokenHash, 'hex');
    const b = Buffer.from(h, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    const now = this.now();
    if (Date.parse(login.expiresAt) <= now) return null;
    if (login.notAfter && Date.parse(login.notAfter) <= now) return null;
    return login;
  }

  /** Extends a login by ttlMs, never past its hard end; returns the new expiry (ISO). */
  async touch(login: OperatorLogin): Promise<OperatorLogin> {
    const hardEnd = login.notAfter ? Date.parse(login.notAfter) : Number.POSITIVE_INFINITY;
    const exp = Math.min(this.now() + this.ttlMs, hardEnd);
    const next = { ...login, expiresAt: new Date(exp).toISOString() };
    await this.save(next);
    return next;
  }

  async remove(login: OperatorLogin): Promise<void> {
    const op = login.operator.id;
    const now = this.now();
    await this.r
      .multi()
      .del(`${this.base}token:${login.tokenHash}`)
      .zrem(`${this.base}tokens:${op}`, login.tokenHash)
      .zremrangebyscore(`${this.base}tokens:${op}`, '-inf', String(now))
      .exec();
    const left = await this.r.zrange(`${this.base}tokens:${op}`, '-1', '-1', 'WITHSCORES');
    const m = this.r.multi();
    if (left.length < 2) {
      m.zrem(`${this.base}online`, op);
      for (const g of login.operator.groups) m.zrem(`${this.base}group:${g}`, op);
    } else {
      m.zadd(`${this.base}online`, left[1], op);
      for (const g of login.operator.groups) m.zadd(`${this.base}group:${g}`, left[1], op);
    }
    await m.exec();
  }

  async isOnline(operatorId: string): Promise<boolean> {
    const score = await this.r.zscore(`${this.base}online`, operatorId);
    return score !== null && Number(score) > this.now();
  }

  /** Operators of a group logged in now. */
  async groupMembers(group: string): Promise<string[]> {
    return this.r.zrangebyscore(`${this.base}group:${group}`, String(this.now()), '+inf');
  }

  private indexOnline(m: ReturnType<Redis['multi']>, login: OperatorLogin, exp: number): void {
    const op = login.operator.id;
    m.zadd(`${this.base}tokens:${op}`, exp, login.tokenHash);
    // GT: another window's later expiry is kept.
    m.zadd(`${this.base}online`, 'GT', String(exp), op);
    for (const g of login.operator.groups) m.zadd(`${this.base}group:${g}`, 'GT', String(exp), op);
  }
}

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
}

export interface OperatorStoreOptions {
  redis: Redis;
  /** QUEUE_PREFIX; keys are `<prefix>:operators:*`. */
  prefix: string;
  /** Token lifetime without heartbeat, ms (SEAT_TTL_S × 1000). */
  ttlMs: number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class OperatorStore {
  private readonly r: Redis;
  private readonly base: string;
  readonly ttlMs: number;

  constructor(o: OperatorStoreOptions) {
    this.r = o.redis;
    this.base = `${o.prefix}:operators:`;
    this.ttlMs = o.ttlMs;
  }

  /** A fresh token and its hash; the seat session id is derived from the hash (not secret). */
  static newToken(): { token: string; tokenHash: string } {
    const token = randomBytes(32).toString('base64url');
    return { token, tokenHash: hashToken(token) };
  }

  async save(login: OperatorLogin): Promise<void> {
    const exp = Date.parse(login.expiresAt);
    const m = this.r.multi();
    m.set(`${this.base}token:${login.tokenHash}`, JSON.stringify(login), 'PX', Math.max(1, exp - Date.now()));
    this.indexOnline(m, login, exp);
    await m.exec();
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
    if (Date.parse(login.expiresAt) <= Date.now()) return null;
    return login;
  }

  /** Extends a login by ttlMs; returns the new expiry (ISO). */
  async touch(login: OperatorLogin): Promise<OperatorLogin> {
    const exp = Date.now() + this.ttlMs;
    const next = { ...login, expiresAt: new Date(exp).toISOString() };
    await this.save(next);
    return next;
  }

  async remove(login: OperatorLogin): Promise<void> {
    const op = login.operator.id;
    const now = Date.now();
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
    return score !== null && Number(score) > Date.now();
  }

  /** Operators of a group logged in now. */
  async groupMembers(group: string): Promise<string[]> {
    return this.r.zrangebyscore(`${this.base}group:${group}`, String(Date.now()), '+inf');
  }

  private indexOnline(m: ReturnType<Redis['multi']>, login: OperatorLogin, exp: number): void {
    const op = login.operator.id;
    m.zadd(`${this.base}tokens:${op}`, exp, login.tokenHash);
    // GT: another window's later expiry is kept.
    m.zadd(`${this.base}online`, 'GT', String(exp), op);
    for (const g of login.operator.groups) m.zadd(`${this.base}group:${g}`, 'GT', String(exp), op);
  }
}

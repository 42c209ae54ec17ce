/**
 * Seats of features 48 (operator in a 1C session) and 49 (operator in the external panel),
 * counted per workstation user across every connector instance sharing the Redis
 * (licensing.md, rules 2, 3 and 5).
 *
 * - One seat per normalized workstation user (workstation-user.ts) and feature; each login
 *   (window, session) of that user is a reference with its own heartbeat. The seat is freed
 *   when the last reference logs out or when no reference has sent a heartbeat for `ttlS`.
 * - `acquire` is one Lua script: expired holders are dropped, a user who already holds a
 *   seat is admitted (refreshed), anyone else only while `used < total`. Two logins racing
 *   for the last seat get one seat.
 * - A smaller `total` (a new license) evicts nobody; it only admits no one new until
 *   `used < total`.
 * - Every acquire attempt — admitted or not — is recorded for the forecast: the user's
 *   last attempt (rolling 7/30-day counts) and per-UTC-day sets, kept `historyDays`.
 */
import type { Redis } from 'ioredis';
import { ConnectorError, describeError, UnreachableError, ValidationError } from '../core/index.ts';
import { featureLabel, type SeatFeatureId } from './features.ts';
import { redisNowMs, runScript, type RedisScript } from '../redis/redis-scripts.ts';
import { SEAT_SCRIPTS } from './seat-scripts.ts';
import { normalizeWorkstationUser } from './workstation-user.ts';

export { normalizeWorkstationUser, InvalidWorkstationUserError } from './workstation-user.ts';

export interface SeatManagerOptions {
  /** An ioredis connection (shared is fine; the manager never blocks it). */
  redis: Redis;
  /** Key prefix, e.g. QUEUE_PREFIX (`chats`); keys are `<prefix>:seats:<feature>:…`. */
  prefix: string;
  /** SEAT_TTL_S: a seat reference without heartbeat for this long is dropped. */
  ttlS: number;
  /** Clock in ms for tests; default: Redis TIME inside the scripts (one clock for all instances). */
  now?: () => number;
  /** How long usage history is kept, in days (default 35). */
  historyDays?: number;
  /** Maps a domain to another before counting, e.g. `{ "corp.local": "corp" }` (default none). */
  domainAliases?: Readonly<Record<string, string>>;
}

export interface SeatMeta {
  /** Identifies this login (window, operator token id). Same user + another session = same seat. */
  session: string;
  operatorId?: string | null;
  client?: string | null;
}

export interface AcquireResult {
  ok: boolean;
  feature: SeatFeatureId;
  /** The normalized workstation user. */
  user: string;
  used: number;
  total: number;
  /** Users holding a seat of this feature after the call. */
  holders: string[];
}

export interface SeatHolder {
  user: string;
  /** ISO time the seat was taken. */
  since: string;
  /** ISO time of the latest heartbeat of any of the user's sessions. */
  lastSeen: string;
  /** Live sessions (windows, logins) of this user. */
  sessions: number;
  operatorId: string | null;
  client: string | null;
}

export interface ReleaseResult {
  /** The seat was freed (this was the user's last session, or all were released). */
  freed: boolean;
  /** Sessions of the user still holding the seat. */
  sessions: number;
}

export interface SeatDemand {
  feature: SeatFeatureId;
  /** Window length in days → distinct workstation users who tried to take a seat in it. */
  distinctUsers: Record<number, number>;
  /** Per UTC day, oldest first: distinct users that day. */
  daily: Array<{ day: string; users: number }>;
}

/** `403 seat_unavailable`: names the feature and used/total (connector-api.md). */
export class SeatUnavailableError extends ConnectorError {
  constructor(
    readonly feature: SeatFeatureId,
    readonly used: number,
    readonly total: number,
  ) {
    super('seat_unavailable', `No free seat of feature ${featureLabel(feature)}: ${used}/${total} in use.`, {
      httpStatus: 403,
      retryable: false,
    });
  }
}

const DAY_MS = 86_400_000;

export class SeatManager {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly clock: (() => number) | undefined;
  private readonly historyMs: number;
  private readonly aliases: Readonly<Record<string, string>>;

  constructor(opts: SeatManagerOptions) {
    if (!(opts.ttlS > 0)) throw new Error('SeatManager: ttlS must be positive');
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.ttlMs = Math.round(opts.ttlS * 1000);
    this.clock = opts.now;
    this.historyMs = (opts.historyDays ?? 35) * DAY_MS;
    this.aliases = opts.domainAliases ?? {};
  }

  /** Normalizes a workstation user the way this manager counts it. */
  normalize(workstationUser: string): string {
    return normalizeWorkstationUser(workstationUser, this.aliases);
  }

  /** Takes (or refreshes) the user's seat. `ok: false` when none is free. */
  async acquire(feature: SeatFeatureId, workstationUser: string, total: number, meta: SeatMeta): Promise<AcquireResult> {
    const user = this.normalize(workstationUser);
    const session = checkSession(meta.session);
    const t = Math.max(0, Math.floor(total));
    const json = JSON.stringify({ operatorId: meta.operatorId ?? null, client: meta.client ?? null });
    const day = Math.floor((await this.clockMs()) / DAY_MS);
    const r = (await this.run(
      SEAT_SCRIPTS.acquire,
      feature,
      [this.sessKey(feature, user), this.dayKey(feature, day)],
      [user, session, String(t), json, String(this.historyMs)],
    )) as unknown[];
    return {
      ok: Number(r[0]) === 1,
      feature,
      user,
      used: Number(r[1]),
      total: Number(r[2]),
      holders: r.slice(3).map(String),
    };
  }

  /** Like `acquire`, but throws `SeatUnavailableError` (403 seat_unavailable) when none is free. */
  async acquireOrThrow(feature: SeatFeatureId, workstationUser: string, total: number, meta: SeatMeta): Promise<AcquireResult> {
    const r = await this.acquire(feature, workstationUser, total, meta);
    if (!r.ok) throw new SeatUnavailableError(feature, r.used, r.total);
    return r;
  }

  /** Keeps one session's seat alive. False when the seat or this session has expired (acquire again). */
  async heartbeat(feature: SeatFeatureId, workstationUser: string, session: string): Promise<boolean> {
    const user = this.normalize(workstationUser);
    const r = await this.run(SEAT_SCRIPTS.heartbeat, feature, [this.sessKey(feature, user)], [user, checkSession(session)]);
    return Number(r) === 1;
  }

  /** Ends one session (or, without `session`, every session) of the user; frees the seat when none is left. */
  async release(feature: SeatFeatureId, workstationUser: string, session?: string): Promise<ReleaseResult> {
    const s = session === undefined ? '' : checkSession(session);
    const user = this.normalize(workstationUser);
    const r = (await this.run(SEAT_SCRIPTS.release, feature, [this.sessKey(feature, user)], [user, s])) as unknown[];
    return { freed: Number(r[0]) === 1, sessions: Number(r[1]) };
  }

  /** Who holds seats of this feature, oldest seat first. */
  async holders(feature: SeatFeatureId): Promise<SeatHolder[]> {
    // The script takes each holder's sessions key, so it gets the holders read just before.
    const users = await this.redis.zrange(`${this.base(feature)}users`, '0', '-1');
    const r = (await this.run(
      SEAT_SCRIPTS.holders,
      feature,
      users.map((u) => this.sessKey(feature, u)),
      users,
    )) as unknown[];
    const out: SeatHolder[] = [];
    for (let i = 0; i + 4 < r.length; i += 5) {
      let meta: { operatorId?: unknown; client?: unknown } = {};
      try {
        meta = r[i + 4] ? (JSON.parse(String(r[i + 4])) as typeof meta) : {};
      } catch {
        meta = {};
      }
      out.push({
        user: String(r[i]),
        since: new Date(Number(r[i + 1])).toISOString(),
        lastSeen: new Date(Number(r[i + 2])).toISOString(),
        sessions: Number(r[i + 3]),
        operatorId: typeof meta.operatorId === 'string' ? meta.operatorId : null,
        client: typeof meta.client === 'string' ? meta.client : null,
      });
    }
    return out.sort((a, b) => a.since.localeCompare(b.since) || a.user.localeCompare(b.user));
  }

  /** Seats of this feature in use now. */
  async usage(feature: SeatFeatureId): Promise<number> {
    return (await this.holders(feature)).length;
  }

  /** Distinct users who tried to take a seat over the last `windows` days, and per day. */
  async demand(feature: SeatFeatureId, windows: number[] = [7, 30], dailyBuckets = 30): Promise<SeatDemand> {
    const today = Math.floor((await this.clockMs()) / DAY_MS);
    const days = Array.from({ length: dailyBuckets }, (_, i) => this.dayKey(feature, today - (dailyBuckets - 1 - i)));
    const r = (await this.run(SEAT_SCRIPTS.demand, feature, days, [windows.join(',')])) as unknown[];
    const distinctUsers: Record<number, number> = {};
    windows.forEach((w, i) => {
      distinctUsers[w] = Number(r[i]);
    });
    const daily = r.slice(windows.length).map((n, i) => ({
      day: new Date((today - (dailyBuckets - 1 - i)) * DAY_MS).toISOString().slice(0, 10),
      users: Number(n),
    }));
    return { feature, distinctUsers, daily };
  }

  private base(feature: SeatFeatureId): string {
    return `${this.prefix}:seats:${feature}:`;
  }

  private sessKey(feature: SeatFeatureId, user: string): string {
    return `${this.base(feature)}sess:${user}`;
  }

  /** The set of users who attempted on UTC day `day` (days since 1970-01-01). */
  private dayKey(feature: SeatFeatureId, day: number): string {
    return `${this.base(feature)}day:${day}`;
  }

  /** The test's clock, else Redis's (the scripts read TIME themselves; this names day keys). */
  private async clockMs(): Promise<number> {
    if (this.clock) return Math.floor(this.clock());
    try {
      return await redisNowMs(this.redis);
    } catch (e) {
      throw new UnreachableError('redis_unreachable', `Redis did not answer the seat operation (${describeError(e)}).`, {
        httpStatus: 503,
      });
    }
  }

  /** Runs a seat script: the feature's four keys, then `keys`; `now` ('' = Redis TIME) and the TTL, then `extra`. */
  private async run(s: RedisScript, feature: SeatFeatureId, keys: string[], extra: string[]): Promise<unknown> {
    const base = this.base(feature);
    const allKeys = [`${base}users`, `${base}since`, `${base}meta`, `${base}seen`, ...keys];
    const now = this.clock ? String(Math.floor(this.clock())) : '';
    try {
      return await runScript(this.redis, s, allKeys, [now, String(this.ttlMs), ...extra]);
    } catch (e) {
      if (e instanceof ConnectorError) throw e;
      const msg = describeError(e);
      if (e instanceof Error && e.name === 'ReplyError') {
        throw new ConnectorError('seat_script_failed', `Redis refused the seat operation (${msg}).`, { httpStatus: 500 });
      }
      throw new UnreachableError('redis_unreachable', `Redis did not answer the seat operation (${msg}).`, { httpStatus: 503 });
    }
  }
}

function checkSession(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof s !== 'string' || !s || s.length > 200 || /[\u0000-\u001f\u007f]/.test(s)) {
    throw new ValidationError('The seat session id must be 1 to 200 printable characters.');
  }
  return s;
}

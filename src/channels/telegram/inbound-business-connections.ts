/**
 * Telegram Business connections of our bots: learned from `business_connection` updates,
 * kept in a store every instance shares (the poller may run on one instance and the
 * outbound worker on another), read by the inbound side (which business account a
 * `business_message` belongs to) and the outbound side (which `business_connection_id` a
 * `tgb:` chat is answered through, and whether it may be).
 *
 * Ingest before confirm: `prepare()` runs on a batch before it is normalized; a
 * `business_connection` update is saved before the batch is ingested, and a failure throws,
 * so the batch stays unconfirmed and comes again — the same rule as for messages.
 *
 * Telegram has no "removed" event: a user who disconnects the bot (or turns it off) sends
 * `business_connection` with `is_enabled: false`; rights changes come as the same update.
 */
import type { Redis } from 'ioredis';
import type { AccountState } from '../../core/index.ts';

export interface BusinessConnectionRecord {
  /** Telegram's business_connection_id. */
  id: string;
  /** Our bot's username. */
  bot: string;
  /** The business account's user id (the owner). */
  userId: number;
  ownerName: string | null;
  enabled: boolean;
  /** rights.can_reply (older Bot API: can_reply). */
  canReply: boolean;
  /** When the connection changed last (ISO 8601). */
  since: string;
}

export interface BusinessConnectionStore {
  save(rec: BusinessConnectionRecord): Promise<void>;
  byId(bot: string, id: string): Promise<BusinessConnectionRecord | null>;
  /** The latest connection of a business account to this bot. */
  byUser(bot: string, userId: number): Promise<BusinessConnectionRecord | null>;
  all(): Promise<BusinessConnectionRecord[]>;
}

/** One Redis hash: `<bot>:c:<id>` → record JSON, `<bot>:u:<user id>` → the latest id. */
export class RedisBusinessConnectionStore implements BusinessConnectionStore {
  private readonly key: string;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}tg:business`;
  }
  async save(rec: BusinessConnectionRecord): Promise<void> {
    await this.redis.hset(this.key, `${rec.bot}:c:${rec.id}`, JSON.stringify(rec), `${rec.bot}:u:${rec.userId}`, rec.id);
  }
  async byId(bot: string, id: string): Promise<BusinessConnectionRecord | null> {
    return parseRecord(await this.redis.hget(this.key, `${bot}:c:${id}`));
  }
  async byUser(bot: string, userId: number): Promise<BusinessConnectionRecord | null> {
    const id = await this.redis.hget(this.key, `${bot}:u:${userId}`);
    return id ? this.byId(bot, id) : null;
  }
  async all(): Promise<BusinessConnectionRecord[]> {
    const h = await this.redis.hgetall(this.key);
    return Object.entries(h).flatMap(([f, v]) => (f.includes(':c:') ? [parseRecord(v)].filter((r) => r !== null) : []));
  }
}

/** For tests and single-process use without Redis. */
export class MemoryBusinessConnectionStore implements BusinessConnectionStore {
  private readonly recs = new Map<string, BusinessConnectionRecord>();
  private readonly latest = new Map<string, string>();
  async save(rec: BusinessConnectionRecord): Promise<void> {
    this.recs.set(`${rec.bot}:${rec.id}`, { ...rec });
    this.latest.set(`${rec.bot}:${rec.userId}`, rec.id);
  }
  async byId(bot: string, id: string): Promise<BusinessConnectionRecord | null> {
    return this.recs.get(`${bot}:${id}`) ?? null;
  }
  async byUser(bot: string, userId: number): Promise<BusinessConnectionRecord | null> {
    const id = this.latest.get(`${bot}:${userId}`);
    return id ? this.byId(bot, id) : null;
  }
  async all(): Promise<BusinessConnectionRecord[]> {
    return [...this.recs.values()];
  }
}

function parseRecord(v: string | null | undefined): BusinessConnectionRecord | null {
  if (!v) return null;
  try {
    return JSON.parse(v) as BusinessConnectionRecord;
  } catch {
    return null;
  }
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);

/** A BusinessConnection object of the Bot API → our record, or null when it lacks an id or user. */
export function recordOf(bot: string, c: unknown): BusinessConnectionRecord | null {
  const o = obj(c);
  const user = obj(o?.user);
  if (!o || typeof o.id !== 'string' || !user || typeof user.id !== 'number') return null;
  const rights = obj(o.rights);
  const name = [user.first_name, user.last_name].filter((x) => typeof x === 'string' && x).join(' ');
  return {
    id: o.id,
    bot,
    userId: user.id,
    ownerName: name || (typeof user.username === 'string' ? user.username : null),
    enabled: o.is_enabled === true,
    canReply: rights ? rights.can_reply === true : o.can_reply === true,
    since: new Date().toISOString(),
  };
}

/** The account name of a business connection in `GET /api/v1/accounts`: `<bot>:<business user id>`. */
export function businessAccountName(rec: Pick<BusinessConnectionRecord, 'bot' | 'userId'>): string {
  return `${rec.bot}:${rec.userId}`;
}

/** How a connection shows among the accounts: open, or stopped with the reason. */
export function businessAccountState(rec: BusinessConnectionRecord): AccountState {
  const lastError = !rec.enabled
    ? 'The business account disconnected the bot or turned it off.'
    : !rec.canReply
      ? 'The business account lets the bot read but not reply.'
      : null;
  return { channel: 'telegram', account: businessAccountName(rec), state: rec.enabled ? 'open' : 'stopped', since: rec.since, lastError };
}

/** The business update kinds that carry a business_connection_id. */
const CONNECTION_BOUND = ['business_message', 'edited_business_message', 'deleted_business_messages'] as const;

/** The narrow part of grammY's Api the registry calls. */
export interface BusinessApi {
  getBusinessConnection(id: string): Promise<unknown>;
}

/** Per-process cache in front of the shared store. */
export class BusinessConnections {
  private readonly cache = new Map<string, BusinessConnectionRecord>();
  constructor(readonly store: BusinessConnectionStore) {}

  /**
   * Saves the connections a batch announces and learns the ones its business messages refer
   * to (store, else getBusinessConnection). Throws when the store fails: the caller leaves the
   * batch unconfirmed. A connection Telegram no longer knows stays unknown (its messages are
   * then skipped as malformed).
   */
  async prepare(bot: string, updates: unknown[], api: BusinessApi): Promise<void> {
    for (const u of updates) {
      const o = obj(u);
      if (!o) continue;
      if (o.business_connection !== undefined) {
        const rec = recordOf(bot, o.business_connection);
        if (rec) {
          await this.store.save(rec);
          this.cache.set(`${bot}:${rec.id}`, rec);
        }
        continue;
      }
      for (const kind of CONNECTION_BOUND) {
        const id = obj(o[kind])?.business_connection_id;
        if (typeof id === 'string') await this.learn(bot, id, api);
      }
    }
  }

  private async learn(bot: string, id: string, api: BusinessApi): Promise<void> {
    if (this.cache.has(`${bot}:${id}`)) return;
    let rec = await this.store.byId(bot, id);
    if (!rec) {
      const fetched = await api.getBusinessConnection(id).catch(() => null);
      rec = fetched ? recordOf(bot, fetched) : null;
      if (rec) await this.store.save(rec);
    }
    if (rec) this.cache.set(`${bot}:${id}`, rec);
  }

  /** The owner of a connection learned by prepare(), for the normalizer. */
  ownerOf(bot: string, id: string): number | null {
    return this.cache.get(`${bot}:${id}`)?.userId ?? null;
  }

  /** The current connection of a business account (read fresh: it may have changed on another instance). */
  async forSend(bot: string, userId: number): Promise<BusinessConnectionRecord | null> {
    return this.store.byUser(bot, userId);
  }

  /** One account per business account (its latest connection), for `GET /api/v1/accounts`. */
  async states(bots: string[]): Promise<AccountState[]> {
    const latest = new Map<string, BusinessConnectionRecord>();
    for (const r of await this.store.all()) {
      if (!bots.includes(r.bot)) continue;
      const k = businessAccountName(r);
      const prev = latest.get(k);
      if (!prev || prev.since <= r.since) latest.set(k, r);
    }
    return [...latest.values()].map(businessAccountState);
  }
}

/**
 * What a socket needs beyond the auth state, kept per account across reconnects:
 *  - the WhatsApp Web protocol version: pinned (WHATSAPP_VERSION), or fetched at start with
 *    a timeout, falling back to the one bundled in Baileys (a stale bundled version is what
 *    makes WhatsApp close with 405);
 *  - one retry-counter cache (Baileys counts decrypt retries per message in it; a new cache
 *    per socket would reset the counts on every reconnect and retry without end);
 *  - a group-metadata cache (without `cachedGroupMetadata` every group send queries WhatsApp);
 *  - which jids to ignore (status updates and newsletters are never customer chats).
 */
import {
  DEFAULT_CONNECTION_CONFIG,
  fetchLatestWaWebVersion,
  isJidBroadcast,
  isJidNewsletter,
  isJidStatusBroadcast,
  type CacheStore,
  type WAVersion,
} from '@whiskeysockets/baileys';

/** The version bundled in this Baileys release. */
export const bundledVersion: WAVersion = DEFAULT_CONNECTION_CONFIG.version;

/** A small in-memory TTL cache with Baileys' CacheStore shape, bounded in size. */
export class TtlCache implements CacheStore {
  private readonly map = new Map<string, { value: unknown; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}
  get<T>(key: string): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.until < this.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.value as T;
  }
  set<T>(key: string, value: T): void {
    if (this.map.size >= this.maxEntries && !this.map.has(key)) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(key, { value, until: this.now() + this.ttlMs });
  }
  del(key: string): void {
    this.map.delete(key);
  }
  flushAll(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

/** Status updates, broadcast lists and newsletters: Baileys does not even decrypt them. */
export function shouldIgnoreJid(jid: string): boolean {
  return !!(isJidStatusBroadcast(jid) || isJidBroadcast(jid) || isJidNewsletter(jid));
}

/** Parses `2.3000.1027934701` (WHATSAPP_VERSION). */
export function parseWaVersion(text: string): WAVersion | null {
  const m = /^\s*(\d+)\.(\d+)\.(\d+)\s*$/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export type VersionSource = 'pinned' | 'fetched' | 'bundled';

export type VersionFetcher = (signal: AbortSignal) => Promise<{ version: WAVersion; isLatest: boolean; error?: unknown }>;

export const webVersionFetcher: VersionFetcher = (signal) => fetchLatestWaWebVersion({ signal });

/**
 * The version to connect with: the pin when set; else the current one from WhatsApp Web
 * within `timeoutMs`; else Baileys' bundled one (never throws).
 */
export async function resolveWaVersion(opts: {
  pinned?: WAVersion | null;
  fetcher?: VersionFetcher;
  timeoutMs?: number;
}): Promise<{ version: WAVersion; source: VersionSource; error?: string }> {
  if (opts.pinned) return { version: opts.pinned, source: 'pinned' };
  const fetcher = opts.fetcher ?? webVersionFetcher;
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms`));
    }, opts.timeoutMs ?? 5000);
  });
  try {
    const r = await Promise.race([fetcher(ac.signal), timeout]);
    if (r.isLatest && r.version.length === 3) return { version: r.version, source: 'fetched' };
    return { version: bundledVersion, source: 'bundled', error: r.error ? String(r.error) : 'not the latest' };
  } catch (err) {
    return { version: bundledVersion, source: 'bundled', error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Baileys AuthenticationState kept in Redis (modelled on Baileys' own
 * `useMultiFileAuthState`, Utils/use-multi-file-auth-state.js): the creds document in one
 * key, every Signal key (all SignalDataTypeMap types, `lid-mapping` included) as a field
 * `<type>:<id>` of one hash. Values go through Baileys' BufferJSON replacer/reviver,
 * exactly as the file store does, so Buffers and Uint8Arrays survive.
 *
 * `keys.set` is awaited by Baileys, so a write is in Redis before Baileys goes on (one
 * MULTI per call: all or nothing). `null`/`undefined` values delete. Creds are saved by
 * `saveCreds()` (call it on every `creds.update`); saves are chained so they land in order,
 * and `flush()` waits for the last one. `clear()` removes everything of the account.
 */
import type { Redis } from 'ioredis';
import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import type { Logger } from '../../core/index.ts';
import { accountKeys } from './redis-keys.ts';
import { toBaileysLogger } from './baileys-logger.ts';

export interface RedisAuthStateOptions {
  redis: Redis;
  /** Key prefix shared by the whole connector (e.g. `chats`). */
  prefix: string;
  /** The configured WhatsApp account name. */
  account: string;
  /** For Baileys' cache layer traces (default: silent). */
  logger?: Logger;
  /**
   * Wrap the raw store with Baileys' makeCacheableSignalKeyStore (default true). The raw
   * store is still what `rawKeys` returns.
   */
  cache?: boolean;
}

export interface RedisAuthState {
  /** Give this to makeWASocket as `auth`. */
  state: AuthenticationState;
  /** The uncached Redis store (for reads that must see other processes' writes). */
  rawKeys: SignalKeyStore;
  /** Persist `state.creds`; resolves when Redis has it. */
  saveCreds(): Promise<void>;
  /** Resolves when every save started so far has finished. */
  flush(): Promise<void>;
  /** Remove creds and every key of the account (logout); `state.creds` becomes fresh. */
  clear(): Promise<void>;
}

function encode(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

function decode<T>(raw: string): T {
  return JSON.parse(raw, BufferJSON.reviver) as T;
}

export function makeRedisSignalKeyStore(redis: Redis, hashKey: string): SignalKeyStore {
  return {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      if (ids.length === 0) return out;
      const values = await redis.hmget(hashKey, ...ids.map((id) => `${type}:${id}`));
      ids.forEach((id, i) => {
        const raw = values[i];
        if (raw === null || raw === undefined) return;
        let value: unknown = decode<unknown>(raw);
        if (type === 'app-state-sync-key' && value) {
          // as useMultiFileAuthState does: Baileys expects the proto object here
          value = proto.Message.AppStateSyncKeyData.fromObject(value);
        }
        out[id] = value as SignalDataTypeMap[T];
      });
      return out;
    },
    async set(data: SignalDataSet): Promise<void> {
      const multi = redis.multi();
      let ops = 0;
      for (const type of Object.keys(data) as (keyof SignalDataTypeMap)[]) {
        const entries = data[type];
        if (!entries) continue;
        for (const id of Object.keys(entries)) {
          const value = entries[id];
          const field = `${type}:${id}`;
          if (value === null || value === undefined) multi.hdel(hashKey, field);
          else multi.hset(hashKey, field, encode(value));
          ops += 1;
        }
      }
      if (ops === 0) {
        multi.discard();
        return;
      }
      const results = await multi.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction for WhatsApp keys was aborted.');
    },
    async clear(): Promise<void> {
      await redis.del(hashKey);
    },
  };
}

/** Loads (or creates) the account's auth state from Redis. */
export async function useRedisAuthState(opts: RedisAuthStateOptions): Promise<RedisAuthState> {
  const keys = accountKeys(opts.prefix, opts.account);
  const raw = await opts.redis.get(keys.creds);
  const creds: AuthenticationCreds = raw ? decode<AuthenticationCreds>(raw) : initAuthCreds();
  const rawKeys = makeRedisSignalKeyStore(opts.redis, keys.signalKeys);
  const cached =
    opts.cache === false ? rawKeys : makeCacheableSignalKeyStore(rawKeys, opts.logger ? toBaileysLogger(opts.logger) : undefined);
  const state: AuthenticationState = { creds, keys: cached };
  let chain: Promise<void> = Promise.resolve();

  const saveCreds = (): Promise<void> => {
    const next = chain.then(async () => {
      await opts.redis.set(keys.creds, encode(state.creds));
    });
    chain = next.catch(() => undefined);
    return next;
  };

  return {
    state,
    rawKeys,
    saveCreds,
    flush: () => chain,
    async clear(): Promise<void> {
      await chain;
      await cached.clear?.();
      await opts.redis.del(keys.creds, keys.signalKeys);
      state.creds = initAuthCreds();
    },
  };
}

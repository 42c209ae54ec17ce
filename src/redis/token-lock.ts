/**
 * The token lock: a Redis string whose value is the holder's random token, with an expiry
 * (Redis's own clock, `PX`). Taken with `SET NX PX`; renewed and released only by the
 * holder of the token, so a holder that stalled past the expiry can never extend or delete
 * the lock someone else took meanwhile. Used by the ordered lanes (a key's driver) and the
 * account supervisor (an account's lease).
 */
import type { Redis } from 'ioredis';
import { defineScripts, luaScript } from './redis-scripts.ts';

const SCRIPTS = [
  luaScript(new URL('./scripts/lockRenew-1.lua', import.meta.url)),
  luaScript(new URL('./scripts/lockRelease-1.lua', import.meta.url)),
  luaScript(new URL('./scripts/lockRenewMany.lua', import.meta.url)),
];

type LockRedis = Redis & {
  lockRenew(key: string, token: string, ttlMs: number): Promise<number>;
  lockRelease(key: string, token: string): Promise<number>;
  lockRenewMany(...args: (string | number)[]): Promise<string[]>;
};

function withScripts(redis: Redis): LockRedis {
  defineScripts(redis, SCRIPTS);
  return redis as LockRedis;
}

/** Takes the lock when it is free; true when it is now ours for `ttlMs`. */
export async function acquireLock(redis: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
  return (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
}

/** Extends our lock to `ttlMs` from now; false when it is no longer ours. */
export async function renewLock(redis: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
  return Number(await withScripts(redis).lockRenew(key, token, ttlMs)) === 1;
}

/**
 * Extends every one of our locks (one holder's token) to `ttlMs` from now, in one call;
 * returns the locks that are no longer ours (those are left alone).
 */
export async function renewLocks(redis: Redis, keys: readonly string[], token: string, ttlMs: number): Promise<string[]> {
  if (keys.length === 0) return [];
  return (await withScripts(redis).lockRenewMany(keys.length, ...keys, token, ttlMs)).map(String);
}

/** Deletes the lock if it is ours; false when it was not (expired or taken over). */
export async function releaseLock(redis: Redis, key: string, token: string): Promise<boolean> {
  return Number(await withScripts(redis).lockRelease(key, token)) === 1;
}

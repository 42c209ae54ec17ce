/**
 * Redis memory as the connector's guarantees need it (issue 11 item 5): an evicting
 * `maxmemory-policy` silently drops queued messages (five confirmed Telegram messages never
 * reached 1C), so `start` refuses it; and a Redis at its `maxmemory` under `noeviction`
 * refuses writes, so `/readyz` says so (503 + Retry-After) instead of staying 200.
 *
 * The policy is read with `CONFIG GET`; managed Redis often disables or renames CONFIG, so
 * `INFO memory`'s `maxmemory_policy` is the fallback.
 */
import type { Redis } from 'ioredis';
import { describeError } from '../core/index.ts';

/** The one policy under which Redis never drops a key to make room. */
export const SAFE_POLICY = 'noeviction';

/** Parses `INFO` text into field → value. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** `maxmemory-policy` by CONFIG GET, else by INFO memory; null when neither answers. */
export async function readEvictionPolicy(redis: Redis): Promise<{ policy: string | null; via: 'config' | 'info' | null; error?: string }> {
  try {
    const r = await redis.config('GET', 'maxmemory-policy');
    if (r[1]) return { policy: r[1], via: 'config' };
  } catch {
    // CONFIG disabled or renamed (managed Redis): INFO below
  }
  try {
    const policy = parseInfo(await redis.info('memory')).maxmemory_policy;
    return policy ? { policy, via: 'info' } : { policy: null, via: null, error: 'INFO memory has no maxmemory_policy' };
  } catch (e) {
    return { policy: null, via: null, error: describeError(e) };
  }
}

/** The sentence `start` refuses with, or null when the policy keeps every key. */
export function evictionRefusal(policy: string | null, where: string): string | null {
  if (policy === null || policy === SAFE_POLICY) return null;
  return `Redis at ${where} has maxmemory-policy ${policy}, which evicts keys when memory is full and would silently lose queued messages; set "maxmemory-policy noeviction" (redis.conf or CONFIG SET) and start again.`;
}

export interface WriteHealth {
  ok: boolean;
  /** One sentence: why writes are refused, or that they are accepted. */
  detail: string;
}

/**
 * Whether Redis accepts writes now: a probe write (an `OOM command not allowed` answer
 * means full), and INFO's `used_memory` ≥ `maxmemory` under noeviction (full even when the
 * small probe happened to fit). `probeKey` is a key of our own prefix, expiring by itself.
 */
export async function checkRedisWrites(redis: Redis, probeKey: string): Promise<WriteHealth> {
  try {
    await redis.set(probeKey, '1', 'PX', 10_000);
  } catch (e) {
    const msg = describeError(e);
    if (/\bOOM\b/.test(msg)) return { ok: false, detail: refusingWrites('it answers "OOM command not allowed"') };
    throw e;
  }
  try {
    const info = parseInfo(await redis.info('memory'));
    const used = Number(info.used_memory);
    const max = Number(info.maxmemory);
    if (max > 0 && used >= max && (info.maxmemory_policy ?? SAFE_POLICY) === SAFE_POLICY) {
      return { ok: false, detail: refusingWrites(`used_memory ${used} has reached maxmemory ${max}`) };
    }
  } catch {
    // INFO refused (ACL): the probe write above is the answer
  }
  return { ok: true, detail: 'Redis accepts writes.' };
}

function refusingWrites(why: string): string {
  return `Redis refuses writes because its memory is full (${why}); new messages cannot be queued until memory is freed or maxmemory is raised.`;
}

/** How long a client should wait before asking `/readyz` again while Redis is full. */
export const REDIS_FULL_RETRY_AFTER_S = 30;

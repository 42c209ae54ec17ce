/**
 * The one loader of our Redis Lua scripts. Each script is a `.lua` file next to the module
 * that runs it (`src/<folder>/scripts/`), named after its command as BullMQ names its own:
 * `<command>-<number of keys>.lua`, or `<command>.lua` when the caller passes the number of
 * keys first (a script over a variable set of keys). Every file opens with a header saying
 * what it does, its KEYS, its ARGV and what it returns; test/redis/scripts-convention.test.ts
 * checks that, and that no script builds a key name or reads a time it does arithmetic with
 * from anywhere but Redis `TIME`.
 *
 * Shared parts live in `scripts/includes/*.lua` and are pulled in by a line
 * `--- @include "includes/<name>"` (BullMQ's syntax), expanded once when the file is read.
 *
 * Scripts run through ioredis `defineCommand`: EVALSHA, and EVAL when Redis answers NOSCRIPT
 * (after a restart or SCRIPT FLUSH), on connections and pipelines alike.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

export interface RedisScript {
  /** The command name it is defined under (the file name without the key count). */
  readonly command: string;
  /** Fixed number of keys, or null when the caller passes it as the first argument. */
  readonly numberOfKeys: number | null;
  /** The script with its includes expanded. */
  readonly lua: string;
  /** Where it was read from (for messages and the convention test). */
  readonly path: string;
}

const FILE_NAME = /^([A-Za-z][A-Za-z0-9]*)(?:-(\d+))?\.lua$/;
const INCLUDE = /^--- @include "([^"]+)"[ \t]*$/gm;
const cache = new Map<string, RedisScript>();

function expand(url: URL, chain: string[]): string {
  const path = fileURLToPath(url);
  if (chain.includes(path)) throw new Error(`Lua include cycle: ${[...chain, path].join(' → ')}`);
  const text = readFileSync(path, 'utf8');
  return text.replace(INCLUDE, (_, name: string) => expand(new URL(`${name}.lua`, url), [...chain, path]).trimEnd());
}

/** Reads (once per process) a script file, e.g. `luaScript(new URL('./scripts/laneAck-1.lua', import.meta.url))`. */
export function luaScript(url: URL): RedisScript {
  const cached = cache.get(url.href);
  if (cached) return cached;
  const path = fileURLToPath(url);
  const m = FILE_NAME.exec(basename(path));
  if (!m) throw new Error(`${path}: a script file is named <command>-<number of keys>.lua or <command>.lua`);
  const script: RedisScript = { command: m[1], numberOfKeys: m[2] === undefined ? null : Number(m[2]), lua: expand(url, []), path };
  cache.set(url.href, script);
  return script;
}

/** Defines each script as a command on this connection (and its pipelines), unless it already is. */
export function defineScripts(redis: Redis, scripts: readonly RedisScript[]): void {
  for (const s of scripts) {
    if (s.command in redis) continue;
    redis.defineCommand(s.command, s.numberOfKeys === null ? { lua: s.lua } : { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

type ScriptCommands = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/** Runs a script with its keys and arguments (the number of keys goes first where the script takes any number). */
export function runScript(
  redis: Redis,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (script.numberOfKeys !== null && script.numberOfKeys !== keys.length)
    throw new Error(`${script.command} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  defineScripts(redis, [script]);
  const run = (redis as unknown as ScriptCommands)[script.command];
  const head = script.numberOfKeys === null ? [keys.length] : [];
  return run.call(redis, ...head, ...keys, ...args);
}

/** Redis's clock in ms: the one clock of leases, rates and permits, for the rare read outside a script. */
export async function redisNowMs(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

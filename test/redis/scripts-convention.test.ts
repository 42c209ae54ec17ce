/**
 * Issue 12 item 4 — Redis scripts as files, one convention (src/redis/redis-scripts.ts):
 *
 * - every `.lua` file under src/ opens with BullMQ's header (`--[[ … ]]`): what it does,
 *   `Input:` with its KEYS[i] and ARGV[i], `Output:`; a fixed key count in the file name
 *   matches the KEYS the header lists; every KEYS[n] / ARGV[n] the code reads is listed;
 * - no key name is built inside Lua: the key of every `redis.call` is `KEYS[…]` or a local
 *   bound to one (Redis Cluster routes by KEYS; a key built in Lua may live on another node);
 *   one narrow exception: a script whose keys are only known from data (laneClaim-3 pops them
 *   from `ready`, laneSweep-1 reads them from `active`) declares in its header
 *   `Keys derived from data: <base>lock:<key>, … (<base> = ARGV[n], prefix of KEYS[m] …)`,
 *   builds only those kinds, only as `<base> .. '<kind>' .. <key>` from that ARGV, and checks
 *   in Lua that the base is the prefix of that KEYS entry (one hash tag, one slot);
 * - one clock: a script that does arithmetic or comparisons with a time named `now…` reads
 *   it from Redis `TIME`; an ARGV that carries a clock reading says so — either a test's
 *   override (`'' = Redis TIME`) or a stamp (`a stamp`: stored, never compared in Lua);
 * - every script compiles (SCRIPT LOAD on the real Redis) and is loaded by a module.
 *
 * The checks are also run against planted bad scripts, so each of them can fail.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { luaScript } from '../../src/redis/redis-scripts.ts';
import { newRedis } from '../helpers/redis.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const all = walk(SRC);
const luaFiles = all.filter((f) => f.endsWith('.lua'));
const scripts = luaFiles.filter((f) => !f.split('/').includes('includes'));
const includes = luaFiles.filter((f) => f.split('/').includes('includes'));

/** The header comment of a Lua text, or null. */
function headerOf(lua: string): string | null {
  const m = /^--\[\[([\s\S]*?)\]\]/.exec(lua.trimStart());
  return m ? m[1] : null;
}

/** Problems of a script's header against its code (expanded) and its fixed key count. */
function headerProblems(raw: string, expanded: string, numberOfKeys: number | null): string[] {
  const h = headerOf(raw);
  if (!h) return ['no header (--[[ what it does, Input: KEYS/ARGV, Output: ]])'];
  const out: string[] = [];
  const description = h.split(/\n\s*Input:/)[0].trim();
  if (description.length < 20) out.push('the header does not say what the script does');
  if (!/\n\s*Input:/.test(h)) out.push('the header has no Input: section');
  if (!/\n\s*Output:\s*\n\s*\S/.test(h)) out.push('the header has no Output: section saying what it returns');
  for (const kind of ['KEYS', 'ARGV'] as const) {
    const listed = new Set<number>();
    let open = Infinity;
    let openFrom = Infinity;
    for (const m of h.matchAll(new RegExp(`${kind}\\[(\\d+)(?:\\.\\.(\\d+))?\\]`, 'g'))) {
      const a = Number(m[1]);
      const b = m[2] ? Number(m[2]) : a;
      for (let i = a; i <= b; i++) listed.add(i);
    }
    // `KEYS[3i]`, `KEYS[4 + i]`, `ARGV[2 + i]`: a repeated part from the smallest index on.
    for (const m of h.matchAll(new RegExp(`${kind}\\[(\\d+)?\\s*\\+?\\s*\\d*[a-z]`, 'g'))) openFrom = Math.min(openFrom, Number(m[1] ?? 1));
    if (openFrom !== Infinity) open = openFrom;
    const used = [...expanded.matchAll(new RegExp(`${kind}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1]));
    for (const n of used) if (!listed.has(n) && n < open) out.push(`${kind}[${n}] is used but not in the header`);
    if (kind === 'KEYS' && numberOfKeys !== null) {
      const max = Math.max(0, ...listed);
      if (max !== numberOfKeys || open !== Infinity)
        out.push(`the file name says ${numberOfKeys} keys, the header lists ${max}${open !== Infinity ? ' and more' : ''}`);
    }
    if (kind === 'KEYS' && listed.size === 0 && open === Infinity) out.push('the header lists no KEYS');
  }
  return out;
}

/** The documented exception: keys a script can only know from data, built from a declared base. */
interface DerivedKeys {
  /** The kinds it may build: `lock:` of `<base>lock:<key>`. */
  kinds: Set<string>;
  /** The ARGV that carries the base, and the KEYS entry the base must be the prefix of. */
  argv: number;
  prefixOf: number;
}

/** Parses `Keys derived from data: <base>lock:<key>, … (<base> = ARGV[n], prefix of KEYS[m] …)`; a problem text when malformed. */
function derivedKeysOf(lua: string): DerivedKeys | string | null {
  const line = /Keys derived from data:([^\n]*)/.exec(headerOf(lua) ?? '');
  if (!line) return null;
  const kinds = new Set([...line[1].matchAll(/<base>([\w-]+:)<key>/g)].map((m) => m[1]));
  const base = /<base> = ARGV\[(\d+)\], prefix of KEYS\[(\d+)\]/.exec(line[1]);
  if (kinds.size === 0 || !base)
    return 'the `Keys derived from data:` line must list `<base><kind>:<key>` and say `(<base> = ARGV[n], prefix of KEYS[m]`';
  return { kinds, argv: Number(base[1]), prefixOf: Number(base[2]) };
}

/** `redis.call('CMD', key …)` whose key is not KEYS[…] or a local bound to KEYS[…] (or a declared derived key). */
function builtKeyProblems(lua: string): string[] {
  const derived = derivedKeysOf(lua);
  if (typeof derived === 'string') return [derived];
  const code = lua.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
  // Locals bound to KEYS: `local a, b = KEYS[1], KEYS[2]` (position by position).
  const bound = new Set<string>();
  for (const m of code.matchAll(/local\s+([\w\s,]+?)\s*=\s*([^\n]+)/g)) {
    const names = m[1].split(',').map((s) => s.trim());
    const values = m[2].split(',').map((s) => s.trim());
    names.forEach((n, i) => {
      if (/^KEYS\[[^\]]+\]$/.test(values[i] ?? '')) bound.add(n);
    });
  }
  // Parameters of a local function named like a key (`sessKey`) are bound at their call.
  for (const m of code.matchAll(/local\s+function\s+\w+\(([^)]*)\)/g))
    for (const p of m[1].split(',').map((s) => s.trim())) if (/Key$/.test(p)) bound.add(p);
  const out: string[] = [];
  if (derived) {
    // The base: a local bound to exactly the declared ARGV, checked against the declared KEYS entry.
    const bases = new Set<string>();
    for (const m of code.matchAll(/local\s+([\w\s,]+?)\s*=\s*([^\n]+)/g)) {
      const names = m[1].split(',').map((x) => x.trim());
      const values = m[2].split(',').map((x) => x.trim());
      names.forEach((n, i) => {
        if (values[i] === `ARGV[${derived.argv}]`) bases.add(n);
      });
    }
    const checked = [...bases].filter((b) =>
      new RegExp(`string\\.sub\\(KEYS\\[${derived.prefixOf}\\],\\s*1,\\s*#${b}\\)\\s*~=\\s*${b}\\b[^\\n]*error_reply`).test(code),
    );
    if (checked.length === 0)
      out.push(`derives keys but does not check that its base ARGV[${derived.argv}] is the prefix of KEYS[${derived.prefixOf}]`);
    const isDerived = (expr: string) => {
      const m = /^(\w+)\s*\.\.\s*'([^']+)'\s*\.\.\s*\w+$/.exec(expr);
      return !!m && checked.includes(m[1]) && derived.kinds.has(m[2]);
    };
    for (const m of code.matchAll(/local\s+(\w+)\s*=\s*([^\n]+)/g)) if (isDerived(m[2].trim())) bound.add(m[1]);
    for (const m of code.matchAll(/redis\.call\(\s*'\w+'\s*,\s*([^,)]+)/g)) if (isDerived(m[1].trim())) bound.add(m[1].trim());
  }
  for (const m of code.matchAll(/redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?/g)) {
    const cmd = m[1].toUpperCase();
    if (cmd === 'TIME') continue;
    const key = (m[2] ?? '').trim();
    if (/^KEYS\[[^\]]+\]$/.test(key) || bound.has(key)) continue;
    out.push(`redis.call('${m[1]}', ${key}…): the key is not from KEYS`);
  }
  return out;
}

/** Time arithmetic on a `now…` without Redis TIME, and clock-reading ARGVs that do not say what they are. */
function clockProblems(raw: string, expanded: string): string[] {
  const out: string[] = [];
  const code = expanded.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
  const arithmetic = /\bnow\w*\s*[-+<>]|[-+<>]=?\s*\(?\s*now\w*\b/.test(code);
  const time = /redis\.call\(\s*'TIME'\s*\)/.test(code);
  if (arithmetic && !time) out.push('does time arithmetic on a `now` that does not come from Redis TIME');
  const h = headerOf(raw) ?? '';
  for (const line of h.split('\n')) {
    if (!/ARGV\[[^\]]+\]\s+now/i.test(line)) continue;
    if (!/'' = Redis TIME/.test(line) && !/a stamp/.test(line))
      out.push(`${line.trim()}: a clock reading must be a test's override ('' = Redis TIME) or a stamp`);
    if (/'' = Redis TIME/.test(line) && !time) out.push(`${line.trim()}: says '' = Redis TIME but never reads TIME`);
  }
  return out;
}

const conns: ReturnType<typeof newRedis>[] = [];
afterAll(() => conns.forEach((c) => c.disconnect()));

describe('Redis scripts: one convention', () => {
  it('finds the scripts (every folder that runs Lua keeps it in files)', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(25);
    // No Lua left in TypeScript (a template literal calling redis.call).
    const inline = all.filter((f) => f.endsWith('.ts') && /redis\.call\(/.test(readFileSync(f, 'utf8')));
    expect(inline.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it.each(scripts.map((f) => [relative(ROOT, f), f]))('%s keeps the convention', (_, file) => {
    const s = luaScript(pathToFileURL(file));
    const raw = readFileSync(file, 'utf8');
    expect(headerProblems(raw, s.lua, s.numberOfKeys)).toEqual([]);
    expect(builtKeyProblems(s.lua)).toEqual([]);
    expect(clockProblems(raw, s.lua)).toEqual([]);
  });

  it.each(includes.map((f) => [relative(ROOT, f), f]))('%s (shared part) has a header and builds no key', (_, file) => {
    const raw = readFileSync(file, 'utf8');
    expect(headerOf(raw)?.trim().length ?? 0).toBeGreaterThan(40);
    expect(builtKeyProblems(raw)).toEqual([]);
    expect(clockProblems(raw, raw)).toEqual([]);
  });

  it('every script compiles on the real Redis and is loaded by a module next to it', async () => {
    const redis = newRedis();
    conns.push(redis);
    const ts = all.filter((f) => f.endsWith('.ts')).map((f) => readFileSync(f, 'utf8'));
    for (const file of scripts) {
      const s = luaScript(pathToFileURL(file));
      const sha = (await redis.script('LOAD', s.lua)) as string;
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      const name = file.split('/').slice(-2).join('/');
      expect(
        ts.some((t) => t.includes(`./${name}'`)),
        `${name} is loaded by a module`,
      ).toBe(true);
    }
  });

  it('the checks fail on planted bad scripts', () => {
    const header = (body: string, keys = 'KEYS[1] the key', argv = 'ARGV[1] a value') =>
      `--[[\n  Does something useful to a key, for this test.\n\n  Input:\n    ${keys}\n\n    ${argv}\n\n  Output:\n    1\n]]\n${body}`;
    // No header at all.
    expect(headerProblems('return 1', 'return 1', 0)).toContain('no header (--[[ what it does, Input: KEYS/ARGV, Output: ]])');
    // A key the header does not list, and a key count the file name contradicts.
    const extra = header("redis.call('GET', KEYS[2])");
    expect(headerProblems(extra, extra, 1)).toContain('KEYS[2] is used but not in the header');
    expect(headerProblems(extra, extra, 2)).toContain('the file name says 2 keys, the header lists 1');
    // A key built inside Lua, directly or through a local.
    expect(builtKeyProblems("redis.call('GET', ARGV[1] .. ':x')")).toHaveLength(1);
    expect(builtKeyProblems("local k = ARGV[1] .. 'q:' .. ARGV[2]\nredis.call('ZADD', k, 1, 'm')")).toHaveLength(1);
    expect(builtKeyProblems("local q = KEYS[1]\nredis.call('ZADD', q, 1, 'm')")).toEqual([]);
    // Lease arithmetic on the caller's clock; a clock ARGV that does not say what it is.
    const callerClock = header(
      "local now = tonumber(ARGV[1])\nredis.call('ZADD', KEYS[1], now + 1000, 'x')",
      'KEYS[1] holders',
      'ARGV[1] nowMs',
    );
    expect(clockProblems(callerClock, callerClock)).toEqual([
      'does time arithmetic on a `now` that does not come from Redis TIME',
      "ARGV[1] nowMs: a clock reading must be a test's override ('' = Redis TIME) or a stamp",
    ]);
    const redisClock = header(
      "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000\nredis.call('ZADD', KEYS[1], now + 1000, 'x')",
      'KEYS[1] holders',
      'ARGV[1] holdMs',
    );
    expect(clockProblems(redisClock, redisClock)).toEqual([]);
  });

  it('keys derived from data are allowed only as declared (the exception is narrow)', () => {
    const headed = (line: string) =>
      `--[[\n  Pops a key from a set and locks it, for this test.\n  ${line}\n\n  Input:\n    KEYS[1] <base>ready\n\n    ARGV[1] base\n\n  Output:\n    nothing\n]]\n`;
    const body = [
      'local base = ARGV[1]',
      "if string.sub(KEYS[1], 1, #base) ~= base then return redis.error_reply('not the base') end",
      "local key = redis.call('ZPOPMIN', KEYS[1])[1]",
      "local lockKey = base .. 'lock:' .. key",
      "redis.call('SET', lockKey, '1')",
    ].join('\n');
    const declared = headed('Keys derived from data: <base>lock:<key> (<base> = ARGV[1], prefix of KEYS[1]: same hash tag)');
    expect(builtKeyProblems(declared + body)).toEqual([]);
    // Without the header line, the same derived key fails as any key built in Lua.
    expect(builtKeyProblems(headed('') + body)).toEqual(["redis.call('SET', lockKey…): the key is not from KEYS"]);
    // A kind the line does not list; a base from another ARGV; no prefix check; a malformed line.
    expect(builtKeyProblems(declared + body.replace("'lock:'", "'seq:'"))).toEqual([
      "redis.call('SET', lockKey…): the key is not from KEYS",
    ]);
    expect(builtKeyProblems(declared + body.replace('local base = ARGV[1]', 'local base = ARGV[2]'))).toContain(
      "redis.call('SET', lockKey…): the key is not from KEYS",
    );
    expect(builtKeyProblems(declared + body.replace(/^if string[^\n]*\n/m, ''))).toContain(
      'derives keys but does not check that its base ARGV[1] is the prefix of KEYS[1]',
    );
    expect(builtKeyProblems(headed('Keys derived from data: the lock keys') + body)).toHaveLength(1);
    // Any other built key is still refused next to declared ones.
    expect(builtKeyProblems(`${declared}${body}\nredis.call('DEL', ARGV[1] .. 'lock:' .. key)`)).toEqual([
      "redis.call('DEL', ARGV[1] .. 'lock:' .. key…): the key is not from KEYS",
    ]);
    // The real scripts that use the exception fail without their header line.
    for (const name of ['laneClaim-3', 'laneSweep-1']) {
      const lua = readFileSync(join(SRC, 'lanes/scripts', `${name}.lua`), 'utf8');
      expect(builtKeyProblems(lua)).toEqual([]);
      expect(builtKeyProblems(lua.replace(/Keys derived from data:[^\n]*/, '')).length).toBeGreaterThan(0);
    }
  });
});

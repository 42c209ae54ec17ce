/**
 * Account and group settings in Redis, shared by every instance:
 *
 *   <prefix>:settings:account:<name>   JSON of the stored (validated) object; `_default` too
 *   <prefix>:settings:group:<name>     the same for groups
 *   <prefix>:settings:version          incremented by every write
 *   <prefix>:settings:file-hash        entry (`account:<name>`) → sha256 of its last loaded file content
 *
 * "Applies at once on every instance": each use reads the version (one GET, no pub/sub to
 * miss while reconnecting) and drops this instance's cache when it moved.
 *
 * Seeding from ACCOUNT_SETTINGS_FILE works like ROUTING_RULES_FILE (keyword-rules.ts), per
 * entry: an entry is installed when its content differs from what the file said at the last
 * load (or nothing is stored), so an edited entry of the file wins at the next start, and
 * settings changed over the API survive restarts while the file's entry is unchanged.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../core/index.ts';
import {
  DEFAULT_NAME,
  effectiveAccount,
  effectiveGroup,
  NAME_PATTERN,
  validateAccountSettings,
  validateGroupSettings,
  type AccountSettings,
  type EffectiveAccountSettings,
  type EffectiveGroupSettings,
  type GroupSettings,
} from './account-settings.ts';

export type SettingsKind = 'account' | 'group';

export interface SettingsStoreOptions {
  redis: Redis;
  /** QUEUE_PREFIX. */
  prefix: string;
}

export class SettingsStore {
  private readonly r: Redis;
  private readonly base: string;
  private version: string | null = null;
  private readonly cache = new Map<string, unknown>();

  constructor(o: SettingsStoreOptions) {
    this.r = o.redis;
    this.base = `${o.prefix}:settings:`;
  }

  private key(kind: SettingsKind, name: string): string {
    return `${this.base}${kind}:${name}`;
  }

  /** The stored object (null when none), validated again on read (a hand-edited key cannot break routing). */
  async get(kind: 'account', name: string): Promise<AccountSettings | null>;
  async get(kind: 'group', name: string): Promise<GroupSettings | null>;
  async get(kind: SettingsKind, name: string): Promise<AccountSettings | GroupSettings | null> {
    const v = await this.r.get(`${this.base}version`);
    if (v !== this.version) {
      this.cache.clear();
      this.version = v;
    }
    const ck = `${kind}:${name}`;
    if (this.cache.has(ck)) return this.cache.get(ck) as AccountSettings | GroupSettings | null;
    const raw = await this.r.get(this.key(kind, name));
    let val: AccountSettings | GroupSettings | null = null;
    if (raw) {
      try {
        const parsed: unknown = JSON.parse(raw);
        val = kind === 'account' ? validateAccountSettings(parsed) : validateGroupSettings(parsed);
      } catch {
        val = null;
      }
    }
    this.cache.set(ck, val);
    return val;
  }

  /** Validates and stores the whole object (PUT semantics); every instance sees it at its next use. */
  async put(kind: 'account', name: string, input: unknown): Promise<AccountSettings>;
  async put(kind: 'group', name: string, input: unknown): Promise<GroupSettings>;
  async put(kind: SettingsKind, name: string, input: unknown): Promise<AccountSettings | GroupSettings> {
    checkName(kind, name);
    const val = kind === 'account' ? validateAccountSettings(input) : validateGroupSettings(input);
    await this.r.multi().set(this.key(kind, name), JSON.stringify(val)).incr(`${this.base}version`).exec();
    return val;
  }

  /** An account's settings as the connector acts on them (own over `_default` over built-ins). */
  async account(name: string): Promise<EffectiveAccountSettings> {
    const own = name === DEFAULT_NAME ? null : await this.get('account', name);
    return effectiveAccount(own, await this.get('account', DEFAULT_NAME));
  }

  /**
   * `mayWriteFirst` as the account (or `_default`) sets it; null when neither does, so the
   * deployment default (WHATSAPP_MAY_WRITE_FIRST) applies — see ConnectorContext.mayWriteFirst.
   */
  async mayWriteFirst(name: string): Promise<boolean | null> {
    const own = name === DEFAULT_NAME ? null : await this.get('account', name);
    return own?.mayWriteFirst ?? (await this.get('account', DEFAULT_NAME))?.mayWriteFirst ?? null;
  }

  async group(name: string): Promise<EffectiveGroupSettings> {
    const own = name === DEFAULT_NAME ? null : await this.get('group', name);
    return effectiveGroup(own, await this.get('group', DEFAULT_NAME));
  }

  /**
   * Installs the entries of a settings file whose content changed since the file was last
   * loaded (or that nothing is stored for). The whole file is validated first: one bad
   * entry installs nothing. Returns the installed entries (`account:<name>`, `group:<name>`).
   */
  async loadFile(path: string): Promise<string[]> {
    const entries = await readSettingsFile(path);
    const installed: string[] = [];
    for (const e of entries) {
      const field = `${e.kind}:${e.name}`;
      const hash = createHash('sha256').update(JSON.stringify(e.value)).digest('hex');
      const [prev, exists] = await Promise.all([this.r.hget(`${this.base}file-hash`, field), this.r.exists(this.key(e.kind, e.name))]);
      if (prev === hash && exists) continue;
      await this.r
        .multi()
        .set(this.key(e.kind, e.name), JSON.stringify(e.value))
        .hset(`${this.base}file-hash`, field, hash)
        .incr(`${this.base}version`)
        .exec();
      installed.push(field);
    }
    return installed;
  }
}

function checkName(kind: SettingsKind, name: string): void {
  if (!NAME_PATTERN.test(name))
    throw new ValidationError(`The ${kind} name "${name.slice(0, 64)}" is not valid: use letters, digits and _ . @ + - (at most 128).`);
}

interface FileEntry {
  kind: SettingsKind;
  name: string;
  value: AccountSettings | GroupSettings;
}

/**
 * Reads a settings file (YAML, or JSON by `.json`):
 * ```yaml
 * accounts:
 *   _default: { timeZone: Europe/Moscow, language: ru }
 *   acme_bot: { workingHours: { mon: [["08:00", "12:00"]] } }
 * groups:
 *   sales: { assignment: round_robin }
 * ```
 * A problem is reported with its path in the file (`accounts.acme_bot.workingHours.mon[0][0]`).
 */
export async function readSettingsFile(path: string): Promise<FileEntry[]> {
  const text = await readFile(path, 'utf8');
  const json = extname(path).toLowerCase() === '.json';
  let data: unknown;
  try {
    data = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ValidationError(
      `The account settings file ${path} is not valid ${json ? 'JSON' : 'YAML'} (${e instanceof Error ? e.message.split('\n')[0] : String(e)}).`,
      'invalid_settings_file',
    );
  }
  const fail = (msg: string): never => {
    throw new ValidationError(`The account settings file ${path}: ${msg}`, 'invalid_settings_file');
  };
  if (data === null || data === undefined) return [];
  if (typeof data !== 'object' || Array.isArray(data)) fail('it must hold "accounts" and/or "groups" maps.');
  const root = data as Record<string, unknown>;
  for (const k of Object.keys(root)) if (k !== 'accounts' && k !== 'groups') fail(`"${k}" is not a known section (accounts, groups).`);
  const out: FileEntry[] = [];
  for (const [section, kind] of [
    ['accounts', 'account'],
    ['groups', 'group'],
  ] as const) {
    const map = root[section];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) fail(`"${section}" must be a map of name → settings.`);
    for (const [name, raw] of Object.entries(map as Record<string, unknown>)) {
      if (!NAME_PATTERN.test(name)) fail(`"${section}.${name}" is not a valid ${kind} name.`);
      try {
        out.push({ kind, name, value: kind === 'account' ? validateAccountSettings(raw ?? {}) : validateGroupSettings(raw ?? {}) });
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        fail(e.message.replace(/^Field "/, `Field "${section}.${name}.`));
      }
    }
  }
  return out;
}

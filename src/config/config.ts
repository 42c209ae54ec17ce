/**
 * Configuration: read once at boot from the environment (and `.env`), validated into a
 * typed, frozen object. This is the only module that reads `process.env`; everything else
 * receives what it needs through options.
 *
 * Every problem is reported as one line naming the variable; all problems at once, so an
 * administrator fixes the file in one go.
 */
import { redactUrl } from '../core/index.ts';
import { readEnvFile } from './env-file.ts';
import { allowEntryProblem } from '../core/address-policy.ts';

export type TelegramMode = 'polling' | 'webhook';
export type OnecMode = 'push' | 'pull';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Config {
  redisUrl: string;
  /** Where Redis is: `redisUrl`, or Sentinel with the URL's credentials (every client is built from this). */
  redis: {
    url: string;
    sentinel: { nodes: { host: string; port: number }[]; name: string; password: string | null; tls: boolean } | null;
    /** A Redis Cluster (REDIS_CLUSTER_NODES; credentials and TLS from REDIS_URL), or null. */
    cluster: { nodes: { host: string; port: number }[] } | null;
    /** Replicas that must hold an accepted message before it is confirmed (WAIT); 0 = none. */
    waitReplicas: number;
    waitTimeoutMs: number;
  };
  /**
   * Key prefix of deployment-wide keys. On a Cluster it is QUEUE_PREFIX as a hash tag
   * (`{chats}`), so deployment-wide scripts stay in one slot; the lanes' shards get their
   * own tags (src/lanes/lane-keys.ts).
   */
  queuePrefix: string;
  /** QUEUE_SHARDS: how many shards the chats' lanes are spread over (lane-keys.ts). */
  queueShards: number;
  http: { host: string; port: number; publicUrl: string };
  /** Bearer token of `/api/v1/*`; null only in the demo, which makes its own. */
  apiToken: string | null;
  /** Dashboard login; null disables the dashboard. */
  admin: { user: string; password: string } | null;
  onec: {
    baseUrl: string | null;
    user: string;
    password: string;
    maxSessions: number;
    batchMax: number;
    timeoutMs: number;
    authWaitMs: number;
    /** A routing session idle this long is finished, so it holds no 1C license (well under sessionMaxAge). */
    idleFinishMs: number;
    /** The publication's sessionMaxAge: how long 1C keeps a session a crashed process left open. */
    sessionMaxAgeS: number;
    /** `push`: the connector calls 1C's /messages, /statuses, /routing; `pull`: 1C fetches them (onec-pull.md). */
    mode: OnecMode;
    /** Pull mode: after this many seconds without a poll, /readyz and doctor say 1C is not polling. */
    pullStaleS: number;
  };
  telegram: {
    tokens: string[];
    apiRoot: string;
    mode: TelegramMode;
    webhookUrl: string | null;
    webhookSecret: string | null;
  };
  whatsapp: {
    accounts: string[];
    minIntervalMs: number;
    /** WHATSAPP_VERSION: pinned protocol version; null = fetch the current one at connect. */
    version: [number, number, number] | null;
    /** WHATSAPP_MAY_WRITE_FIRST: accounts allowed to message people who never wrote to them. */
    mayWriteFirst: string[];
    /** WHATSAPP_FIRST_CONTACT_PER_HOUR / _PER_DAY: pacing of such first messages, per account. */
    firstContactPerHour: number;
    firstContactPerDay: number;
  };
  /**
   * Telegram user accounts through TDLib (docs/telegram.md): TELEGRAM_API_ID / _API_HASH (the
   * app from my.telegram.org), TELEGRAM_USER_ACCOUNTS (names), TELEGRAM_USER_DATA_DIR (one
   * TDLib database per account below it), TELEGRAM_USER_DB_KEY (encrypts those databases; a
   * secret), TELEGRAM_USER_GROUPS (accounts whose group chats are taken too).
   */
  telegramUser: {
    accounts: string[];
    apiId: number | null;
    apiHash: string | null;
    dataDir: string;
    dbKey: string | null;
    groups: string[];
  };
  /** The license document; the keys that verify it ship in the package (keys/license/), never in configuration. */
  license: { file: string | null };
  seatTtlS: number;
  /** Longest life of an operator token, heartbeats or not (seconds; the sliding expiry is SEAT_TTL_S). */
  operatorTokenMaxAgeS: number;
  /** Most operator logins in progress or waiting for a 1C license, all instances; beyond it 503. */
  operatorLoginQueueMax: number;
  /** Keyword routing rules (JSON or YAML) loaded at start; null: rules only over the API. */
  routingRulesFile: string | null;
  /** Account and group settings (YAML or JSON) seeded at start, per entry when changed; null: API only. */
  accountSettingsFile: string | null;
  /** The operator panel (`/panel`): per-chat history bounds, and the trusted proxy header naming the workstation user. */
  panel: { historyMax: number; historyDays: number; userHeader: string | null };
  mediaDir: string;
  mediaMaxBytes: number;
  /** MEDIA_FETCH_TIMEOUT_MS: the whole fetch of an outbound media url, redirects and body included. */
  mediaFetchTimeoutMs: number;
  /** OUTBOUND_MEDIA_ALLOW: host names / CIDRs an outbound media url may reach although inner (LAN, loopback). */
  outboundMediaAllow: string[];
  /** MEDIA_RETENTION_DAYS: stored media older than this are deleted by a periodic sweep (0: kept forever). */
  mediaRetentionDays: number;
  workerConcurrency: number;
  /** Per-chat delivery lock; after a crash another instance continues within this (ms). */
  laneLockMs: number;
  /** How often chats with pending messages and no driver are looked for (ms). */
  laneSweepMs: number;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** `start` needs everything a production connector needs; `cli` only what it reads. */
  purpose?: 'start' | 'cli';
  /** Path of the `.env` file (default `./.env`); `false` to ignore it. */
  envFile?: string | false;
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Record<string, string | undefined>) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  str(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  opt(name: string): string | null {
    return this.raw(name) ?? null;
  }

  int(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!/^\d+$/.test(v)) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
      return def;
    }
    const n = Number(v);
    if (n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got ${n}`);
      return def;
    }
    return n;
  }

  url(name: string, def: string | null, protocols: string[]): string | null {
    const v = this.raw(name);
    if (v === undefined) return def;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) {
        this.problems.push(`${name} must be a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL, got "${redactUrl(v)}"`);
        return def;
      }
      return v.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${name} is not a valid URL: "${redactUrl(v)}"`);
      return def;
    }
  }

  oneOf<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
      return def;
    }
    return v as T;
  }

  list(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  require(name: string, why: string): void {
    if (this.raw(name) === undefined) this.problems.push(`${name} is required: ${why}`);
  }
}

/** Least length of ADMIN_PASSWORD (issue 11: `ADMIN_PASSWORD=a` was accepted). API_TOKEN needs 16. */
export const MIN_PASSWORD_LENGTH = 12;

const BOT_TOKEN = /^\d+:[A-Za-z0-9_-]{20,}$/;
const ACCOUNT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function loadConfig(env: Record<string, string | undefined> = process.env, opts: LoadConfigOptions = {}): Readonly<Config> {
  const fileEnv = opts.envFile === false ? {} : readEnvFile(opts.envFile ?? '.env');
  const r = new Reader({ ...fileEnv, ...env });
  const purpose = opts.purpose ?? 'start';

  const host = r.str('HTTP_HOST', '127.0.0.1');
  const port = r.int('HTTP_PORT', 8080, 0, 65535);
  const publicUrl = r.url('PUBLIC_URL', null, ['http:', 'https:']) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const tokens = r.list('TELEGRAM_BOT_TOKENS');
  tokens.forEach((t, i) => {
    // The token itself is a secret: name its position, never its value.
    if (!BOT_TOKEN.test(t))
      r.problems.push(`TELEGRAM_BOT_TOKENS item ${i + 1} is not a bot token (expected "<digits>:<secret>" as BotFather gives it)`);
  });
  const mode = r.oneOf<TelegramMode>('TELEGRAM_MODE', 'polling', ['polling', 'webhook']);
  const webhookUrl = r.url('TELEGRAM_WEBHOOK_URL', null, ['https:', 'http:']);
  const webhookSecret = r.opt('TELEGRAM_WEBHOOK_SECRET');
  if (mode === 'webhook' && tokens.length > 0) {
    if (!webhookUrl) r.problems.push('TELEGRAM_WEBHOOK_URL is required when TELEGRAM_MODE=webhook');
    if (!webhookSecret) r.problems.push('TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook');
    else if (!/^[A-Za-z0-9_-]{1,256}$/.test(webhookSecret))
      r.problems.push('TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1 to 256 characters), as Telegram requires');
  }

  const waAccounts = r.list('WHATSAPP_ACCOUNTS');
  for (const a of waAccounts) {
    if (!ACCOUNT_NAME.test(a))
      r.problems.push(`WHATSAPP_ACCOUNTS item "${a}" is not a valid account name (letters, digits, _ and -, up to 64)`);
  }
  if (new Set(waAccounts).size !== waAccounts.length) r.problems.push('WHATSAPP_ACCOUNTS names an account twice');
  const waVersionText = r.opt('WHATSAPP_VERSION');
  const waVersionMatch = waVersionText === null ? null : /^(\d+)\.(\d+)\.(\d+)$/.exec(waVersionText.trim());
  if (waVersionText !== null && !waVersionMatch)
    r.problems.push(`WHATSAPP_VERSION must be three numbers like 2.3000.1027934701, got "${waVersionText}"`);
  const waVersion: [number, number, number] | null = waVersionMatch
    ? [Number(waVersionMatch[1]), Number(waVersionMatch[2]), Number(waVersionMatch[3])]
    : null;
  const waWriteFirst = r.list('WHATSAPP_MAY_WRITE_FIRST');
  for (const a of waWriteFirst)
    if (!waAccounts.includes(a)) r.problems.push(`WHATSAPP_MAY_WRITE_FIRST names "${a}", which is not in WHATSAPP_ACCOUNTS`);

  const tguAccounts = r.list('TELEGRAM_USER_ACCOUNTS');
  for (const a of tguAccounts) {
    if (!ACCOUNT_NAME.test(a))
      r.problems.push(`TELEGRAM_USER_ACCOUNTS item "${a}" is not a valid account name (letters, digits, _ and -, up to 64)`);
    // Bot usernames end in "bot": a user account named so could not be told from a bot in chat keys' account part.
    else if (/bot$/i.test(a))
      r.problems.push(`TELEGRAM_USER_ACCOUNTS item "${a}" ends in "bot", which only bot usernames do; choose another name`);
  }
  if (new Set(tguAccounts).size !== tguAccounts.length) r.problems.push('TELEGRAM_USER_ACCOUNTS names an account twice');
  const tguApiIdText = r.opt('TELEGRAM_API_ID');
  const tguApiId = tguApiIdText === null ? null : /^\d{1,10}$/.test(tguApiIdText) && Number(tguApiIdText) > 0 ? Number(tguApiIdText) : NaN;
  if (Number.isNaN(tguApiId))
    r.problems.push(`TELEGRAM_API_ID must be the number my.telegram.org shows as "App api_id", got "${tguApiIdText}"`);
  const tguApiHash = r.opt('TELEGRAM_API_HASH');
  // The hash is a secret: its shape is checked, its value never repeated.
  if (tguApiHash !== null && !/^[0-9a-f]{32}$/i.test(tguApiHash))
    r.problems.push('TELEGRAM_API_HASH must be the 32 hexadecimal characters my.telegram.org shows as "App api_hash"');
  const tguDbKey = r.opt('TELEGRAM_USER_DB_KEY');
  if (tguDbKey !== null && tguDbKey.length < 16)
    r.problems.push(`TELEGRAM_USER_DB_KEY is too short: use at least 16 characters (it has ${tguDbKey.length})`);
  if (tguAccounts.length) {
    if (tguApiIdText === null) r.require('TELEGRAM_API_ID', 'TELEGRAM_USER_ACCOUNTS needs the app credentials from my.telegram.org');
    if (tguApiHash === null) r.require('TELEGRAM_API_HASH', 'TELEGRAM_USER_ACCOUNTS needs the app credentials from my.telegram.org');
    if (tguDbKey === null) r.require('TELEGRAM_USER_DB_KEY', "TELEGRAM_USER_ACCOUNTS needs a key to encrypt each account's TDLib database");
  }
  const tguGroups = r.list('TELEGRAM_USER_GROUPS');
  for (const a of tguGroups)
    if (!tguAccounts.includes(a)) r.problems.push(`TELEGRAM_USER_GROUPS names "${a}", which is not in TELEGRAM_USER_ACCOUNTS`);

  const adminUser = r.opt('ADMIN_USER');
  const adminPassword = r.opt('ADMIN_PASSWORD');
  if ((adminUser === null) !== (adminPassword === null)) {
    r.problems.push(
      `${adminUser === null ? 'ADMIN_USER' : 'ADMIN_PASSWORD'} is required when ${adminUser === null ? 'ADMIN_PASSWORD' : 'ADMIN_USER'} is set (the dashboard needs both)`,
    );
  }
  // The dashboard can retry and remove jobs: a guessable password is refused (the length only, never the value).
  if (adminPassword !== null && adminPassword.length < MIN_PASSWORD_LENGTH)
    r.problems.push(`ADMIN_PASSWORD is too short: use at least ${MIN_PASSWORD_LENGTH} characters (it has ${adminPassword.length})`);

  const outboundMediaAllow = r.list('OUTBOUND_MEDIA_ALLOW');
  for (const entry of outboundMediaAllow) {
    const problem = allowEntryProblem(entry);
    if (problem) r.problems.push(`OUTBOUND_MEDIA_ALLOW item ${problem}`);
  }

  const onecBase = r.url('ONEC_BASE_URL', null, ['http:', 'https:']);
  if (purpose === 'start') {
    r.require('API_TOKEN', 'the bearer token that protects the HTTP API');
    r.require('ONEC_BASE_URL', 'the root of the 1C HTTP service, e.g. http://host/base/hs/chats/v1');
    r.require('ONEC_USER', 'the 1C service user the connector delivers messages as');
  }
  const apiToken = r.opt('API_TOKEN');
  if (apiToken !== null && apiToken.length < 16) r.problems.push('API_TOKEN is too short: use at least 16 characters');

  const redisUrl = r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379';
  const sentinelNodes = r.list('REDIS_SENTINELS').flatMap((item, i) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      r.problems.push(`REDIS_SENTINELS item ${i + 1} must be host:port, got "${item}"`);
      return [];
    }
    return [{ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) }];
  });
  const sentinelName = r.opt('REDIS_SENTINEL_NAME');
  if (sentinelNodes.length && !sentinelName)
    r.problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the primary\'s name in "sentinel monitor <name> …")');
  if (sentinelName && !r.raw('REDIS_SENTINELS')) r.problems.push('REDIS_SENTINELS is required when REDIS_SENTINEL_NAME is set');
  const sentinelTls = r.oneOf('REDIS_SENTINEL_TLS', 'no', ['yes', 'no']) === 'yes';
  const clusterNodes = r.list('REDIS_CLUSTER_NODES').flatMap((item, i) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      r.problems.push(`REDIS_CLUSTER_NODES item ${i + 1} must be host:port, got "${item}"`);
      return [];
    }
    return [{ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) }];
  });
  const onCluster = clusterNodes.length > 0;
  if (onCluster && sentinelNodes.length)
    r.problems.push('REDIS_CLUSTER_NODES and REDIS_SENTINELS exclude each other: a Cluster fails over by itself');
  if (onCluster && r.int('REDIS_WAIT_REPLICAS', 0, 0, 16) > 0)
    r.problems.push(
      'REDIS_WAIT_REPLICAS is not supported with REDIS_CLUSTER_NODES: WAIT covers one node, and the lanes write to every primary (the loss window is stated in docs/operations.md)',
    );
  const rawPrefix = r.str('QUEUE_PREFIX', 'chats');
  if (!/^[A-Za-z0-9_{}.-]{1,64}$/.test(rawPrefix))
    r.problems.push(`QUEUE_PREFIX may hold letters, digits, _ . - { } only, got "${rawPrefix}"`);
  // On a Cluster, deployment-wide keys share one slot (their scripts touch several): the
  // prefix becomes a hash tag. A prefix that already is one (the former one-slot setup) stays.
  const queuePrefix = onCluster && !/^\{[^{}]+\}$/.test(rawPrefix) ? `{${rawPrefix.replace(/[{}]/g, '')}}` : rawPrefix;
  // 16 shards on a Cluster (spread over the primaries); 1 elsewhere: one Redis gains nothing
  // from more shards but connections (each shard has its own BullMQ queues and workers).
  // Pull mode too: each shard's lanes hand off to the one update log of the deployment
  // (idempotently, update-log.ts appendOnce).
  const queueShards = r.int('QUEUE_SHARDS', onCluster ? 16 : 1, 1, 256);

  const config: Config = {
    redisUrl,
    redis: {
      url: redisUrl,
      sentinel:
        sentinelNodes.length && sentinelName
          ? { nodes: sentinelNodes, name: sentinelName, password: r.opt('REDIS_SENTINEL_PASSWORD'), tls: sentinelTls }
          : null,
      cluster: onCluster ? { nodes: clusterNodes } : null,
      waitReplicas: r.int('REDIS_WAIT_REPLICAS', 0, 0, 16),
      waitTimeoutMs: r.int('REDIS_WAIT_TIMEOUT_MS', 1_000, 10, 60_000),
    },
    queuePrefix,
    queueShards,
    http: { host, port, publicUrl: publicUrl.replace(/\/+$/, '') },
    apiToken,
    admin: adminUser && adminPassword ? { user: adminUser, password: adminPassword } : null,
    onec: {
      baseUrl: onecBase,
      user: r.str('ONEC_USER', ''),
      password: r.str('ONEC_PASSWORD', ''),
      maxSessions: r.int('ONEC_MAX_SESSIONS', 1, 1, 64),
      batchMax: r.int('ONEC_BATCH_MAX', 100, 1, 500),
      timeoutMs: r.int('ONEC_TIMEOUT_MS', 10_000, 100, 600_000),
      authWaitMs: r.int('ONEC_AUTH_WAIT_MS', 30_000, 0, 600_000),
      idleFinishMs: r.int('ONEC_IDLE_FINISH_MS', 2_000, 50, 60_000),
      sessionMaxAgeS: r.int('ONEC_SESSION_MAX_AGE_S', 20, 1, 86_400),
      mode: r.oneOf<OnecMode>('ONEC_MODE', 'push', ['push', 'pull']),
      pullStaleS: r.int('ONEC_PULL_STALE_S', 300, 1, 7 * 86_400),
    },
    telegram: {
      tokens,
      apiRoot: r.url('TELEGRAM_API_ROOT', 'https://api.telegram.org', ['http:', 'https:']) ?? 'https://api.telegram.org',
      mode,
      webhookUrl,
      webhookSecret,
    },
    whatsapp: {
      accounts: waAccounts,
      minIntervalMs: r.int('WHATSAPP_MIN_INTERVAL_MS', 1_000, 0, 600_000),
      version: waVersion,
      mayWriteFirst: waWriteFirst,
      firstContactPerHour: r.int('WHATSAPP_FIRST_CONTACT_PER_HOUR', 5, 1, 1000),
      firstContactPerDay: r.int('WHATSAPP_FIRST_CONTACT_PER_DAY', 20, 1, 10_000),
    },
    telegramUser: {
      accounts: tguAccounts,
      apiId: tguApiId !== null && Number.isFinite(tguApiId) ? tguApiId : null,
      apiHash: tguApiHash,
      dataDir: r.str('TELEGRAM_USER_DATA_DIR', './data/telegram-user'),
      dbKey: tguDbKey,
      groups: tguGroups,
    },
    license: { file: r.opt('LICENSE_FILE') },
    seatTtlS: r.int('SEAT_TTL_S', 300, 5, 86_400),
    operatorTokenMaxAgeS: r.int('OPERATOR_TOKEN_MAX_AGE_S', 43_200, 60, 30 * 86_400),
    operatorLoginQueueMax: r.int('OPERATOR_LOGIN_QUEUE_MAX', 100, 1, 10_000),
    routingRulesFile: r.opt('ROUTING_RULES_FILE'),
    accountSettingsFile: r.opt('ACCOUNT_SETTINGS_FILE'),
    panel: {
      historyMax: r.int('PANEL_HISTORY_MAX', 200, 1, 10_000),
      historyDays: r.int('PANEL_HISTORY_DAYS', 30, 1, 365),
      userHeader: r.opt('PANEL_USER_HEADER')?.toLowerCase() ?? null,
    },
    mediaDir: r.str('MEDIA_DIR', './data/media'),
    mediaMaxBytes: r.int('MEDIA_MAX_BYTES', 20 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
    mediaRetentionDays: r.int('MEDIA_RETENTION_DAYS', 30, 0, 36_500),
    mediaFetchTimeoutMs: r.int('MEDIA_FETCH_TIMEOUT_MS', 30_000, 100, 600_000),
    outboundMediaAllow,
    workerConcurrency: r.int('WORKER_CONCURRENCY', 50, 1, 1000),
    laneLockMs: r.int('LANE_LOCK_MS', 10_000, 500, 600_000),
    laneSweepMs: r.int('LANE_SWEEP_MS', 5_000, 100, 600_000),
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', 'info', LOG_LEVELS),
  };
  if (config.onec.idleFinishMs >= config.onec.sessionMaxAgeS * 1000) {
    r.problems.push(
      `ONEC_IDLE_FINISH_MS (${config.onec.idleFinishMs}) must be below ONEC_SESSION_MAX_AGE_S (${config.onec.sessionMaxAgeS} s), or 1C ends idle sessions first`,
    );
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** What `onec-check` reads: the 1C settings only. */
export interface OnecCheckSettings {
  baseUrl: string | null;
  user: string;
  password: string;
  timeoutMs: number;
}

/**
 * The lenient path for `onec-check`: only the `ONEC_*` variables it uses, so a 1C programmer
 * can check a publication with a `.env` whose other settings are unfinished or wrong.
 */
export function loadOnecCheckSettings(
  env: Record<string, string | undefined> = process.env,
  opts: Pick<LoadConfigOptions, 'envFile'> = {},
): Readonly<OnecCheckSettings> {
  const fileEnv = opts.envFile === false ? {} : readEnvFile(opts.envFile ?? '.env');
  const r = new Reader({ ...fileEnv, ...env });
  const settings: OnecCheckSettings = {
    baseUrl: r.url('ONEC_BASE_URL', null, ['http:', 'https:']),
    user: r.str('ONEC_USER', ''),
    password: r.str('ONEC_PASSWORD', ''),
    timeoutMs: r.int('ONEC_TIMEOUT_MS', 10_000, 100, 600_000),
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return Object.freeze(settings);
}

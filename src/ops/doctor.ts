/**
 * `chat-connector doctor`: one line per check, ✓ or ✗ with what to do (ℹ for information).
 * A ✗ marked `fatal` is one that stops chats; the command exits non-zero on any of them.
 * Secrets never appear: every line goes through the secret scrubber of the configuration.
 *
 * Checks, in order: Redis (answers; `maxmemory-policy` noeviction; persistence — on a Cluster
 * every primary and replica, see `checkRedisCluster`), 1C (reachable,
 * credentials, publication, free licenses — one `GET /licenses` in a short session that is
 * finished), the license document and feature 42, each Telegram bot (`getMe`), each
 * WhatsApp account (credentials stored in Redis = paired).
 */
import { Api, GrammyError, HttpError } from 'grammy';
import { Redis } from 'ioredis';
import type { Config } from '../config/config.ts';
import { secretsOf } from '../config/secrets.ts';
import { ConnectorError, describeError } from '../core/index.ts';
import { SecretScrubber } from '../infra/logger.ts';
import { featureLabel, SEAT_FEATURES } from '../licensing/features.ts';
import { computeHostId } from '../licensing/host-id.ts';
import { chatModuleGranted, checkLicenseFile } from '../licensing/license-document.ts';
import { loadTrustedKeys } from '../licensing/trusted-keys.ts';
import { OnecClient } from '../onec/onec-client.ts';
import { createRedis, describeRedisTarget, redisOptions } from '../redis/redis-connection.js';
import { checkRedisWrites, parseInfo, readEvictionPolicy, SAFE_POLICY } from '../infra/redis-memory.ts';
import { pullHealth } from '../pull/pull-health.ts';
import { UpdateLog } from '../lanes/update-log.js';

export type DoctorMark = '✓' | '✗' | 'ℹ';

export interface DoctorLine {
  check: string;
  mark: DoctorMark;
  /** A ✗ that stops chats (the command exits 1). */
  fatal: boolean;
  text: string;
}

export interface DoctorOptions {
  /** Host id override (tests). */
  hostId?: string;
  /** Where the trusted vendor license keys are (default: the package's `keys/license/`); code only (tests). */
  trustedKeysDir?: string;
  /** Timeout of each network check, ms (default 5000). */
  timeoutMs?: number;
  /** Called with each line as soon as it is known. */
  onLine?: (line: DoctorLine) => void;
  /**
   * The Redis keys of a WhatsApp account's stored credentials and last state. Given by the
   * composition root (the CLI), so ops does not reach into the WhatsApp channel's key layout.
   */
  whatsappKeys?: (account: string) => { creds: string; state: string };
}

const ok = (check: string, text: string): DoctorLine => ({ check, mark: '✓', fatal: false, text });
const bad = (check: string, text: string, fatal = true): DoctorLine => ({ check, mark: '✗', fatal, text });
const info = (check: string, text: string): DoctorLine => ({ check, mark: 'ℹ', fatal: false, text });

export function botIdOfToken(token: string): string {
  return token.split(':')[0] ?? '?';
}

export async function runDoctorChecks(config: Readonly<Config>, opts: DoctorOptions = {}): Promise<DoctorLine[]> {
  const scrub = new SecretScrubber(secretsOf(config));
  const lines: DoctorLine[] = [];
  const push = (l: DoctorLine) => {
    const safe = { ...l, text: scrub.string(l.text) };
    lines.push(safe);
    opts.onLine?.(safe);
  };
  const timeoutMs = opts.timeoutMs ?? 5_000;

  const redisOk = await checkRedis(config, timeoutMs, push);
  await checkOnec(config, timeoutMs, push);
  if (config.onec.mode === 'pull' && redisOk) await checkOnecPull(config, timeoutMs, push);
  checkLicense(config, opts.hostId ?? computeHostId(), opts.trustedKeysDir, push);
  for (const token of config.telegram.tokens) await checkBot(config, token, timeoutMs, push);
  if (config.whatsapp.accounts.length) await checkWhatsapp(config, redisOk, timeoutMs, push, opts.whatsappKeys);
  return lines;
}

/** Pull mode: does 1C poll? Not fatal — updates wait safely — but said plainly. */
async function checkOnecPull(config: Readonly<Config>, timeoutMs: number, push: (l: DoctorLine) => void): Promise<void> {
  // createRedis: a Cluster client on a Cluster (the update log lives on the deployment's slot).
  const redis = createRedis({
    url: config.redis,
    name: 'chat-connector-doctor',
    extra: { maxRetriesPerRequest: 0, connectTimeout: timeoutMs },
  });
  try {
    const h = pullHealth(await new UpdateLog({ redis, prefix: config.queuePrefix }).stats(), Date.now(), config.onec.pullStaleS);
    push(h.ok ? ok('onec_pull', h.detail) : bad('onec_pull', h.detail, false));
  } catch (e) {
    push(bad('onec_pull', `Pull mode: the update log could not be read (${describeError(e)}).`, false));
  } finally {
    redis.disconnect();
  }
}

/** One node of `CLUSTER NODES`: its address, whether it is a primary, and its flags. */
export interface ClusterNodeLine {
  id: string;
  host: string;
  port: number;
  primary: boolean;
  flags: string[];
  /** The primary's id (replicas), else null. */
  primaryId: string | null;
  /** Holds hash slots (a primary without slots serves nothing). */
  slots: boolean;
}

/** Parses `CLUSTER NODES` (one node a line: id addr flags master ping pong epoch link slots…). */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const addr = f[1].split('@')[0];
    const i = addr.lastIndexOf(':');
    const flags = f[2].split(',');
    if (flags.includes('noaddr') || flags.includes('handshake')) continue;
    out.push({
      id: f[0],
      host: addr.slice(0, i).replace(/^\[|\]$/g, ''),
      port: Number(addr.slice(i + 1)),
      primary: flags.includes('master'),
      flags,
      primaryId: f[3] === '-' ? null : f[3],
      slots: f.length > 8,
    });
  }
  return out;
}

/** A direct connection to one node (no Cluster client: the check is about that node), with the URL's credentials and TLS. */
function nodeClient(config: Readonly<Config>, host: string, port: number, timeoutMs: number): Redis {
  const { username, password, tls } = redisOptions(config.redis.url);
  const r = new Redis({
    host,
    port,
    username,
    password,
    tls,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  r.on('error', () => undefined);
  return r;
}

/**
 * REDIS_CLUSTER_NODES: every primary and replica the cluster lists (not only the seeds) is
 * checked — reachable, `cluster_state:ok` in its own view, and on each primary the eviction
 * policy and memory as for a single Redis. One sentence per problem, naming the node.
 */
async function checkRedisCluster(config: Readonly<Config>, timeoutMs: number, push: (l: DoctorLine) => void): Promise<boolean> {
  const seeds = config.redis.cluster?.nodes ?? [];
  const where = seeds.map((n) => `${n.host}:${n.port}`).join(', ');
  let nodes: ClusterNodeLine[] | null = null;
  let lastError = 'no seed node listed';
  for (const seed of seeds) {
    const r = nodeClient(config, seed.host, seed.port, timeoutMs);
    try {
      await r.connect();
      nodes = parseClusterNodes(String(await r.call('CLUSTER', 'NODES')));
      break;
    } catch (e) {
      lastError = describeError(e);
    } finally {
      r.disconnect();
    }
  }
  if (!nodes || nodes.length === 0) {
    push(bad('redis', `No node of the Redis Cluster answers at ${where} (${lastError}): start the cluster or fix REDIS_CLUSTER_NODES.`));
    return false;
  }
  const primaries = nodes.filter((n) => n.primary && n.slots);
  const replicas = nodes.filter((n) => !n.primary);
  let problems = 0;
  let reachablePrimaries = 0;
  const policies = new Map<string, string>();
  await Promise.all(
    nodes.map(async (n) => {
      const name = `${n.host}:${n.port}`;
      const role = n.primary ? 'primary' : 'replica';
      const r = nodeClient(config, n.host, n.port, timeoutMs);
      try {
        try {
          await r.connect();
          await r.ping();
        } catch (e) {
          problems++;
          push(
            bad(
              `redis_node:${name}`,
              `Redis Cluster ${role} ${name} does not answer (${describeError(e)}${n.flags.includes('fail') ? '; the cluster marks it failed' : ''}): start it again${n.primary ? ' — its slots are unavailable until it answers or a replica takes over' : ''}.`,
              n.primary,
            ),
          );
          return;
        }
        if (n.primary) reachablePrimaries++;
        const state = parseInfo(String(await r.call('CLUSTER', 'INFO'))).cluster_state;
        if (state !== 'ok') {
          problems++;
          push(
            bad(
              `redis_node:${name}`,
              `Redis Cluster ${role} ${name} reports cluster_state ${state ?? 'unknown'}: some slots have no reachable primary, so chats of those shards stop — bring their primary or a replica back.`,
            ),
          );
        }
        if (!n.primary) return;
        const { policy, error } = await readEvictionPolicy(r);
        policies.set(name, policy ?? '');
        if (policy === null) {
          problems++;
          push(
            info(
              `redis_policy:${name}`,
              `Could not read maxmemory-policy of Redis Cluster primary ${name} (${error ?? 'no answer'}); make sure it is noeviction — BullMQ requires it.`,
            ),
          );
        } else if (policy !== SAFE_POLICY) {
          problems++;
          push(
            bad(
              `redis_policy:${name}`,
              `Redis Cluster primary ${name} has maxmemory-policy ${policy}: it may evict queued messages, and start refuses it; set "maxmemory-policy noeviction" on every node of the cluster.`,
            ),
          );
        }
        const mem = parseInfo(await r.info('memory'));
        const used = Number(mem.used_memory);
        const max = Number(mem.maxmemory);
        if (max > 0 && used >= max * 0.9) {
          problems++;
          push(
            bad(
              `redis_memory:${name}`,
              `Redis Cluster primary ${name} uses ${Math.round((used / max) * 100)}% of its maxmemory (${used} of ${max} bytes): ${used >= max ? 'it refuses writes now' : 'it will refuse writes soon'} — raise maxmemory or add primaries.`,
              used >= max,
            ),
          );
        }
      } catch (e) {
        problems++;
        push(bad(`redis_node:${name}`, `Redis Cluster ${role} ${name} answered with an error (${describeError(e)}).`, n.primary));
      } finally {
        r.disconnect();
      }
    }),
  );
  for (const p of nodes.filter((n) => n.primary && !n.slots))
    push(
      info(
        `redis_node:${p.host}:${p.port}`,
        `Redis Cluster primary ${p.host}:${p.port} holds no hash slots, so nothing of the connector lives there.`,
      ),
    );
  for (const p of primaries)
    if (!replicas.some((r) => r.primaryId === p.id))
      push(
        info(
          `redis_replica:${p.host}:${p.port}`,
          `Redis Cluster primary ${p.host}:${p.port} has no replica: if it fails, its slots (and the chats of their shards) stop until it is back.`,
        ),
      );
  if (problems === 0)
    push(
      ok(
        'redis',
        `Redis Cluster answers at ${where}: ${primaries.length} primaries and ${replicas.length} replicas, every node reachable with cluster_state ok, maxmemory-policy noeviction on every primary; the chats are spread over ${config.queueShards} shard(s).`,
      ),
    );
  return reachablePrimaries > 0;
}

async function checkRedis(config: Readonly<Config>, timeoutMs: number, push: (l: DoctorLine) => void): Promise<boolean> {
  if (config.redis.cluster) return checkRedisCluster(config, timeoutMs, push);
  const where = describeRedisTarget(config.redis);
  const redis = new Redis({
    ...redisOptions(config.redis),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    push(ok('redis', `Redis answers at ${where}.`));
  } catch (e) {
    push(bad('redis', `Redis does not answer at ${where} (${describeError(e)}): start it or fix REDIS_URL.`));
    redis.disconnect();
    return false;
  }
  const { policy, error } = await readEvictionPolicy(redis);
  if (policy === SAFE_POLICY) push(ok('redis_policy', 'Redis maxmemory-policy is noeviction (queued messages are never evicted).'));
  else if (policy !== null)
    push(
      bad(
        'redis_policy',
        `Redis maxmemory-policy is ${policy}: Redis may evict queued messages, and start refuses it; set "maxmemory-policy noeviction" (BullMQ requires it).`,
      ),
    );
  else
    push(
      info('redis_policy', `Could not read maxmemory-policy (${error ?? 'no answer'}); make sure it is noeviction — BullMQ requires it.`),
    );
  try {
    const w = await checkRedisWrites(redis, `${config.queuePrefix}:doctor:probe`);
    push(w.ok ? ok('redis_writes', w.detail) : bad('redis_writes', w.detail));
  } catch (e) {
    push(bad('redis_writes', `Redis refused a probe write (${describeError(e)}).`));
  }
  try {
    const [, aof] = await redis.config('GET', 'appendonly');
    const [, save] = await redis.config('GET', 'save');
    const rdb = typeof save === 'string' && save.trim() !== '';
    if (aof === 'yes') push(info('redis_persistence', `Redis persistence: AOF on${rdb ? ' and RDB snapshots' : ''}.`));
    else if (rdb)
      push(
        info(
          'redis_persistence',
          `Redis persistence: RDB snapshots only (${save}); a crash loses what arrived since the last one — "appendonly yes" is safer.`,
        ),
      );
    else push(info('redis_persistence', 'Redis persistence: off; a Redis restart loses queued messages — turn on "appendonly yes".'));
  } catch (e) {
    push(info('redis_persistence', `Could not read Redis persistence settings (${describeError(e)}).`));
  }
  if (!config.redis.cluster) {
    try {
      const mode = /cluster_enabled:1/.test(await redis.info('cluster'));
      if (mode)
        push(
          bad(
            'redis_cluster',
            `Redis runs as a Cluster but REDIS_CLUSTER_NODES is not set: list the nodes there (host:port,…); the chats' lanes are then spread over QUEUE_SHARDS shards.`,
          ),
        );
    } catch {
      /* INFO may be disabled; nothing to say */
    }
  }
  redis.disconnect();
  return true;
}

async function checkOnec(config: Readonly<Config>, timeoutMs: number, push: (l: DoctorLine) => void): Promise<void> {
  if (!config.onec.baseUrl || !config.onec.user) {
    push(bad('onec', 'ONEC_BASE_URL and ONEC_USER are not set: the connector cannot deliver to 1C.'));
    return;
  }
  const client = new OnecClient({
    baseUrl: config.onec.baseUrl,
    user: config.onec.user,
    password: config.onec.password,
    timeoutMs,
    maxSessions: 1,
  });
  try {
    const lic = await client.getLicenses();
    push(ok('onec', `1C answers at ${config.onec.baseUrl} and accepts the service user ${config.onec.user}.`));
    if (lic.free > 0) push(ok('onec_licenses', `1C licenses: ${lic.free} free of ${lic.total} (${lic.used} used).`));
    else
      push(
        bad(
          'onec_licenses',
          `1C licenses: none free of ${lic.total}; deliveries and operator logins wait for one — free a license or buy more.`,
          false,
        ),
      );
  } catch (e) {
    const code = e instanceof ConnectorError ? e.code : 'error';
    const what: Record<string, string> = {
      onec_unreachable: `1C is unreachable at ${config.onec.baseUrl}: check ONEC_BASE_URL and that the web server runs`,
      invalid_credentials: `1C refused the service user ${config.onec.user}: check ONEC_USER and ONEC_PASSWORD`,
      onec_not_published: `the 1C HTTP service is not published at ${config.onec.baseUrl} (404): publish the "chats" HTTP service or fix ONEC_BASE_URL`,
      onec_license_unavailable: '1C has no free license for the service user right now: free a license or buy more',
    };
    push(bad('onec', `${what[code] ?? `1C answered with an error at ${config.onec.baseUrl}`} (${describeError(e)}).`));
  } finally {
    await client.close().catch(() => undefined);
  }
}

function checkLicense(config: Readonly<Config>, hostId: string, keysDir: string | undefined, push: (l: DoctorLine) => void): void {
  const trustedKeys = loadTrustedKeys(keysDir);
  for (const sentence of trustedKeys.refused) push(bad('license_keys', sentence, false));
  const doc = checkLicenseFile(config.license.file, { trustedKeys, hostId, now: new Date() });
  if (!doc.valid) {
    push(
      bad(
        'license',
        `License document: ${doc.reason ?? 'not valid'} [${doc.code}] — set LICENSE_FILE to the document your vendor signed for this host (${hostId}).`,
      ),
    );
    return;
  }
  const p = doc.payload;
  push(ok('license', `License document ${p?.id ?? ''} for ${p?.licensee ?? '?'} is valid${p?.expiresAt ? ` until ${p.expiresAt}` : ''}.`));
  const f42 = doc.features[42];
  if (chatModuleGranted(doc)) push(ok('feature_42', `Feature ${featureLabel(42)} is granted to this host.`));
  else
    push(
      bad(
        'feature_42',
        `Feature ${featureLabel(42)} is ${f42.state.replace('_', ' ')} for this host (${hostId}): ${f42.reason ?? ''} Ask your vendor for a license bound to this host id.`,
      ),
    );
  const seats = SEAT_FEATURES.map((f) => `${f}: ${doc.features[f].granted}`).join(', ');
  push(info('seats', `Operator seats granted — ${seats}.`));
}

async function checkBot(config: Readonly<Config>, token: string, timeoutMs: number, push: (l: DoctorLine) => void): Promise<void> {
  const id = botIdOfToken(token);
  const api = new Api(token, { apiRoot: config.telegram.apiRoot, timeoutSeconds: Math.ceil(timeoutMs / 1000) });
  try {
    const me = await api.getMe();
    push(ok(`telegram:${id}`, `Telegram bot @${me.username} (id ${id}) answers getMe.`));
    if (config.telegram.mode === 'polling') {
      const wh = await api.getWebhookInfo();
      if (wh.url)
        push(
          bad(
            `telegram:${id}:webhook`,
            `Telegram bot @${me.username} has a webhook set, so polling gets 409: run with TELEGRAM_MODE=webhook or delete the webhook (deleteWebhook).`,
          ),
        );
    }
  } catch (e) {
    if (e instanceof GrammyError && (e.error_code === 401 || e.error_code === 404)) {
      push(
        bad(
          `telegram:${id}`,
          `Telegram rejected the token of bot ${id} (${e.error_code}): get a valid token from @BotFather and fix TELEGRAM_BOT_TOKENS.`,
        ),
      );
    } else if (e instanceof HttpError) {
      push(
        bad(
          `telegram:${id}`,
          `Telegram Bot API is unreachable at ${config.telegram.apiRoot} for bot ${id}: check the network or TELEGRAM_API_ROOT.`,
        ),
      );
    } else {
      push(bad(`telegram:${id}`, `Telegram getMe failed for bot ${id}: ${describeError(e)}`));
    }
  }
}

async function checkWhatsapp(
  config: Readonly<Config>,
  redisOk: boolean,
  timeoutMs: number,
  push: (l: DoctorLine) => void,
  whatsappKeys: ((account: string) => { creds: string; state: string }) | undefined,
): Promise<void> {
  if (!whatsappKeys) {
    for (const a of config.whatsapp.accounts) push(info(`whatsapp:${a}`, `WhatsApp account ${a}: pairing not checked here.`));
    return;
  }
  if (!redisOk) {
    for (const a of config.whatsapp.accounts) push(bad(`whatsapp:${a}`, `WhatsApp account ${a}: unknown, Redis does not answer.`));
    return;
  }
  // createRedis: a Cluster client on a Cluster (the account keys live on the deployment's slot).
  const redis = createRedis({
    url: config.redis,
    name: 'chat-connector-doctor',
    extra: { maxRetriesPerRequest: 1, connectTimeout: timeoutMs, retryStrategy: () => null },
  });
  try {
    for (const a of config.whatsapp.accounts) {
      // the runner's last state (written by whichever instance runs the account)
      const stRaw = await redis.get(whatsappKeys(a).state);
      const st = stRaw ? (JSON.parse(stRaw) as { state?: string; lastError?: string | null; since?: string }) : null;
      const needsPerson: Record<string, string> = {
        logged_out: 'was logged out by WhatsApp; pair it again',
        replaced: 'was taken over by another client (replaced); make sure only one instance runs, then request a QR code to reconnect',
        waiting_for_pairing: 'waits for pairing (nobody scanned the QR codes); request a QR code or a pairing code',
        outdated_version: 'is refused by WhatsApp for an outdated protocol version (405); set WHATSAPP_VERSION or upgrade the connector',
        forbidden: 'is refused by WhatsApp (403: banned or restricted); check the phone',
        error: 'stopped on an error',
      };
      if (st?.state && needsPerson[st.state]) {
        push(
          bad(
            `whatsapp:${a}`,
            `WhatsApp account ${a} ${needsPerson[st.state]} (state ${st.state} since ${st.since ?? '?'}${st.lastError ? `: ${st.lastError}` : ''}).`,
          ),
        );
        continue;
      }
      const raw = await redis.get(whatsappKeys(a).creds);
      if (raw === null) {
        push(
          bad(`whatsapp:${a}`, `WhatsApp account ${a} is not paired (no credentials in Redis): run "chat-connector whatsapp pair ${a}".`),
        );
        continue;
      }
      const registered = /"registered"\s*:\s*true/.test(raw) || /"me"\s*:\s*\{/.test(raw);
      if (registered) push(ok(`whatsapp:${a}`, `WhatsApp account ${a} is paired (credentials stored in Redis).`));
      else
        push(
          bad(`whatsapp:${a}`, `WhatsApp account ${a} has started pairing but is not linked yet: run "chat-connector whatsapp pair ${a}".`),
        );
    }
  } finally {
    redis.disconnect();
  }
}

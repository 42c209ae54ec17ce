/**
 * The composition root: builds the connector from a validated Config. The only file that
 * knows every module; each module knows only its own options. Feature modules contribute
 * through `ConnectorFeature` (routes, start/stop, readiness, gate reaction) and get only the
 * services they name (src/features/feature-contract.ts), so this file stays a list of parts
 * and the order they start and stop in.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.ts';
import { secretsOf } from './config/secrets.ts';
import {
  describeError,
  DEFAULT_LANGUAGE,
  type AccountPolicy,
  type AccountRunner,
  type ChannelConnector,
  type StatusEvent,
  type StatusSink,
} from './core/index.ts';
import type { OperatorAccess } from './core/index.ts';
import {
  ALL_ROLES,
  contextFor,
  type ConnectorFeature,
  type FeatureModule,
  type FeatureServices,
  type Role,
} from './features/feature-contract.ts';
import { ConnectorBus } from './connector-bus.ts';
import { createLogger, type AppLogger } from './infra/logger.ts';
import { healthRoutes, type ReadyCheck } from './http/routes/health-routes.ts';
import { mediaRoutes } from './http/routes/media-routes.ts';
import { licenseRoutes } from './http/routes/license-routes.ts';
import { accountRoutes } from './http/routes/account-routes.ts';
import { telegramWebhookRoutes } from './http/routes/telegram-webhook-routes.ts';
import { whatsappRoutes } from './http/routes/whatsapp-routes.ts';
import { computeHostId } from './licensing/host-id.ts';
import { LicenseGate, type LicenseGateState } from './licensing/license-gate.ts';
import { licenseReporter } from './licensing/license-report.ts';
import { SeatManager } from './licensing/seats.ts';
import { FileMediaStore } from './media/file-media-store.ts';
import { MediaFetcher } from './media/media-fetch.ts';
import { OnecClient, type OnecDelivery } from './onec/onec-client.ts';
import { OnecPullService } from './pull/onec-pull-service.ts';
import { pullHealth } from './pull/pull-health.ts';
import { UpdateLogDrainer } from './pull/update-log-drainer.ts';
import { onecPullRoutes } from './http/routes/onec-pull-routes.ts';
import { UpdateLog } from './lanes/update-log.js';
import { createTelegramConnector } from './channels/telegram/telegram-connector.ts';
import { RedisBusinessConnectionStore } from './channels/telegram/inbound-business-connections.ts';
import { AccountSupervisor } from './coordination/account-supervisor.js';
import { InboundPipeline, type InboundObserver, type InboundRouter } from './lanes/inbound-pipeline.js';
import { RedisSessionPermits } from './coordination/onec-session-permits.js';
import { bullConnectionFor, createRedis, describeRedisTarget } from './redis/redis-connection.js';
import { checkShardLayout } from './lanes/shard-layout.ts';
import { checkRedisWrites, REDIS_FULL_RETRY_AFTER_S } from './infra/redis-memory.ts';
import { RetryPolicy } from './lanes/retry-policy.js';
import { withTelegramUsers, wireTelegramUsers, type TdClientFactory } from './telegram-user-wiring.ts';

export { ALL_ROLES, type Role };

/**
 * Inbound batches prepared or in flight per 1C session (issue 19: pipelining): while one call
 * is in flight the next batches are read and routed, several Redis round trips each, which
 * take longer than a short call — so small batches need more of them ready (4 at the default
 * 100), large ones (a longer call, more memory each) fewer (2 at 500): about 1 000 messages.
 */
export function batchesPerSession(batchMax: number): number {
  return Math.min(4, Math.max(2, Math.floor(1000 / batchMax)));
}

/**
 * The services as the composition root holds them (tests, the CLI): what features may ask for,
 * with the concrete classes behind them. A feature sees only the part it names.
 */
export interface ConnectorContext extends FeatureServices {
  onec: OnecClient;
  seats: SeatManager;
  gate: LicenseGate;
  inbound: InboundPipeline;
  media: FileMediaStore;
  bus: ConnectorBus;
  updateLog: UpdateLog;
}

export interface ConnectorOptions {
  roles?: readonly Role[];
  logger?: AppLogger;
  /** Overrides for tests, demo and bench. */
  router?: InboundRouter;
  inboundObserver?: InboundObserver;
  retryPolicy?: RetryPolicy;
  lockMs?: number;
  sweepIntervalMs?: number;
  /** Feature modules, each built from the services it names (outbound, operators, metrics…). */
  features?: FeatureModule[];
  /** Host id override (tests). */
  hostId?: string;
  /**
   * Where the trusted vendor license keys are (default: the package's `keys/license/`).
   * Code only — the demo, tests and bench pass a throwaway key's directory; no
   * configuration can (licensing.md, "Trusted keys").
   */
  trustedKeysDir?: string;
  /** Opens a Telegram user account's TDLib client instead of the real TDLib (tests, demo). */
  telegramUserClient?: TdClientFactory;
  /** First back-off after a failed ingest of a Telegram user account (tests). */
  telegramUserBackoffMs?: number;
}

export interface Connector {
  ctx: ConnectorContext;
  app: FastifyInstance | null;
  /** The address the HTTP API listens on, once started. */
  url: string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): Promise<ReadyCheck[]>;
}

export async function createConnector(config: Readonly<Config>, opts: ConnectorOptions = {}): Promise<Connector> {
  const roles = new Set<Role>(opts.roles ?? ALL_ROLES);
  const logger =
    opts.logger ??
    createLogger({
      level: config.logLevel,
      secrets: secretsOf(config),
    });
  const instanceId = `${hostname()}-${process.pid}`;
  const redis = createRedis({
    url: config.redis,
    name: 'chat-connector',
    logger,
    waitReplicas: config.redis.waitReplicas
      ? { count: config.redis.waitReplicas, timeoutMs: config.redis.waitTimeoutMs, probeKey: `${config.queuePrefix}:replication-probe` }
      : undefined,
  });
  const bullConnection = bullConnectionFor(config.redis, redis);

  const hostId = opts.hostId ?? computeHostId();
  const gate = new LicenseGate({
    file: config.license.file,
    trustedKeysDir: opts.trustedKeysDir,
    hostId,
    logger: logger.child({ component: 'license' }),
  });
  const seats = new SeatManager({ redis, prefix: config.queuePrefix, ttlS: config.seatTtlS });

  // A dead process's session lives on in 1C for sessionMaxAge; its permit must too.
  const permits = new RedisSessionPermits({
    redis,
    prefix: config.queuePrefix,
    max: config.onec.maxSessions,
    holdTtlMs: config.onec.sessionMaxAgeS * 1000 + 2_000,
  });
  const onec = new OnecClient({
    baseUrl: config.onec.baseUrl ?? 'http://127.0.0.1:1/not-configured',
    user: config.onec.user,
    password: config.onec.password,
    timeoutMs: config.onec.timeoutMs,
    maxSessions: config.onec.maxSessions,
    batchMax: config.onec.batchMax,
    idleFinishMs: config.onec.idleFinishMs,
    sessionMaxAgeMs: config.onec.sessionMaxAgeS * 1000,
    permits,
    logger: logger.child({ component: 'onec' }),
  });

  // 1C's health as seen by deliveries: advisory in /readyz (queued messages wait safely).
  let lastOnecError: string | null = null;
  const base = opts.inboundObserver;
  const bus = new ConnectorBus((event, err) => logger.error({ event, err: describeError(err) }, `a handler of ${event} failed`));
  const observer: InboundObserver = {
    ...base,
    delivered: (m) => {
      lastOnecError = null;
      base?.delivered?.(m);
      bus.emit('inbound.delivered', { messages: m }).catch(() => undefined);
    },
    retry: (k, e) => {
      lastOnecError = `1C deliveries are failing: ${describeError(e)}`;
      base?.retry?.(k, e);
    },
  };

  // Pull mode: the lanes hand off into the update log. Push mode: the drainer first pushes
  // what a pull-mode run left unacknowledged, and the push sinks wait for it (order).
  const updateLog = new UpdateLog({ redis, prefix: config.queuePrefix });
  const pullLog = config.onec.mode === 'pull' ? updateLog : null;
  let drainer: UpdateLogDrainer | null = null;
  const onecPush: OnecDelivery = {
    deliverMessages: (m) => (drainer ? drainer.gate(onec).deliverMessages(m) : onec.deliverMessages(m)),
    deliverStatuses: (e) => (drainer ? drainer.gate(onec).deliverStatuses(e) : onec.deliverStatuses(e)),
    deliverRouting: (e) => (drainer ? drainer.gate(onec).deliverRouting(e) : onec.deliverRouting(e)),
  };

  const media = new FileMediaStore({
    dir: config.mediaDir,
    maxBytes: config.mediaMaxBytes,
    publicUrl: config.http.publicUrl,
    retentionDays: config.mediaRetentionDays,
    fetcher: new MediaFetcher({ maxBytes: config.mediaMaxBytes, timeoutMs: config.mediaFetchTimeoutMs, allow: config.outboundMediaAllow }),
  });
  const inbound = new InboundPipeline({
    redis,
    bullConnection,
    prefix: config.queuePrefix,
    shards: config.queueShards,
    deliverer: onecPush,
    updateLog: pullLog,
    router: opts.router,
    batchMax: config.onec.batchMax,
    concurrency: config.workerConcurrency,
    batchesInFlight: (config.onec.maxSessions + 1) * batchesPerSession(config.onec.batchMax),
    lockMs: opts.lockMs ?? config.laneLockMs,
    sweepIntervalMs: opts.sweepIntervalMs ?? config.laneSweepMs,
    retryPolicy: opts.retryPolicy,
    observer,
    logger: logger.child({ component: 'inbound' }),
  });
  if (!pullLog)
    drainer = new UpdateLogDrainer({
      log: updateLog,
      redis,
      prefix: config.queuePrefix,
      onec,
      inbound,
      batchMax: config.onec.batchMax,
      retryPolicy: opts.retryPolicy,
      logger,
    });

  // Account settings (language, may write first) reach the channels through this holder: the
  // settings feature installs the policy once features are built; until then, the defaults.
  let accountPolicy: AccountPolicy | null = null;
  const language = (account: string) => (accountPolicy ? accountPolicy.language(account) : Promise.resolve(DEFAULT_LANGUAGE));
  const mayWriteFirst = async (account: string): Promise<boolean> =>
    (await accountPolicy?.mayWriteFirst(account)) ?? config.whatsapp.mayWriteFirst.includes(account);
  const telegram = config.telegram.tokens.length
    ? createTelegramConnector({
        language,
        tokens: config.telegram.tokens,
        apiRoot: config.telegram.apiRoot,
        mode: config.telegram.mode,
        webhookUrl: config.telegram.webhookUrl,
        webhookSecret: config.telegram.webhookSecret,
        mediaStore: media,
        logger: logger.child({ channel: 'telegram' }),
        businessStore: new RedisBusinessConnectionStore(redis, config.queuePrefix),
      })
    : null;
  let operatorAccess: OperatorAccess | null = null;
  // Channels report receipts here; the outbound feature decides where they go.
  let statusSink: StatusSink | null = null;
  const statusRelay: StatusSink = {
    report: async (events: StatusEvent[]) => {
      if (!statusSink) throw new Error('no status sink installed yet; the channel retries');
      await statusSink.report(events);
    },
  };
  // Baileys costs ~60 MB of memory: loaded only where WhatsApp accounts are configured.
  const whatsapp = config.whatsapp.accounts.length
    ? (await import('./channels/whatsapp/whatsapp-connector.ts')).createWhatsappConnector({
        accounts: config.whatsapp.accounts,
        redis,
        prefix: config.queuePrefix,
        mediaStore: media,
        statusSink: statusRelay,
        logger: logger.child({ channel: 'whatsapp' }),
        minIntervalMs: config.whatsapp.minIntervalMs,
        fetchVersion: true,
        version: config.whatsapp.version,
        language,
        firstContact: {
          mayWriteFirst,
          perHour: config.whatsapp.firstContactPerHour,
          perDay: config.whatsapp.firstContactPerDay,
        },
      })
    : null;
  // Telegram user accounts (TDLib): runners under `tgu:<account>`, sends of `tgu:` chats, login routes.
  const tgUsers = wireTelegramUsers({
    config,
    redis,
    media,
    statusSink: statusRelay,
    logger,
    chatType: (k) => inbound.chatType(k),
    openClient: opts.telegramUserClient,
    backoffMinMs: opts.telegramUserBackoffMs,
    mayWriteFirst,
    language,
  });
  const channels: ChannelConnector[] = [withTelegramUsers(telegram, tgUsers?.connector ?? null), whatsapp].filter(
    (c): c is NonNullable<typeof c> => c !== null,
  );
  const runners: AccountRunner[] = channels.flatMap((c) => c.runners());
  const supervisor = new AccountSupervisor({ redis, prefix: config.queuePrefix, sink: inbound, runners, instanceId, logger });

  const ctx: ConnectorContext = {
    config,
    logger,
    redis,
    instanceId,
    onec,
    seats,
    gate,
    inbound,
    media,
    channels,
    roles,
    bus,
    setInboundRouter: (r) => inbound.setRouter(r),
    setStatusSink: (s) => {
      statusSink = s;
    },
    accounts: () => supervisor.states(),
    updateLog,
    pullLog,
    onecPush,
    setAccountPolicy: (p) => {
      accountPolicy = p;
    },
    mayWriteFirst,
    setOperatorAccess: (a) => {
      operatorAccess = a;
    },
    operatorAccess: () => operatorAccess,
  };
  const features: ConnectorFeature[] = [];
  for (const f of opts.features ?? []) features.push(await f.create(contextFor(ctx, f.needs)));

  const readiness = async (): Promise<ReadyCheck[]> => {
    const checks: ReadyCheck[] = [];
    const redisOk = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
    ]);
    checks.push({
      name: 'redis',
      ok: redisOk,
      detail: redisOk ? 'Redis answers.' : `Redis does not answer at ${describeRedisTarget(config.redis)}.`,
    });
    // A full Redis under noeviction refuses every write: nothing new can be queued (issue 11 item 5).
    if (redisOk) checks.push(await redisWritesCheck(redis, `${config.queuePrefix}:readyz:probe:${instanceId}`));
    const lic = gate.state();
    checks.push({
      name: 'chat_module',
      ok: lic.chatsLicensed,
      detail: lic.chatsLicensed ? 'Feature 42 is granted to this host; the chat module runs.' : `The chat module is off: ${lic.reason}`,
    });
    checks.push({ name: 'onec', ok: lastOnecError === null, advisory: true, detail: lastOnecError ?? '1C answered the last call.' });
    for (const a of supervisor.states()) {
      const ok = a.state === 'open' || a.state === 'standby';
      checks.push({
        name: `account:${a.channel}:${a.account}`,
        ok,
        advisory: !lic.chatsLicensed,
        detail: `${a.channel} ${a.account}: ${a.state}${a.lastError ? ` (${a.lastError})` : ''}`,
      });
    }
    if (pullLog) {
      const h = await updateLog.stats().then(
        (st) => pullHealth(st, Date.now(), config.onec.pullStaleS),
        (err: unknown) => ({ ok: false, detail: `Pull mode: the update log cannot be read (${describeError(err)}).` }),
      );
      checks.push({ name: 'onec_pull', ok: h.ok, advisory: true, detail: h.detail });
    }
    for (const f of features) if (f.readiness) checks.push(...(await f.readiness()));
    return checks;
  };
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  let licensed = false;

  const applyLicense = async (st: LicenseGateState) => {
    const on = st.chatsLicensed;
    if (on === licensed) return;
    licensed = on;
    if (roles.has('inbound')) await (on ? inbound.resume() : inbound.pause());
    if (on) drainer?.start();
    else drainer?.stop();
    if (roles.has('channels')) await supervisor.setEnabled(on);
    for (const f of features) await f.onLicense?.(on);
    await bus.emit('license.applied', { licensed: on });
  };
  const onGate = (st: LicenseGateState) => {
    applyLicense(st).catch((err) => logger.error({ err: describeError(err) }, 'could not apply the license change'));
  };

  return {
    ctx,
    get app() {
      return app;
    },
    get url() {
      return url;
    },
    readiness,
    async start() {
      licensed = false;
      // HTTP first: /healthz and /readyz answer (and say what is wrong) while Redis or 1C
      // are still unreachable and the rest waits for them.
      if (roles.has('http')) {
        // Loaded only by a process that serves HTTP: fastify, the API docs and their
        // dependencies are code a queue worker would carry in memory for nothing (issue 19).
        const { buildHttpApp } = await import('./http/app.ts');
        app = await buildHttpApp({
          apiToken: config.apiToken,
          admin: config.admin,
          logger,
          plugins: [
            healthRoutes({ readiness, apiToken: config.apiToken }),
            mediaRoutes({ media }),
            licenseRoutes({ report: licenseReporter({ check: () => gate.state().document, seats }) }),
            accountRoutes({
              // Telegram Business connections are accounts of their own, learned from updates.
              accounts: async () => [...supervisor.states(), ...(telegram ? await telegram.businessAccounts() : [])],
              holders: () => supervisor.holders(),
            }),
            onecPullRoutes(new OnecPullService(updateLog, inbound)),
            ...(telegram ? [telegramWebhookRoutes({ telegram, licensed: () => licensed })] : []),
            ...(whatsapp ? [whatsappRoutes({ runner: (a: string) => whatsapp.runner(a) })] : []),
            ...(tgUsers ? [tgUsers.routes] : []),
            ...features.flatMap((f) => (f.routes ? [f.routes] : [])),
          ],
        });
        url = await app.listen({ host: config.http.host, port: config.http.port });
        logger.info({ url }, `HTTP API listening on ${url}`);
      }
      // Learn the bots' usernames (getMe) so the API can tell known accounts on every instance.
      if (telegram) await telegram.discoverAccounts();
      // Webhook mode: every instance takes deliveries (licensed, idempotent by update id).
      telegram?.acceptWebhookUpdates(inbound);
      // Before any lane starts: a changed QUEUE_SHARDS is refused while the old layout holds work.
      const layout = await checkShardLayout(redis, config.queuePrefix, config.queueShards);
      if (layout.changed && layout.previous !== config.queueShards)
        logger.info(
          { from: layout.previous, to: config.queueShards },
          `queue shards changed from ${layout.previous} to ${config.queueShards} (nothing was waiting)`,
        );
      if (roles.has('inbound')) {
        await inbound.start();
        // Paused until the gate says otherwise: queued work waits, nothing fails.
        await inbound.pause();
      }
      for (const f of features) await f.start?.();
      if (roles.has('channels')) supervisor.start();
      media.startRetention((err) => logger.warn({ err: describeError(err) }, 'media retention sweep failed; it runs again later'));
      gate.on('change', onGate);
      await applyLicense(gate.state());
    },
    async stop() {
      gate.off('change', onGate);
      media.stopRetention();
      drainer?.stop();
      updateLog.close();
      if (app) await app.close().catch(() => undefined);
      await supervisor.close();
      await inbound.stop();
      for (const f of [...features].reverse())
        await f.stop?.().catch((err) => logger.warn({ feature: f.name, err: describeError(err) }, 'feature stop failed'));
      await inbound.close();
      await onec.close().catch(() => undefined);
      await gate.close();
      redis.disconnect();
    },
  };
}

async function redisWritesCheck(redis: Redis, probeKey: string): Promise<ReadyCheck> {
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 1 s')), 1_000).unref());
    const h = await Promise.race([checkRedisWrites(redis, probeKey), timeout]);
    return { name: 'redis_writes', ok: h.ok, detail: h.detail, ...(h.ok ? {} : { retryAfterS: REDIS_FULL_RETRY_AFTER_S }) };
  } catch (e) {
    return {
      name: 'redis_writes',
      ok: false,
      detail: `Redis refused a probe write: ${describeError(e)}.`,
      retryAfterS: REDIS_FULL_RETRY_AFTER_S,
    };
  }
}

/**
 * The operators feature: chat login with a momentary 1C license, chat routing to
 * operators, and the operator live feed (issue "Operator chat login…").
 *
 * ```ts
 * const connector = await createConnector(config, { features: [operatorsFeature({ rulesFile: 'routing.yaml' })] });
 * ```
 * It installs the routing module's InboundRouter, listens on the bus (`inbound.delivered`
 * → feed, `outbound.accepted` → ownership, `outbound.status` → feed), drives the `routing`
 * lane to 1C (in the `inbound` role), and at start finishes 1C login sessions a crashed
 * process left open (then every `orphanSweepMs`).
 */
import { bullConnectionFor } from '../redis/redis-connection.js';
import { describeError } from '../core/index.ts';
import { defineFeature, type ConnectorFeature, type FeatureModule } from '../features/feature-contract.ts';
import { chatRoutes } from '../http/routes/chat-routes.ts';
import { operatorRoutes } from '../http/routes/operator-routes.ts';
import { ChatRouting, type RoutingEvent } from '../routing/chat-routing.ts';
import { RoutingLane } from '../routing/routing-lane.ts';
import { FeedFanout } from './feed-fanout.ts';
import { LicenseAdmission } from './license-admission.ts';
import { LoginService } from './login-service.ts';
import { LoginSessionJournal } from './login-sessions.ts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { chatActions } from './chat-actions.ts';
import { OperatorFeed } from './operator-feed.ts';
import { operatorAccess } from './operator-access.ts';
import { OperatorStore } from './operator-store.ts';

export interface OperatorsFeatureOptions {
  /** Keyword rules file (JSON or YAML); loaded into Redis at start when it changed. Default none. */
  rulesFile?: string | null;
  /** Group of a new chat no rule matched (default `default`). */
  defaultGroup?: string;
  /** Retry-After of `503 onec_license_unavailable` (default 5 000 ms). */
  retryAfterMs?: number;
  /** How long a positive `GET /licenses` answer is used when idle (default 5 000 ms). */
  licenseProbeTtlMs?: number;
  /** How often crashed processes' 1C login sessions are looked for (default 10 000 ms; 0 = only at start). */
  orphanSweepMs?: number;
  /** Liveness key lifetime of this instance's login journal (default 15 000 ms). */
  journalAliveMs?: number;
  /** Most entries kept per operator feed (default 10 000). */
  feedMaxLen?: number;
  /** SSE heartbeat comment interval (default 15 000 ms). */
  feedHeartbeatMs?: number;
  /** Routing lane timings (tests). */
  laneLockMs?: number;
  laneSweepIntervalMs?: number;
  /** The operators' clock: token lifetimes and the login throttle (tests move it; default Date.now, and Redis TIME for the throttle). */
  clock?: () => number;
  /** Login throttle settings beyond OPERATOR_LOGIN_QUEUE_MAX (tests; defaults in login-throttle.ts). */
  throttle?: Partial<Omit<LoginThrottleOptions, 'redis' | 'prefix' | 'now'>>;
}

/** The feature plus its parts (tests, benchmarks). */
export interface OperatorsFeature extends ConnectorFeature {
  login: LoginService;
  routing: ChatRouting;
  feed: OperatorFeed;
  store: OperatorStore;
  journal: LoginSessionJournal;
  admission: LicenseAdmission;
  lane: RoutingLane;
  throttle: LoginThrottle;
}

const NEEDS = [
  'config',
  'logger',
  'redis',
  'instanceId',
  'roles',
  'bus',
  'onec',
  'onecPush',
  'pullLog',
  'gate',
  'seats',
  'setInboundRouter',
  'setOperatorAccess',
] as const;

export function operatorsFeature(opts: OperatorsFeatureOptions = {}): FeatureModule<(typeof NEEDS)[number], OperatorsFeature> {
  return defineFeature(NEEDS, (ctx) => {
    const { config, redis } = ctx;
    const prefix = config.queuePrefix;
    const log = ctx.logger.child({ component: 'operators' });
    const store = new OperatorStore({
      redis,
      prefix,
      ttlMs: config.seatTtlS * 1000,
      maxAgeMs: config.operatorTokenMaxAgeS * 1000,
      now: opts.clock,
    });
    const journal = new LoginSessionJournal({ redis, prefix, instanceId: ctx.instanceId, aliveMs: opts.journalAliveMs, logger: log });
    const admission = new LicenseAdmission({
      redis,
      prefix,
      onec: ctx.onec,
      openLoginSessions: () => journal.count(),
      holdTtlMs: config.onec.timeoutMs * 3 + 5_000,
      waiterTtlMs: config.onec.timeoutMs * 2 + 5_000,
      probeTtlMs: opts.licenseProbeTtlMs,
      logger: log,
    });
    const feed = new OperatorFeed({ redis, prefix, maxLen: opts.feedMaxLen, heartbeatMs: opts.feedHeartbeatMs, logger: log });
    const throttle = new LoginThrottle({
      redis,
      prefix,
      maxPending: config.operatorLoginQueueMax,
      // A place outlives the longest login: the wait for a license plus a 1C session's calls.
      holdMs: config.onec.authWaitMs + config.onec.timeoutMs * 3 + 5_000,
      queueRetryAfterMs: opts.retryAfterMs,
      ...opts.throttle,
      now: opts.clock,
    });
    const login = new LoginService({
      gate: ctx.gate,
      seats: ctx.seats,
      onec: ctx.onec,
      store,
      journal,
      admission,
      authWaitMs: config.onec.authWaitMs,
      retryAfterMs: opts.retryAfterMs,
      throttle,
      feed,
      normalizeUser: (u) => ctx.seats.normalize(u),
      logger: log,
    });
    const fanout = new FeedFanout({ feed, groupMembers: (g) => store.groupMembers(g) });
    const lane = new RoutingLane({
      redis,
      bullConnection: bullConnectionFor(config.redis, redis),
      prefix,
      onec: ctx.onecPush,
      updateLog: ctx.pullLog,
      batchMax: config.onec.batchMax,
      lockMs: opts.laneLockMs,
      sweepIntervalMs: opts.laneSweepIntervalMs,
      logger: log,
    });
    const defaultGroup = opts.defaultGroup ?? 'default';
    const routing = new ChatRouting({
      redis,
      prefix,
      defaultGroup,
      isOnline: (op) => store.isOnline(op),
      // The routing scripts put each event in the lane themselves (outbox); this only starts delivery.
      kick: (chatId, seq) => lane.kick(chatId, seq),
      onEvents: async (events: RoutingEvent[], { fresh }) => {
        if (!fresh) return;
        await fanout.routing(events).catch((err) => log.warn({ err: describeError(err) }, 'could not publish routing events to the feed'));
        await ctx.bus.emit('routing.events', { events: events.map((e) => ({ ...e })) });
      },
    });
    ctx.setInboundRouter(routing);
    ctx.setOperatorAccess(operatorAccess({ routing, login, apiToken: config.apiToken }));

    const runsLane = ctx.roles.has('inbound');
    const unsubscribe: (() => void)[] = [];
    let sweepTimer: NodeJS.Timeout | null = null;
    const sweepOrphans = () =>
      journal
        .finishOrphans((id) => ctx.onec.finishOrphanSession(id))
        .catch((err) => log.warn({ err: describeError(err) }, 'orphaned 1C login sessions could not be checked'));

    return {
      name: 'operators',
      login,
      routing,
      feed,
      store,
      journal,
      admission,
      lane,
      throttle,
      routes: async (app) => {
        await app.register(operatorRoutes({ login, feed, panelUserHeader: config.panel.userHeader }));
        await app.register(chatRoutes(chatActions({ routing, store, login, apiToken: config.apiToken, defaultGroup })));
      },
      async start() {
        await journal.start();
        // Not awaited: a 1C that is down must not hold up the start; the sweep repeats.
        void sweepOrphans();
        const every = opts.orphanSweepMs ?? 10_000;
        if (every > 0) {
          sweepTimer = setInterval(() => {
            void sweepOrphans();
          }, every);
          sweepTimer.unref();
        }
        const rulesFile = opts.rulesFile === undefined ? ctx.config.routingRulesFile : opts.rulesFile;
        if (rulesFile) {
          const installed = await routing.loadRulesFile(rulesFile);
          log.info(
            { file: rulesFile, installed },
            installed ? 'routing rules loaded from the file' : 'routing rules file unchanged; keeping the current rules',
          );
        }
        unsubscribe.push(
          ctx.bus.on('inbound.delivered', ({ messages }) => fanout.messages(messages)),
          ctx.bus.on('outbound.accepted', async ({ message }) => {
            // `system` (auto-replies) never owns a chat.
            if (message.operatorId && message.operatorId !== 'system') await routing.claim(message.chatId, message.operatorId);
          }),
          ctx.bus.on('outbound.status', (p) => fanout.status(p)),
        );
        if (runsLane) {
          await lane.start();
          if (!ctx.gate.state().chatsLicensed) await lane.pause();
        }
      },
      async stop() {
        for (const u of unsubscribe.splice(0)) u();
        if (sweepTimer) clearInterval(sweepTimer);
        sweepTimer = null;
        feed.closeAll();
        await lane.close();
        await journal.stop();
      },
      async onLicense(licensed) {
        if (!runsLane) return;
        await (licensed ? lane.resume() : lane.pause());
      },
      async readiness() {
        const open = await journal.count().catch(() => -1);
        return [
          { name: 'operator_logins', ok: true, advisory: true, detail: `1C login sessions open now: ${open < 0 ? 'unknown' : open}.` },
        ];
      },
    };
  });
}

/**
 * The settings feature: the settings API (src/http/routes/settings-routes.ts), seeding from
 * ACCOUNT_SETTINGS_FILE at start, and the auto-replies (auto-replies.ts) that act on them.
 *
 * Auto-replies listen to `inbound.delivered` on the bus: they go out once 1C has the
 * customer's message (so 1C shows the message, then the `system` reply, which reaches 1C as
 * an `outgoing` chat message of sender `system`), and their ids are derived from the
 * message, so a redelivery or a second instance makes no second reply.
 *
 * It also installs the account policy (ctx.setAccountPolicy): the channels' `service` notes
 * follow the account's `language`, and `mayWriteFirst` decides who may be written to first.
 */
import { defineFeature, type ConnectorFeature, type FeatureModule } from '../features/feature-contract.ts';
import { describeError, type InboundMessage, type OutboundMessage } from '../core/index.ts';
import { settingsRoutes } from '../http/routes/settings-routes.ts';
import { AllBusyWatch } from './all-busy.ts';
import { AutoReplies } from './auto-replies.ts';
import type { ChatRouting } from '../routing/chat-routing.ts';
import { RoundRobin } from './round-robin.ts';
import { dutyTarget, type NewChatTarget, type Presence } from './duty-routing.ts';
import { SettingsStore } from './settings-store.ts';

export interface SettingsFeatureOptions {
  /** Overrides ACCOUNT_SETTINGS_FILE (tests; null: none). */
  settingsFile?: string | null;
  /** The clock of every time rule (tests move it; default Date.now). */
  now?: () => number;
  /**
   * Accepts a `system` outbound message (OutboundService.submit: stored once by id, sent in
   * the chat's order). Without it auto-replies are off in this process.
   */
  submit?: () => ((m: OutboundMessage) => Promise<unknown>) | null;
  /**
   * Routing and presence of the operators feature (features.ts wires them): the duty
   * operator/group is installed as the routing's `newChatTarget`.
   */
  routing?: () => {
    presence: Presence;
    routing: Pick<ChatRouting, 'transfer' | 'state'>;
    setNewChatTarget(fn: (first: InboundMessage, group: string) => Promise<NewChatTarget>): void;
  } | null;
  /** How often chats waiting in the queue are checked for the "all busy" reply (default 15 000 ms; 0: never). */
  allBusyCheckMs?: number;
  /** How often chats of operators who left are returned and round-robin queues refilled (default 15 000 ms; 0: never). */
  assignCheckMs?: number;
}

export interface SettingsFeature extends ConnectorFeature {
  store: SettingsStore;
  autoReplies: AutoReplies;
  allBusy: AllBusyWatch;
  /** Round-robin assignment (null until started with the routing of the operators feature). */
  readonly roundRobin: RoundRobin | null;
}

const NEEDS = ['config', 'logger', 'redis', 'bus', 'inbound', 'setAccountPolicy', 'mayWriteFirst'] as const;

export function settingsFeature(opts: SettingsFeatureOptions = {}): FeatureModule<(typeof NEEDS)[number], SettingsFeature> {
  return defineFeature(NEEDS, (ctx) => {
    const store = new SettingsStore({ redis: ctx.redis, prefix: ctx.config.queuePrefix });
    const log = ctx.logger.child({ component: 'settings' });
    // Channels write their `service` notes in the account's language; the outbound API and the
    // WhatsApp send gate ask whether the account may write first (ctx.mayWriteFirst).
    ctx.setAccountPolicy({
      language: async (account) => (await store.account(account)).language,
      mayWriteFirst: (account) => store.mayWriteFirst(account),
    });
    const autoReplies = new AutoReplies({
      redis: ctx.redis,
      prefix: ctx.config.queuePrefix,
      store,
      now: opts.now,
      submit: async (m) => {
        const submit = opts.submit?.();
        if (!submit) throw new Error('no outbound service in this process');
        await submit(m);
      },
      // 1C sees the reply in the chat: an `outgoing` message of `system` in the chat's inbound order.
      echo: (m) => ctx.inbound.ingest([m]),
    });
    const allBusy = new AllBusyWatch({ redis: ctx.redis, prefix: ctx.config.queuePrefix, store, replies: autoReplies, now: opts.now });
    const unsubscribe: (() => void)[] = [];
    let roundRobin: RoundRobin | null = null;
    let assignTimer: NodeJS.Timeout | null = null;
    return {
      name: 'settings',
      store,
      autoReplies,
      allBusy,
      routes: settingsRoutes({
        get: (kind, name) => (kind === 'account' ? store.get('account', name) : store.get('group', name)),
        effective: async (kind, name) =>
          kind === 'account' ? { ...(await store.account(name)), mayWriteFirst: await ctx.mayWriteFirst(name) } : store.group(name),
        put: (kind, name, body) => (kind === 'account' ? store.put('account', name, body) : store.put('group', name, body)),
      }),
      async start() {
        const r = opts.routing?.();
        if (r) {
          const duty = dutyTarget(store, r.presence, opts.now);
          const rr = new RoundRobin({
            redis: ctx.redis,
            prefix: ctx.config.queuePrefix,
            settings: store,
            presence: r.presence,
            routing: r.routing,
            now: opts.now,
          });
          r.setNewChatTarget(async (first, group) => (await duty(first, group)) ?? (await rr.target(group)));
          roundRobin = rr;
          unsubscribe.push(
            ctx.bus.on('routing.events', async ({ events }) => {
              await rr.onEvents(events).catch((err) => log.warn({ err: describeError(err) }, 'round-robin assignment failed'));
            }),
          );
          const every = opts.assignCheckMs ?? 15_000;
          if (every > 0) {
            assignTimer = setInterval(() => {
              rr.tick().catch((err) => log.warn({ err: describeError(err) }, 'the assignment check failed'));
            }, every);
            assignTimer.unref();
          }
        }
        const file = opts.settingsFile === undefined ? ctx.config.accountSettingsFile : opts.settingsFile;
        if (file) {
          const installed = await store.loadFile(file);
          log.info(
            { file, installed },
            installed.length ? 'account settings loaded from the file' : 'account settings file unchanged; keeping the current settings',
          );
        }
        unsubscribe.push(
          ctx.bus.on('inbound.delivered', async ({ messages }) => {
            await autoReplies
              .onDelivered(messages)
              .catch((err) => log.warn({ err: describeError(err) }, 'auto-replies failed for delivered messages'));
          }),
          ctx.bus.on('routing.events', async ({ events }) => {
            await allBusy.onEvents(events).catch((err) => log.warn({ err: describeError(err) }, 'could not track queued chats'));
          }),
        );
        allBusy.start(opts.allBusyCheckMs ?? 15_000, (err) => log.warn({ err: describeError(err) }, 'the "all busy" check failed'));
      },
      get roundRobin() {
        return roundRobin;
      },
      async stop() {
        allBusy.stop();
        if (assignTimer) clearInterval(assignTimer);
        assignTimer = null;
        for (const u of unsubscribe.splice(0)) u();
      },
    };
  });
}

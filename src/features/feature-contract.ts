/**
 * The contract between the composition root (connector.ts) and the feature modules
 * (operators, outbound, settings, panel, ops), in the manner of mautrix bridgev2: a feature
 * declares the services it uses (`needs`) and is built from a context holding those and
 * nothing else. Services are typed by what features use of them, not by the classes behind
 * them; channels are reached through core's interfaces and their optional capabilities
 * (`isOutboundCapable`, `supportsAccountDiscovery`), never by name.
 *
 * ```
 *   connector.ts ── FeatureServices ──▶ contextFor(services, module.needs)
 *                                            │ FeatureContext<needs>
 *                                            ▼
 *                                   module.create(ctx) ──▶ ConnectorFeature
 *                                       (routes, start/stop, readiness, onLicense)
 * ```
 *
 * Features meet each other only through the bus and the installers below (`setInboundRouter`,
 * `setStatusSink`, `setOperatorAccess`). This module imports types only and no feature.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.ts';
import type { ConnectorBus } from '../connector-bus.ts';
import type {
  AccountPolicy,
  AccountState,
  ChannelConnector,
  InboundSink,
  Logger,
  MediaStore,
  OperatorAccess,
  StatusSink,
} from '../core/index.ts';
import type { ReadyCheck } from '../http/routes/health-routes.ts';
import type { InboundRouter } from '../lanes/inbound-pipeline.js';
import type { UpdateLog, UpdateLogStats } from '../lanes/update-log.js';
import type { LicenseGate } from '../licensing/license-gate.ts';
import type { SeatManager } from '../licensing/seats.ts';
import type { OnecClient, OnecDelivery } from '../onec/onec-client.ts';

/** Which parts run in this process (`start` = all; `worker <name>` = some). */
export type Role = 'http' | 'inbound' | 'channels' | 'outbound';
export const ALL_ROLES: readonly Role[] = ['http', 'inbound', 'channels', 'outbound'];

/** Events between features (inbound delivered, outbound accepted, statuses, routing). */
export type FeatureBus = Pick<ConnectorBus, 'on' | 'emit'>;
/** The license gate as features read it (feature 42 and the granted seats). */
export type LicenseView = Pick<LicenseGate, 'state'>;
/** The seats of features 48/49, deployment-wide. */
export type Seats = Pick<SeatManager, 'normalize' | 'acquire' | 'acquireOrThrow' | 'heartbeat' | 'release' | 'usage'>;
/** What features ask of 1C besides deliveries: operator logins, licenses, and watching the client. */
export type OnecAccess = Pick<OnecClient, 'authorize' | 'getLicenses' | 'finishOrphanSession' | 'openSessions' | 'setObserver'>;

/** The chats the inbound pipeline has seen (a chat is known once its customer wrote). */
export interface ChatDirectory {
  /** The chat's type (`private`, `group`…), or null for a chat never seen. */
  chatType(chatKey: string): Promise<string | null>;
}

/** Every service the composition root can hand a feature. A feature gets only those it names. */
export interface FeatureServices {
  config: Readonly<Config>;
  logger: Logger;
  redis: Redis;
  instanceId: string;
  roles: ReadonlySet<Role>;
  bus: FeatureBus;
  /** 1C for operator logins and observation; deliveries go through `onecPush`. */
  onec: OnecAccess;
  /** Push mode's deliveries to 1C (waits until a switch from pull mode left nothing behind). */
  onecPush: OnecDelivery;
  seats: Seats;
  gate: LicenseView;
  /** The inbound pipeline: chats seen, and ingest (the settings feature echoes auto-replies to 1C through it). */
  inbound: ChatDirectory & InboundSink;
  media: MediaStore;
  /** The channels this process has; ask each for a capability (core's `is…`/`supports…` guards). */
  channels: readonly ChannelConnector[];
  /** Every account's state as this instance sees it (`standby`: another instance runs it; `unlicensed`: gated). */
  accounts(): AccountState[];
  /** The update log of pull mode (onec-pull.md); in push mode it only holds what a switch from pull left. */
  updateLog: { stats(): Promise<UpdateLogStats> };
  /** The update log when ONEC_MODE=pull (lanes hand their items off into it), else null. */
  pullLog: UpdateLog | null;
  /** Replaces the inbound router (the routing of the operators feature installs its own). */
  setInboundRouter(router: InboundRouter): void;
  /** Where receipts and late failures from channels go (the outbound feature installs it). */
  setStatusSink(sink: StatusSink): void;
  /** Installs who-is-this-bearer and the chat rights of operators (the operators feature does). */
  setOperatorAccess(access: OperatorAccess): void;
  /** The operators' access rules, or null when no operators feature runs (operator tokens are then refused). */
  operatorAccess(): OperatorAccess | null;
  /** Installs what account settings say (language, may write first); the settings feature does. */
  setAccountPolicy(policy: AccountPolicy): void;
  /**
   * The one rule of writing first (outbound API and the WhatsApp send gate): the account's
   * setting `mayWriteFirst` when it (or `_default`) sets one, else WHATSAPP_MAY_WRITE_FIRST.
   */
  mayWriteFirst(account: string): Promise<boolean>;
}

/** What a feature built from `needs` sees. */
export type FeatureContext<N extends keyof FeatureServices> = Pick<FeatureServices, N>;

/** A feature plugged into the connector (outbound, operators, operations…). */
export interface ConnectorFeature {
  name: string;
  routes?: FastifyPluginAsync;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  readiness?(): Promise<ReadyCheck[]>;
  /** Feature 42 granted (true) or withdrawn (false). */
  onLicense?(licensed: boolean): Promise<void>;
}

/** A feature module: the services it needs, and how it is built from them. */
export interface FeatureModule<N extends keyof FeatureServices = keyof FeatureServices, F extends ConnectorFeature = ConnectorFeature> {
  readonly needs: readonly N[];
  create(ctx: FeatureContext<N>): F | Promise<F>;
}

export function defineFeature<N extends keyof FeatureServices, F extends ConnectorFeature>(
  needs: readonly N[],
  create: (ctx: FeatureContext<N>) => F | Promise<F>,
): FeatureModule<N, F> {
  return { needs, create };
}

/** The same module, handing what it built to `seen` (features.ts, tests and benches keep a handle on it). */
export function observed<N extends keyof FeatureServices, F extends ConnectorFeature>(
  module: FeatureModule<N, F>,
  seen: (feature: F) => void,
): FeatureModule<N, F> {
  return defineFeature(module.needs, async (ctx) => {
    const feature = await module.create(ctx);
    seen(feature);
    return feature;
  });
}

/** The context of one module: the services it named, and no others (not even at run time). */
export function contextFor<N extends keyof FeatureServices>(services: FeatureServices, needs: readonly N[]): FeatureContext<N> {
  const ctx: Partial<FeatureServices> = {};
  for (const k of needs) Object.defineProperty(ctx, k, { value: services[k], enumerable: true });
  return Object.freeze(ctx) as FeatureContext<N>;
}

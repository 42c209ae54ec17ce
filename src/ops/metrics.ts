/**
 * Prometheus metrics of the connector (prom-client, its own Registry — nothing global).
 *
 * Two kinds of series:
 * - read from Redis at scrape time, the same on every instance (queues, lanes, dead letters,
 *   seats): deployment-wide, so take one instance's value (`max`), do not `sum`;
 * - counted in this process (1C calls, messages, lag, license refusals): per instance, `sum`.
 */
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseChatKey, type AccountState, type InboundMessage } from '../core/index.ts';
import { FEATURE_IDS, SEAT_FEATURES } from '../licensing/features.ts';
import type { LicenseGate } from '../licensing/license-gate.ts';
import type { FeatureState } from '../licensing/license-document.ts';
import type { SeatManager } from '../licensing/seats.ts';
import type { OnecObserver } from '../onec/onec-types.ts';
import type { UpdateLogStats } from '../lanes/update-log.js';
import { isDeadLetterQueue, laneOfQueue, type QueueCatalog } from './queue-catalog.ts';

export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
const FEATURE_STATES: readonly FeatureState[] = ['granted', 'missing', 'wrong_host', 'expired', 'invalid'];

export interface ConnectorMetricsOptions {
  catalog: QueueCatalog;
  /** Shared Redis of the connector (lease keys). */
  redis: Redis;
  prefix: string;
  gate: Pick<LicenseGate, 'state'>;
  seats: Pick<SeatManager, 'usage'>;
  /** Routing sessions this process holds open in 1C. */
  onecSessionsOpen: () => number;
  /** Every account's state as this instance sees it (standby, unlicensed, or the runner's own). */
  accounts: () => AccountState[];
  /** Pull mode's update log (onec-pull.md): updates waiting, the oldest, the last poll. */
  updateLog?: () => Promise<UpdateLogStats>;
  /** Pull mode is on: only then is "seconds since 1C last polled" meaningful (absent in push mode). */
  pullMode?: boolean;
  /** Include Node's process metrics (default true). */
  processMetrics?: boolean;
  /** Most jobs looked at per queue to group retries and dead letters by reason (default 500). */
  sampleJobs?: number;
  now?: () => number;
}

/** Keeps reason labels few: ids, numbers and chat keys out, short. */
export function reasonLabel(reason: string | undefined | null): string {
  if (!reason) return 'unknown';
  return (
    reason
      .replace(/\b(?:tg|wa):\S+/g, '<id>')
      .replace(/\d{2,}/g, 'N')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 100) || 'unknown'
  );
}

export class ConnectorMetrics {
  readonly registry = new Registry();
  private readonly onecCalls: Histogram<'endpoint' | 'outcome'>;
  private readonly licenseRefusals: Counter;
  private readonly messages: Counter<'direction' | 'channel'>;
  private readonly lag: Histogram<'channel'>;

  constructor(private readonly o: ConnectorMetricsOptions) {
    const registers = [this.registry];
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'chat_connector_' });
    const now = o.now ?? Date.now;
    const sample = o.sampleJobs ?? 500;

    if (o.updateLog) this.pullGauges(o.updateLog, registers, now, o.pullMode ?? false);
    new Gauge({
      name: 'chat_connector_queue_jobs',
      help: 'Jobs per queue and state (BullMQ; deployment-wide).',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const q of await o.catalog.all()) {
          const counts = await q.getJobCounts(...JOB_STATES);
          for (const s of JOB_STATES) this.set({ queue: q.name, state: s }, counts[s] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'chat_connector_lane_oldest_pending_age_seconds',
      help: 'Age of the oldest item waiting in a lane (0 when none; deployment-wide).',
      labelNames: ['lane'],
      registers,
      async collect() {
        this.reset();
        for (const lane of await lanes(o.catalog)) {
          const since = await o.catalog.oldestPendingMs(lane);
          this.set({ lane }, since === null ? 0 : Math.max(0, (now() - since) / 1000));
        }
      },
    });
    new Gauge({
      name: 'chat_connector_lane_pending_chats',
      help: 'Chats with items waiting in a lane (deployment-wide).',
      labelNames: ['lane'],
      registers,
      async collect() {
        this.reset();
        for (const lane of await lanes(o.catalog)) this.set({ lane }, await o.catalog.pendingChats(lane));
      },
    });
    new Gauge({
      name: 'chat_connector_lane_retrying_chats',
      help: 'Chats whose delivery failed and waits for its next attempt, by the last error (deployment-wide).',
      labelNames: ['lane', 'reason'],
      registers,
      async collect() {
        this.reset();
        for (const lane of await lanes(o.catalog)) {
          const jobs = await o.catalog.queue(lane).getJobs(['delayed'], 0, sample - 1);
          for (const j of jobs) if (j && j.attemptsMade > 0) this.inc({ lane, reason: reasonLabel(j.failedReason) });
        }
      },
    });
    new Gauge({
      name: 'chat_connector_dead_letters',
      help: 'Messages rejected for good and waiting in the dead-letter queue, by reason (deployment-wide).',
      labelNames: ['lane', 'reason'],
      registers,
      async collect() {
        this.reset();
        for (const name of (await o.catalog.names()).filter(isDeadLetterQueue)) {
          const lane = laneOfQueue(name);
          const jobs = await o.catalog.queue(name).getJobs(['failed'], 0, sample - 1);
          for (const j of jobs) if (j) this.inc({ lane, reason: reasonLabel(j.failedReason) });
        }
      },
    });

    this.onecCalls = new Histogram({
      name: 'chat_connector_onec_call_duration_seconds',
      help: '1C HTTP service calls by endpoint and outcome (ok or the error code).',
      labelNames: ['endpoint', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: 'chat_connector_onec_sessions_open',
      help: 'Routing sessions this process holds open in 1C.',
      registers,
      collect() {
        this.set(o.onecSessionsOpen());
      },
    });
    this.licenseRefusals = new Counter({
      name: 'chat_connector_onec_license_refusals_total',
      help: '1C refused to open a session for lack of a free 1C license.',
      registers,
    });

    new Gauge({
      name: 'chat_connector_license_seats',
      help: 'Seats of features 48 and 49: used and total (deployment-wide).',
      labelNames: ['feature', 'kind'],
      registers,
      async collect() {
        this.reset();
        const doc = o.gate.state().document;
        for (const f of SEAT_FEATURES) {
          this.set({ feature: String(f), kind: 'total' }, doc.features[f].granted);
          this.set({ feature: String(f), kind: 'used' }, await o.seats.usage(f));
        }
      },
    });
    new Gauge({
      name: 'chat_connector_license_feature_state',
      help: 'State of each license feature on this host (1 for the current state).',
      labelNames: ['feature', 'state'],
      registers,
      collect() {
        this.reset();
        const doc = o.gate.state().document;
        for (const f of FEATURE_IDS)
          for (const s of FEATURE_STATES) this.set({ feature: String(f), state: s }, doc.features[f].state === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'chat_connector_chat_module_licensed',
      help: '1 when feature 42 is granted to this host and the chat module runs.',
      registers,
      collect() {
        this.set(o.gate.state().chatsLicensed ? 1 : 0);
      },
    });
    new Gauge({
      name: 'chat_connector_license_expiry_timestamp_seconds',
      help: 'When the license document expires (Unix seconds); absent for a document without expiry or none at all.',
      registers,
      collect() {
        this.reset();
        const expiresAt = o.gate.state().document.payload?.expiresAt;
        const ms = expiresAt ? Date.parse(expiresAt) : NaN;
        if (Number.isFinite(ms)) this.set(ms / 1000);
      },
    });
    // Redis refuses writes at maxmemory (noeviction): the alert needs both sides of the ratio.
    // Both gauges read one INFO per scrape (they are collected a moment apart).
    let memo: { at: number; read: Promise<{ used: number; max: number }> } | null = null;
    const redisMemory = (): Promise<{ used: number; max: number }> => {
      if (memo && Date.now() - memo.at < 1_000) return memo.read;
      const read = o.redis.info('memory').then((info) => {
        const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
        return { used: field('used_memory'), max: field('maxmemory') };
      });
      memo = { at: Date.now(), read };
      return read;
    };
    new Gauge({
      name: 'chat_connector_redis_memory_used_bytes',
      help: 'Memory Redis uses (INFO memory used_memory; deployment-wide).',
      registers,
      async collect() {
        this.set((await redisMemory()).used);
      },
    });
    new Gauge({
      name: 'chat_connector_redis_maxmemory_bytes',
      help: 'Redis maxmemory (0 = no limit; deployment-wide).',
      registers,
      async collect() {
        this.set((await redisMemory()).max);
      },
    });
    new Gauge({
      name: 'chat_connector_accounts',
      help: 'Accounts by channel and connection state, as this instance sees them (standby = another instance runs it).',
      labelNames: ['channel', 'state'],
      registers,
      collect() {
        this.reset();
        for (const a of o.accounts()) this.inc({ channel: a.channel, state: a.state });
      },
    });

    this.messages = new Counter({
      name: 'chat_connector_messages_total',
      help: 'Messages by direction (in = acknowledged by 1C, out = sent to the messenger) and channel.',
      labelNames: ['direction', 'channel'],
      registers,
    });
    this.lag = new Histogram({
      name: 'chat_connector_inbound_lag_seconds',
      help: 'From the messenger timestamp of an inbound message to 1C acknowledging it.',
      labelNames: ['channel'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
  }

  /** Hooks for the 1C client (OnecClient.setObserver). */
  onecObserver(): OnecObserver {
    return {
      onCall: (endpoint, outcome, ms) => this.onecCalls.observe({ endpoint, outcome }, ms / 1000),
      onLicenseRefused: () => this.licenseRefusals.inc(),
    };
  }

  /** 1C acknowledged these inbound messages. */
  inboundDelivered(messages: InboundMessage[], at = Date.now()): void {
    for (const m of messages) {
      this.messages.inc({ direction: 'in', channel: m.channel });
      const sent = Date.parse(m.sentAt);
      if (Number.isFinite(sent)) this.lag.observe({ channel: m.channel }, Math.max(0, (at - sent) / 1000));
    }
  }

  /** An outbound message reached the messenger. */
  outboundSent(chatId: string): void {
    this.messages.inc({ direction: 'out', channel: parseChatKey(chatId)?.channel ?? 'unknown' });
  }

  /** Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Pull mode, deployment-wide: read from the update log at scrape time. */
  private pullGauges(stats: () => Promise<UpdateLogStats>, registers: Registry[], now: () => number, pullMode: boolean): void {
    new Gauge({
      name: 'chat_connector_onec_pull_updates_waiting',
      help: 'Updates in the pull-mode log that 1C has not acknowledged (deployment-wide).',
      registers,
      async collect() {
        this.set((await stats()).waiting);
      },
    });
    new Gauge({
      name: 'chat_connector_onec_pull_oldest_update_age_seconds',
      help: 'Age of the oldest unacknowledged update in the pull-mode log (0 when none; deployment-wide).',
      registers,
      async collect() {
        const st = await stats();
        this.set(st.oldestMs === null ? 0 : Math.max(0, (now() - st.oldestMs) / 1000));
      },
    });
    new Gauge({
      name: 'chat_connector_onec_pull_seconds_since_last_poll',
      help: 'Seconds since 1C last asked for updates (-1: it never has; absent in push mode; deployment-wide).',
      registers,
      async collect() {
        this.reset();
        if (!pullMode) return;
        const st = await stats();
        this.set(st.lastPollMs === null ? -1 : Math.max(0, (now() - st.lastPollMs) / 1000));
      },
    });
  }
}

async function lanes(catalog: QueueCatalog): Promise<string[]> {
  return (await catalog.names()).filter((n) => !isDeadLetterQueue(n));
}

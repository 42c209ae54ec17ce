/**
 * The inbound pipeline: messenger → durable enqueue (dedupe by message id, per-chat `seq`
 * assigned once) → routing stamp → 1C in per-chat order, chats in parallel, in batches.
 *
 * Channels see only `InboundSink.ingest`; it resolves once Redis holds the messages, which
 * is when a channel may confirm the update to its messenger.
 */
import type { Redis } from 'ioredis';
import type { IngestResult, InboundMessage, InboundSink, Logger, NewInboundMessage, Route } from '../core/index.ts';
import type { ItemOutcome, LaneBullConnection, LaneItem, LaneHooks } from './ordered-lane.js';
import { ShardedLane } from './sharded-lane.ts';
import type { RetryPolicy } from './retry-policy.js';
import type { UpdateLog } from './update-log.js';

/** A chat silent this long is forgotten (known-chat state): 180 days. */
export const KNOWN_CHAT_TTL_S = 180 * 24 * 3600;

/** What 1C answers per message (onec-http-service.md `POST /messages`). */

export interface DeliveryResult {
  id: string;
  status: string;
  error?: string;
}

/** Delivers a chat's messages to 1C (batching across chats is the deliverer's business). */
export interface MessageDeliverer {
  deliverMessages(messages: InboundMessage[]): Promise<DeliveryResult[]>;
}

/**
 * Decides (and remembers) each message's route before it goes to 1C. Must be idempotent
 * per message id: a redelivery after a retry carries the same decision.
 */
export interface InboundRouter {
  routeOf(messages: InboundMessage[]): Promise<Route[]>;
}

/** Every new chat is queued for the default group until a routing module says otherwise. */
export class DefaultRouter implements InboundRouter {
  constructor(private readonly group: string | null = 'default') {}
  async routeOf(messages: InboundMessage[]): Promise<Route[]> {
    return messages.map(() => ({ status: 'queued', operatorId: null, group: this.group }));
  }
}

export interface InboundObserver {
  /** Messages 1C acknowledged (accepted or duplicate). */
  delivered?(messages: InboundMessage[]): void;
  /** Messages newly stored (not duplicates). */
  ingested?(messages: NewInboundMessage[]): void;
  rejected?(message: InboundMessage, reason: string): void;
  retry?(chatKey: string, error: unknown): void;
}

export interface InboundPipelineOptions {
  redis: Redis;
  bullConnection: LaneBullConnection;
  prefix: string;
  /** QUEUE_SHARDS (default 1): chats spread over this many lane shards (lane-keys.ts). */
  shards?: number;
  deliverer: MessageDeliverer;
  router?: InboundRouter;
  /** Most messages per 1C call (ONEC_BATCH_MAX): a driver's round over all the chats it holds. */
  batchMax?: number;
  /** Chats delivered in parallel per process (default 50). */
  concurrency?: number;
  /**
   * Batches being prepared or in flight to 1C at once per process (default 4; give about
   * 2 × ONEC_MAX_SESSIONS + 2): each gathers up to `batchMax` messages across chats, so the
   * next batch is read and routed while 1C works on the current one.
   */
  batchesInFlight?: number;
  lockMs?: number;
  sweepIntervalMs?: number;
  retryPolicy?: RetryPolicy;
  observer?: InboundObserver;
  logger?: Logger;
  /** Pull mode (ONEC_MODE=pull): messages leave into this update log instead of going to the deliverer. */
  updateLog?: UpdateLog | null;
}

type StoredMessage = NewInboundMessage;

export class InboundPipeline implements InboundSink {
  readonly lane: ShardedLane<StoredMessage>;
  private router: InboundRouter;

  constructor(private readonly o: InboundPipelineOptions) {
    this.router = o.router ?? new DefaultRouter();
    const hooks: LaneHooks<StoredMessage> = {
      onRetry: (key, err) => o.observer?.retry?.(key, err),
    };
    this.lane = new ShardedLane<StoredMessage>({
      name: 'inbound',
      shards: o.shards,
      redis: o.redis,
      bullConnection: o.bullConnection,
      prefix: o.prefix,
      batchMax: o.batchMax,
      concurrency: o.concurrency,
      // 1C takes many chats in one POST /messages: a driver fills its batch across chats.
      gather: true,
      gatherSlots: o.batchesInFlight,
      lockMs: o.lockMs,
      sweepIntervalMs: o.sweepIntervalMs,
      retryPolicy: o.retryPolicy,
      jobName: (key, seq) => `${key} #${seq}`,
      hooks,
      logger: o.logger,
      sink: {
        deliver: (key, items) => this.deliver([{ key, items }]).then((r) => r[0]),
        // A round of many chats goes to 1C in one POST /messages (at most batchMax, as the lane reads).
        deliverRound: (round) => this.deliver(round),
      },
      handoff: o.updateLog
        ? {
            log: o.updateLog,
            toUpdates: async (_key, items) =>
              (await this.routed(items)).map((m) => ({ type: 'message' as const, payload: JSON.stringify(m) })),
            // Handed to 1C's queue is "delivered" for the operator feed: it must not wait for the poll.
            onHandedOff: (_key, items) => o.observer?.delivered?.(items.map((it) => ({ ...it.body, seq: it.seq, route: null }))),
          }
        : null,
    });
  }

  /**
   * Pull mode: 1C refused a message for good in its ack. It goes to `inbound-dead` with the
   * same reason a push-mode `rejected` result gives; a retry serves it again at its seq.
   */
  async rejectPulled(message: InboundMessage, error: string | null): Promise<void> {
    const reason = `1C rejected the message: ${error ?? 'no reason given'}`;
    this.o.observer?.rejected?.(message, reason);
    const { route: _route, seq, ...body } = message;
    await this.lane.deadLetterItem(message.chatId, { seq, body }, reason);
  }

  private async routed(items: LaneItem<StoredMessage>[]): Promise<InboundMessage[]> {
    const messages: InboundMessage[] = items.map((it) => ({ ...it.body, seq: it.seq, route: null }));
    const routes = await this.router.routeOf(messages);
    messages.forEach((m, i) => {
      m.route = routes[i] ?? null;
    });
    return messages;
  }

  /** Installs the routing module's router (idempotent per message id, see InboundRouter). */
  setRouter(router: InboundRouter): void {
    this.router = router;
  }

  async ingest(messages: NewInboundMessage[]): Promise<IngestResult[]> {
    if (messages.length === 0) return [];
    const results = await this.lane.append(messages.map((m) => ({ key: m.chatId, id: m.id, body: m })));
    // Chats we have heard from: outbound messages may only go to these. One key per chat with
    // a TTL refreshed by every message, so chats silent for KNOWN_CHAT_TTL_S are forgotten
    // (the former `chats:known` hash only grew; its fields are removed as chats write again).
    // Once per chat of the call (a poller's call holds many messages of few chats).
    const chatTypes = new Map<string, string>();
    for (const m of messages) chatTypes.set(m.chatId, m.chat.type);
    const pipe = this.o.redis.pipeline();
    for (const [chatId, type] of chatTypes) pipe.set(`${this.o.prefix}:chats:known:${chatId}`, type, 'EX', KNOWN_CHAT_TTL_S);
    pipe.hdel(`${this.o.prefix}:chats:known`, ...chatTypes.keys());
    await pipe.exec();
    const fresh = messages.filter((_, i) => !results[i].duplicate);
    if (fresh.length) this.o.observer?.ingested?.(fresh);
    return results;
  }

  /** Is this chat one we have received messages from? Returns its type when known. */
  async chatType(chatKey: string): Promise<string | null> {
    const known = await this.o.redis.get(`${this.o.prefix}:chats:known:${chatKey}`);
    // Chats known before the per-chat keys: still in the old hash until they write again.
    return known ?? this.o.redis.hget(`${this.o.prefix}:chats:known`, chatKey);
  }

  /**
   * Routes and delivers one round of chats' messages in one 1C call; returns each chat's
   * outcomes. Chats are routed side by side (each chat's own messages in order).
   */
  private async deliver(round: { key: string; items: LaneItem<StoredMessage>[] }[]): Promise<ItemOutcome[][]> {
    const routed = await Promise.all(round.map((r) => this.routed(r.items)));
    const results = await this.o.deliverer.deliverMessages(routed.flat());
    const byId = new Map(results.map((r) => [r.id, r]));
    const acked: InboundMessage[] = [];
    const all = routed.map((messages) => {
      const outcomes: ItemOutcome[] = [];
      for (const m of messages) {
        const r = byId.get(m.id);
        if (!r) {
          outcomes.push({ kind: 'retry', error: new Error(`1C gave no result for ${m.id}`) });
          break;
        }
        if (r.status === 'accepted' || r.status === 'duplicate') {
          outcomes.push({ kind: 'done' });
          acked.push(m);
          continue;
        }
        if (r.status === 'rejected') {
          const reason = `1C rejected the message: ${r.error ?? 'no reason given'}`;
          this.o.observer?.rejected?.(m, reason);
          outcomes.push({ kind: 'rejected', reason });
          continue;
        }
        outcomes.push({ kind: 'retry', error: new Error(`1C answered "${r.status}" for ${m.id}`) });
        break;
      }
      return outcomes;
    });
    if (acked.length) this.o.observer?.delivered?.(acked);
    return all;
  }

  start(): Promise<void> {
    return this.lane.start();
  }
  pause(): Promise<void> {
    return this.lane.pause();
  }
  resume(): Promise<void> {
    return this.lane.resume();
  }
  stop(): Promise<void> {
    return this.lane.stop();
  }
  close(): Promise<void> {
    return this.lane.close();
  }
}

/**
 * Routing events to 1C (`POST /routing`): through an OrderedLane named `routing` keyed by
 * chat, so each chat's events arrive in order, a resend is deduplicated by event id (in the
 * lane and in 1C), and the 1C client batches events of many chats into one call.
 *
 * ChatRouting's scripts write their events into this lane's keys themselves (an outbox:
 * the event and the chat's state change in one Lua call, see routing-scripts.ts) and then
 * call `kick`; the item shape is the one `toOnecEvent` gives, built in Lua.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.ts';
import type { OnecDelivery } from '../onec/onec-client.ts';
import type { OnecRoutingEvent } from '../onec/onec-types.ts';
import { OrderedLane, type ItemOutcome, type LaneBullConnection } from '../lanes/ordered-lane.js';
import type { RetryPolicy } from '../lanes/retry-policy.js';
import type { UpdateLog } from '../lanes/update-log.js';
import { ROUTING_LANE, type RoutingEvent } from './chat-routing.ts';

export interface RoutingLaneOptions {
  redis: Redis;
  bullConnection: LaneBullConnection;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** Where the events go (the 1C client). */
  onec: Pick<OnecDelivery, 'deliverRouting'>;
  /** Most events per call (default 100). */
  batchMax?: number;
  lockMs?: number;
  sweepIntervalMs?: number;
  retryPolicy?: RetryPolicy;
  logger?: Logger;
  /** Pull mode (ONEC_MODE=pull): events leave into this update log instead of going to 1C. */
  updateLog?: UpdateLog | null;
}

export function toOnecEvent(e: RoutingEvent): OnecRoutingEvent {
  return {
    id: e.id,
    chatId: e.chatId,
    type: e.type,
    operatorId: e.operatorId,
    group: e.group,
    ...(e.comment ? { comment: e.comment } : {}),
    at: e.at,
    actor: e.actor,
  };
}

export class RoutingLane {
  readonly lane: OrderedLane<OnecRoutingEvent>;

  constructor(o: RoutingLaneOptions) {
    this.lane = new OrderedLane<OnecRoutingEvent>({
      name: ROUTING_LANE,
      redis: o.redis,
      bullConnection: o.bullConnection,
      prefix: o.prefix,
      batchMax: o.batchMax,
      lockMs: o.lockMs,
      sweepIntervalMs: o.sweepIntervalMs,
      retryPolicy: o.retryPolicy,
      logger: o.logger,
      jobName: (key, seq) => `${key} routing #${seq}`,
      sink: {
        deliver: async (_key, items): Promise<ItemOutcome[]> => {
          const events = items.map((it) => stripSeq(it.body));
          const results = await o.onec.deliverRouting(events);
          const byId = new Map(results.map((r) => [r.id, r]));
          return events.map((e): ItemOutcome => {
            const r = byId.get(e.id);
            if (!r) return { kind: 'retry', error: new Error(`1C gave no result for routing event ${e.id}`) };
            if (r.status === 'accepted' || r.status === 'duplicate') return { kind: 'done' };
            if (r.status === 'rejected')
              return { kind: 'rejected', reason: `1C rejected the routing event: ${r.error ?? 'no reason given'}` };
            return { kind: 'retry', error: new Error(`1C answered "${r.status}" for routing event ${e.id}`) };
          });
        },
      },
      handoff: o.updateLog
        ? {
            log: o.updateLog,
            toUpdates: async (_key, items) =>
              items.map((it) => {
                const e = stripSeq(it.body);
                return { type: 'routing' as const, payload: JSON.stringify({ ...e, comment: e.comment ?? null }) };
              }),
          }
        : null,
    });
  }

  /** Starts delivery of a chat whose event ChatRouting's outbox just stored. */
  kick(chatId: string, seq: number): Promise<void> {
    return this.lane.kickKey(chatId, seq);
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

function stripSeq(body: OnecRoutingEvent & { seq?: number }): OnecRoutingEvent {
  const { seq: _seq, ...rest } = body;
  return rest;
}

/**
 * Outbound messages: accepted once by id, sent per chat in order through the channel's
 * OutboundCapable, paced within the messenger's limits, their statuses sent to 1C in order
 * per message. Two ordered lanes (src/lanes/ordered-lane.ts) carry the work:
 *
 *   POST ──accept (record, Lua)──▶ lane `outbound` (key = chat) ──pace──▶ channel.send
 *                                        │ sent / failed
 *   channel receipts (StatusSink) ──────▶ record (monotonic) ──▶ lane `statuses` (key = message id) ──▶ 1C POST /statuses
 *
 * Delivery guarantees, per outcome of one send:
 * - success → status `sent` with the messenger's ids; the item is done.
 * - a permanent error (ConnectorError with retryable false: blocked, chat not found, too
 *   long…) → status `failed` with the reason; the item is done. It is NOT dead-lettered:
 *   the failure is final and visible where it matters (GET, 1C, the operator feed), and
 *   "retrying" a dead letter later would send it out of order after newer messages of the
 *   chat. A new attempt is a new POST with a new id.
 * - a retryable error (network, 5xx, 429 with retry_after) → the item and everything after
 *   it in the chat stay pending, in place; the lane's RetryPolicy waits (retry_after exactly).
 *
 * At-least-once edge: Telegram has no idempotency key. A message Telegram accepted whose
 * `sent` was not yet recorded when the process died (kill -9 between the Bot API's answer
 * and the Redis write), or whose answer was lost on the network, is sent again when the
 * chat is driven again. Only that in-flight message can repeat; order and completeness are
 * kept. Everything recorded as sent is never sent again (the record is checked first).
 */
import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import {
  abortableSleep,
  ConnectorError,
  describeError,
  isRetryable,
  parseChatKey,
  silentLogger,
  type Logger,
  type OutboundCapable,
  type OutboundMessage,
  type StatusEvent,
  type StatusSink,
} from '../core/index.ts';
import type { OnecItemResult, OnecStatusUpdate } from '../onec/onec-types.ts';
import type { DeliveryContext, ItemOutcome, LaneBullConnection, LaneItem } from '../lanes/ordered-lane.js';
import { ShardedLane } from '../lanes/sharded-lane.ts';
import { LaneDeferral } from '../lanes/lane-deferral.ts';
import { RateLimiter } from '../coordination/rate-limiter.js';
import type { RetryPolicy } from '../lanes/retry-policy.js';
import type { UpdateLog } from '../lanes/update-log.js';
import { LATE_MS, OutboundPacing, type PacingOptions } from './outbound-pacing.ts';
import { fingerprintOf, OutboundStore, type OutboundRecord } from './outbound-store.ts';

/** A status event as it travels in the `statuses` lane. */
interface StatusItem {
  id: string;
  status: StatusEvent['status'];
  at: string;
  error?: string;
}

export interface StatusNotice {
  event: StatusEvent;
  chatId: string;
  operatorId: string | null;
}

export type SubmitResult = { created: true; message: OutboundMessage } | { created: false; record: OutboundRecord; conflict: boolean };

export interface OutboundServiceOptions {
  redis: Redis;
  bullConnection: LaneBullConnection;
  /** Key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** QUEUE_SHARDS (default 1): chats (and statuses, by message id) spread over lane shards. */
  shards?: number;
  /** Outbound-capable channels by channel name (`telegram`, `whatsapp`). */
  senders: Map<string, OutboundCapable>;
  /** The chat's type as the inbound side recorded it (`private`, `group`, `channel`), or null. */
  chatType(chatKey: string): Promise<string | null>;
  /** Learns account names that are not known yet (Telegram getMe); default none. */
  refreshAccounts?(channel: string): Promise<void>;
  /** 1C `POST /statuses` (OnecClient.deliverStatuses: batched across callers). */
  deliverStatuses(events: OnecStatusUpdate[]): Promise<OnecItemResult[]>;
  /** Called once per status change (operator feed, metrics). Failures are logged only. */
  onStatus?(notice: StatusNotice): Promise<void> | void;
  pacing?: PacingOptions;
  retryPolicy?: RetryPolicy;
  /** Chats sent to in parallel per process (default 50). */
  concurrency?: number;
  /** Messages of one chat taken per lane batch (default 5; they still go one by one). */
  batchMax?: number;
  /** Most status events per 1C call from one message's lane (default 4; 1C batches across messages). */
  statusBatchMax?: number;
  lockMs?: number;
  sweepIntervalMs?: number;
  /** How long a message record (idempotency by id, GET) is kept (default 30 days). */
  recordTtlS?: number;
  logger?: Logger;
  /** Pull mode (ONEC_MODE=pull): statuses leave into this update log instead of `deliverStatuses`. */
  updateLog?: UpdateLog | null;
}

export class OutboundService implements StatusSink {
  readonly store: OutboundStore;
  readonly lane: ShardedLane<OutboundMessage>;
  readonly statusLane: ShardedLane<StatusItem>;
  readonly pacing: OutboundPacing;
  private readonly log: Logger;
  /**
   * Chats this process sent to lately → when their next send may go (local ms; see deliver):
   * Redis books a chat's slots from the booked moments, this also spaces them from the answers.
   */
  private readonly chatFreeAt = new Map<string, number>();
  /** Aborts pacing waits when the workers pause or stop. */
  private halt = haltController();

  constructor(private readonly o: OutboundServiceOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'outbound' });
    this.store = new OutboundStore({ redis: o.redis, prefix: o.prefix, recordTtlS: o.recordTtlS });
    this.pacing = new OutboundPacing(new RateLimiter({ redis: o.redis, prefix: o.prefix }), o.pacing);
    const common = {
      redis: o.redis,
      bullConnection: o.bullConnection,
      prefix: o.prefix,
      shards: o.shards,
      lockMs: o.lockMs,
      sweepIntervalMs: o.sweepIntervalMs,
      retryPolicy: o.retryPolicy,
    };
    this.lane = new ShardedLane<OutboundMessage>({
      ...common,
      name: 'outbound',
      batchMax: o.batchMax ?? 5,
      concurrency: o.concurrency,
      // Idempotency lasts as long as the record: a POST retried late can never send twice.
      dedupeTtlS: this.store.recordTtlS,
      jobName: (key, seq) => `${key} #${seq}`,
      logger: this.log,
      sink: { deliver: (key, items, ctx) => this.deliver(key, items, ctx) },
    });
    this.statusLane = new ShardedLane<StatusItem>({
      ...common,
      name: 'statuses',
      // Keyed per message: one lane-wide seq counter, not a `seq` field per message forever (issue 11 item 11).
      seqScope: 'lane',
      batchMax: o.statusBatchMax ?? 4,
      concurrency: o.concurrency,
      dedupeTtlS: this.store.recordTtlS,
      jobName: (key) => `${key} statuses`,
      logger: this.log,
      sink: { deliver: (key, items) => this.deliverStatuses(key, items) },
      handoff: o.updateLog
        ? {
            log: o.updateLog,
            toUpdates: async (_key, items) =>
              items.map((i) => ({
                type: 'status' as const,
                payload: JSON.stringify({ id: i.body.id, status: i.body.status, at: i.body.at, error: i.body.error ?? null }),
              })),
          }
        : null,
    });
  }

  // ------------------------------------------------------------------ accepting

  /**
   * Stores a new message and queues it, or returns the record of the same id. A record
   * still `queued` is (re)appended, which the lane's dedupe makes a no-op unless an earlier
   * request died between storing the record and queueing it.
   */
  async submit(message: OutboundMessage): Promise<SubmitResult> {
    const fingerprint = fingerprintOf(message);
    const res = await this.store.accept(message, fingerprint);
    if (res.created) {
      await this.lane.append([{ key: message.chatId, id: message.id, body: message }]);
      return { created: true, message };
    }
    const conflict = res.record.fingerprint !== fingerprint;
    if (!conflict && res.record.status === 'queued' && res.record.message) {
      await this.lane.append([{ key: res.record.chatId, id: res.record.id, body: res.record.message }]);
    }
    return { created: false, record: res.record, conflict };
  }

  find(id: string): Promise<OutboundRecord | null> {
    return this.store.get(id);
  }

  // ------------------------------------------------------------------ sending

  private async deliver(chatKey: string, items: LaneItem<OutboundMessage>[], ctx: DeliveryContext): Promise<ItemOutcome[]> {
    const outcomes: ItemOutcome[] = [];
    // When this chat's next send may go (local ms): from this process's last send to it (the
    // lane's next round of the same driver), else known once one of these items booked its slot.
    const chat = { freeAt: this.chatFreeAt.get(chatKey) ?? 0 };
    try {
      await this.deliverPaced(chatKey, items, ctx, chat, outcomes);
    } finally {
      // Only chats sent to within about the last spacing are remembered.
      if (chat.freeAt > Date.now()) this.chatFreeAt.set(chatKey, chat.freeAt);
      else this.chatFreeAt.delete(chatKey);
    }
    return outcomes;
  }

  private async deliverPaced(
    chatKey: string,
    items: LaneItem<OutboundMessage>[],
    ctx: DeliveryContext,
    chat: { freeAt: number },
    outcomes: ItemOutcome[],
  ): Promise<void> {
    for (const item of items) {
      let out: ItemOutcome;
      const due = chat.freeAt - Date.now();
      if (due > 0) {
        // The chat's own spacing: hand it back until then instead of waiting in a worker slot.
        out = { kind: 'retry', error: new LaneDeferral(due, `${chatKey}: its next send slot is due in ${Math.ceil(due)} ms`) };
      } else {
        try {
          out = await this.sendOne(chatKey, { ...item.body, seq: item.seq }, ctx, chat);
        } catch (err) {
          // Our own failure (Redis, a bug): what was sent so far stays done; this one is retried.
          out = { kind: 'retry', error: err };
        }
      }
      outcomes.push(out);
      if (out.kind === 'retry') break;
    }
  }

  private async sendOne(chatKey: string, msg: OutboundMessage, ctx: DeliveryContext, chat: { freeAt: number }): Promise<ItemOutcome> {
    const signal = this.halt.signal;
    if (signal.aborted) return { kind: 'retry', error: pausedError() };
    const parts = parseChatKey(chatKey);
    const sender = parts ? this.o.senders.get(parts.channel) : undefined;
    if (!parts || !sender || !sender.hasAccount(parts.account)) {
      // Nothing to book: whatever was sent before stays sent (the record is read first).
      const done = await this.alreadySettled(msg.id);
      if (done) return done;
    }
    if (!parts || !sender) {
      return this.fail(msg, new ConnectorError('unknown_channel', `No channel can send to "${chatKey}".`));
    }
    if (!sender.hasAccount(parts.account)) {
      await this.o.refreshAccounts?.(parts.channel);
      // The account was known when the message was accepted: wait for it rather than drop.
      if (!sender.hasAccount(parts.account)) {
        return {
          kind: 'retry',
          error: new ConnectorError('account_unavailable', `The account "${parts.account}" is not available to send right now.`, {
            retryable: true,
          }),
        };
      }
    }
    const rules = this.pacing.rules(parts.channel, parts.account, chatKey, await this.o.chatType(chatKey));
    // The record is read while the driver waits for its slot (a chat handed back reads nothing).
    let record: Promise<OutboundRecord | null> | null = null;
    let fenced = false;
    for (let booking = 1; rules.length; booking += 1) {
      // One call books the slot (the chat's and the bot's, Redis's clock) — or says when to come back.
      const slot = booking === 1 ? await this.pacing.reserve(rules) : await this.pacing.rebook(rules);
      if (!slot.ok) {
        const why = slot.perChat ? 'its next send slot is due' : 'the account has no send slot free';
        return { kind: 'retry', error: new LaneDeferral(slot.retryAfterMs, `${chatKey}: ${why} in ${slot.retryAfterMs} ms`) };
      }
      const slotAt = Date.now() + slot.waitMs;
      chat.freeAt = this.pacing.chatFreeAt(rules, slotAt);
      if (!record) {
        record = this.store.get(msg.id);
        // Awaited below, unless the chat is handed back first: never an unhandled rejection.
        record.catch(() => undefined);
      }
      // The booked slot is ours (no one else is given it): wait for it, at most maxHoldMs.
      if (slot.waitMs >= 1 && !(await abortableSleep(slot.waitMs, signal))) return { kind: 'retry', error: pausedError() };
      if (!(await ctx.stillOwner())) return takenOver(chatKey);
      fenced = true;
      // Woke late (a busy process): sending now would crowd the slots booked after ours.
      if (Date.now() - slotAt <= LATE_MS || booking === 3) break;
    }
    const done = await this.alreadySettled(msg.id, record);
    if (done) return done;
    // Later parts of a multi-call message book their own slot; no abort here: a message
    // half sent must be finished, or a retry would send its first parts twice.
    const beforeCall = async (): Promise<void> => {
      for (;;) {
        const slot = await this.pacing.reserveLater(rules);
        if (slot.ok) {
          chat.freeAt = this.pacing.chatFreeAt(rules, Date.now() + slot.waitMs);
          if (slot.waitMs >= 1) await abortableSleep(slot.waitMs);
          return;
        }
        await abortableSleep(slot.retryAfterMs);
      }
    };
    // Fencing: the record says "not sent yet" and this driver still holds the chat, right
    // before the one side effect that cannot be undone. A driver that lost the chat (its lock
    // expired during a stall) stops here instead of sending after the new driver's messages.
    // (Paced: asked right after the wait for the slot, above, so the send leaves on time.)
    if (!fenced && !(await ctx.stillOwner())) return takenOver(chatKey);
    let result;
    try {
      result = await sender.send(msg, rules.length ? { beforeCall } : undefined);
    } catch (err) {
      chat.freeAt = Math.max(chat.freeAt, this.pacing.chatFreeAt(rules, Date.now()));
      if (isRetryable(err)) {
        this.log.info({ chat: chatKey, messageId: msg.id, err: describeError(err) }, 'send failed; the chat waits and tries again');
        return { kind: 'retry', error: err };
      }
      return this.fail(msg, err);
    }
    // The chat's next send is spaced from this one's answer, not only from its booked slot:
    // the messenger saw it somewhere between the two, however late the request left.
    chat.freeAt = Math.max(chat.freeAt, this.pacing.chatFreeAt(rules, Date.now()));
    await this.record({ id: msg.id, status: 'sent', at: result.at, nativeIds: result.nativeIds });
    return { kind: 'done' };
  }

  /**
   * A message sent (or failed) before a crash let the lane ack it: never sent again; its
   * status event is queued again (a no-op when it already is). Null: still to send.
   */
  private async alreadySettled(id: string, read?: Promise<OutboundRecord | null> | null): Promise<ItemOutcome | null> {
    const rec = await (read ?? this.store.get(id));
    if (!rec || rec.status === 'queued') return null;
    if (rec.status === 'sent' || rec.status === 'failed') await this.queueStatus(statusEventOf(rec));
    return { kind: 'done' };
  }

  private async fail(msg: OutboundMessage, err: unknown): Promise<ItemOutcome> {
    const code = err instanceof ConnectorError ? err.code : 'send_failed';
    this.log.warn({ chat: msg.chatId, messageId: msg.id, code, err: describeError(err) }, `message ${msg.id} failed for good`);
    await this.record({ id: msg.id, status: 'failed', at: new Date().toISOString(), error: describeError(err), errorCode: code });
    return { kind: 'done' };
  }

  // ------------------------------------------------------------------ statuses

  /** StatusSink: receipts (delivered, read) and late failures from channels. */
  async report(events: StatusEvent[]): Promise<void> {
    for (const e of events) await this.record(e);
  }

  /**
   * Moves the record forward and queues the event for 1C. An event that does not move the
   * status (a receipt older than what we know) is not sent: 1C sees each message's statuses
   * in order. The same status again is re-queued (the lane drops it as a duplicate, unless
   * an earlier attempt died between the two writes).
   */
  private async record(event: StatusEvent & { errorCode?: string }): Promise<void> {
    const res = await this.store.advance(event);
    if (res.outcome === 'missing') {
      this.log.debug({ messageId: event.id, status: event.status }, 'status of an unknown (or expired) outbound message ignored');
      return;
    }
    if (res.outcome === 'stale') return;
    const { errorCode: _code, ...plain } = event;
    await this.queueStatus(plain);
    if (res.outcome === 'advanced') {
      try {
        await this.o.onStatus?.({ event: plain, chatId: res.chatId, operatorId: res.operatorId });
      } catch (err) {
        this.log.warn({ messageId: event.id, err: describeError(err) }, 'a status listener failed');
      }
    }
  }

  private async queueStatus(e: StatusEvent): Promise<void> {
    const body: StatusItem = { id: e.id, status: e.status, at: e.at, ...(e.error !== undefined ? { error: e.error } : {}) };
    // The event id `<message id>:<status>` makes a redelivery a duplicate here and in 1C.
    await this.statusLane.append([{ key: e.id, id: `${e.id}:${e.status}`, body }]);
  }

  private async deliverStatuses(_key: string, items: LaneItem<StatusItem>[]): Promise<ItemOutcome[]> {
    const results = await this.o.deliverStatuses(
      items.map((i) => ({
        id: i.body.id,
        status: i.body.status,
        at: i.body.at,
        ...(i.body.error !== undefined ? { error: i.body.error } : {}),
      })),
    );
    return items.map((_, i): ItemOutcome => {
      const r = results[i];
      if (!r) return { kind: 'retry', error: new Error('1C gave no result for a status') };
      // accepted, duplicate and unknown (1C does not know the message) are all final.
      if (r.status === 'rejected') return { kind: 'rejected', reason: `1C rejected the status: ${r.error ?? 'no reason given'}` };
      return { kind: 'done' };
    });
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    this.halt = haltController();
    await Promise.all([this.lane.start(), this.statusLane.start()]);
  }

  async pause(): Promise<void> {
    this.halt.abort();
    await Promise.all([this.lane.pause(), this.statusLane.pause()]);
  }

  async resume(): Promise<void> {
    this.halt = haltController();
    await Promise.all([this.lane.resume(), this.statusLane.resume()]);
  }

  async stop(): Promise<void> {
    this.halt.abort();
    await Promise.all([this.lane.stop(), this.statusLane.stop()]);
  }

  async close(): Promise<void> {
    this.halt.abort();
    await Promise.all([this.lane.close(), this.statusLane.close()]);
  }
}

/** Every chat waiting for a send slot listens on it (up to the lane's concurrency). */
function haltController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

function takenOver(chatKey: string): ItemOutcome {
  return {
    kind: 'retry',
    error: new ConnectorError('chat_taken_over', `Another worker took over ${chatKey}; this one stops.`, { retryable: true }),
  };
}

function pausedError(): ConnectorError {
  return new ConnectorError('outbound_paused', 'Sending is paused (license withdrawn or shutting down).', {
    retryable: true,
    retryAfterMs: 1000,
  });
}

/** The event a record in `sent` or `failed` stands for (to re-queue after a crash). */
function statusEventOf(rec: OutboundRecord): StatusEvent {
  if (rec.status === 'failed') return { id: rec.id, status: 'failed', at: rec.failedAt ?? rec.updatedAt, error: rec.error ?? 'failed' };
  return { id: rec.id, status: 'sent', at: rec.sentAt ?? rec.updatedAt, nativeIds: rec.nativeIds };
}

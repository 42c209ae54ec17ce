/**
 * One emulated bot: its update queue with Telegram's getUpdates / webhook semantics, its
 * chats, files and sent messages, and the counters tests inspect.
 */
import type { ServerResponse } from 'node:http';
import {
  ApiFailure,
  type BotStats,
  type Fault,
  type GetUpdatesCall,
  type SentRecord,
  type TgChat,
  type TgObject,
  type TgUser,
  type WebhookDelivery,
} from './emulator-types.ts';
import type { BusinessConnectionState } from './emulator-business-state.ts';

/** Update kinds Telegram leaves out when allowed_updates is empty or never set. */
const OPT_IN_KINDS = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  filePath: string;
  bytes: Buffer;
  mime: string | null;
  fileName: string | null;
}

interface Waiter {
  res: ServerResponse;
  call: GetUpdatesCall;
  limit: number;
  timer: NodeJS.Timeout | null;
  finish: (outcome: GetUpdatesCall['outcome'], result?: TgObject[] | ApiFailure) => void;
}

export interface WebhookConfig {
  url: string;
  secretToken: string | null;
  allowedUpdates: string[] | null;
  maxConnections: number;
  lastErrorDate: number | null;
  lastErrorMessage: string | null;
}

export class BotState {
  readonly user: TgUser;
  readonly updates: TgObject[] = [];
  nextUpdateId = 100_000 + Math.floor(Math.random() * 1000);
  confirmedOffset = 0;
  allowedUpdates: string[] = [];
  waiter: Waiter | null = null;
  webhook: WebhookConfig | null = null;
  readonly chats = new Map<number, TgChat>();
  readonly blocked = new Set<number>();
  readonly messageIds = new Map<number, number>();
  /** Message ids that exist per chat (for reply checks). */
  readonly knownMessages = new Map<number, Set<number>>();
  readonly sent: SentRecord[] = [];
  readonly files = new Map<string, StoredFile>();
  readonly faults = new Map<string, Fault>();
  /** Telegram Business connections by id. */
  readonly business = new Map<string, BusinessConnectionState>();
  readonly sendTimes: number[] = [];
  readonly chatSendTimes = new Map<number, number[]>();
  readonly stats: BotStats = {
    getUpdatesCalls: [],
    confirmedOffset: 0,
    pendingUpdates: 0,
    maxConcurrentPollers: 0,
    conflictsIssued: 0,
    rateLimitedIssued: 0,
    webhookDeliveries: [],
    calls: {},
  };
  webhookRunning = false;
  webhookWake: (() => void) | null = null;

  constructor(
    readonly token: string,
    user: TgUser,
  ) {
    this.user = user;
  }

  nextMessageId(chatId: number): number {
    const id = (this.messageIds.get(chatId) ?? 0) + 1;
    this.messageIds.set(chatId, id);
    let set = this.knownMessages.get(chatId);
    if (!set) this.knownMessages.set(chatId, (set = new Set()));
    set.add(id);
    return id;
  }

  /** Appends an update (its update_id is assigned here) and wakes a poller or the webhook. */
  push(body: TgObject, keepUpdateId = false): TgObject {
    const update = keepUpdateId && typeof body.update_id === 'number' ? body : { update_id: this.nextUpdateId, ...body };
    const id = update.update_id;
    if (typeof id === 'number' && id >= this.nextUpdateId) this.nextUpdateId = id + 1;
    else if (!keepUpdateId) this.nextUpdateId += 1;
    this.updates.push(update);
    this.wake();
    return update;
  }

  wake(): void {
    if (this.waiter) {
      const ready = this.deliverable(this.waiter.limit);
      if (ready.length) this.waiter.finish('updates', ready);
    }
    this.webhookWake?.();
  }

  private kindOf(u: TgObject): string | undefined {
    return Object.keys(u).find((k) => k !== 'update_id');
  }

  private isAllowed(u: TgObject, allowed: string[]): boolean {
    const kind = this.kindOf(u);
    if (!kind) return true;
    return allowed.length === 0 ? !OPT_IN_KINDS.has(kind) : allowed.includes(kind);
  }

  /** Confirms every update with update_id < offset (Telegram's offset semantics). */
  confirm(offset: number): void {
    if (offset < 0) {
      const keep = Math.min(-offset, this.updates.length);
      const drop = this.updates.length - keep;
      const last = this.updates[drop - 1];
      this.updates.splice(0, drop);
      if (last && typeof last.update_id === 'number') this.confirmedOffset = last.update_id + 1;
      return;
    }
    while (this.updates.length) {
      const id = Number(this.updates[0].update_id);
      if (!Number.isNaN(id) && id >= offset) break;
      this.updates.shift();
    }
    if (offset > this.confirmedOffset) this.confirmedOffset = offset;
  }

  /** Updates that would be returned now; disallowed kinds are dropped as Telegram does. */
  deliverable(limit: number, allowed = this.allowedUpdates): TgObject[] {
    for (let i = 0; i < this.updates.length;) {
      if (!this.isAllowed(this.updates[i], allowed)) this.updates.splice(i, 1);
      else i += 1;
    }
    return this.updates.slice(0, limit);
  }

  /**
   * A getUpdates request. Answers at once when updates are ready or timeout is 0, otherwise
   * waits. A second request while one waits ends the earlier one with 409.
   */
  getUpdates(
    params: { offset: number | null; limit: number; timeout: number; allowedUpdates: string[] | null },
    res: ServerResponse,
    reply: (res: ServerResponse, result: TgObject[] | ApiFailure) => void,
  ): void {
    const call: GetUpdatesCall = {
      offset: params.offset,
      limit: params.limit,
      timeout: params.timeout,
      at: Date.now(),
      outcome: 'empty',
      returned: [],
    };
    this.stats.getUpdatesCalls.push(call);
    if (this.webhook) {
      call.outcome = 'webhook_conflict';
      this.stats.conflictsIssued += 1;
      reply(
        res,
        new ApiFailure(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"),
      );
      return;
    }
    if (this.waiter) {
      this.stats.maxConcurrentPollers = Math.max(this.stats.maxConcurrentPollers, 2);
      this.stats.conflictsIssued += 1;
      this.waiter.finish(
        'conflict',
        new ApiFailure(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'),
      );
    }
    this.stats.maxConcurrentPollers = Math.max(this.stats.maxConcurrentPollers, 1);
    if (params.offset !== null && params.offset !== 0) this.confirm(params.offset);
    if (params.allowedUpdates) this.allowedUpdates = params.allowedUpdates;
    const ready = this.deliverable(params.limit);
    if (ready.length || params.timeout <= 0) {
      call.outcome = ready.length ? 'updates' : 'empty';
      call.returned = ready.map((u) => u.update_id as number);
      reply(res, ready);
      return;
    }
    let done = false;
    const waiter: Waiter = {
      res,
      call,
      limit: params.limit,
      timer: null,
      finish: (outcome, result) => {
        if (done) return;
        done = true;
        if (waiter.timer) clearTimeout(waiter.timer);
        if (this.waiter === waiter) this.waiter = null;
        call.outcome = outcome;
        if (Array.isArray(result)) call.returned = result.map((u) => u.update_id as number);
        if (result !== undefined && !res.writableEnded && !res.destroyed) reply(res, result);
      },
    };
    waiter.timer = setTimeout(() => waiter.finish('empty', []), params.timeout * 1000);
    res.on('close', () => {
      if (!res.writableEnded) waiter.finish('aborted');
    });
    this.waiter = waiter;
  }

  /** Takes a fault to inject for this method, if any. */
  takeFault(method: string): Fault | null {
    const f = this.faults.get(method) ?? this.faults.get('*');
    if (!f || f.remaining <= 0) return null;
    f.remaining -= 1;
    return f;
  }

  recordDelivery(d: WebhookDelivery): void {
    this.stats.webhookDeliveries.push(d);
  }

  close(): void {
    this.waiter?.finish('aborted');
    this.webhook = null;
    this.webhookWake?.();
  }
}

/**
 * The "all operators busy" auto-reply: a chat that waits in the queue longer than the
 * account's `autoReplies.allBusy.afterMinutes` gets it once per wait.
 *
 * Bounded cost: no scan of every chat. When routing queues a chat (a `routing.events` bus
 * event), its due time goes into one sorted set (`<prefix>:auto:busy-due`, chat → due ms);
 * an owner or a close removes it. A periodic check takes only what is due
 * (ZRANGEBYSCORE … LIMIT), checks the chat is still queued (the routing hash, so a lost
 * event cannot cause a wrong reply) and the account open (out of hours the out-of-hours
 * reply has said it all), sends, and drops the entry.
 *
 * A wait is counted from the first time the chat was queued: a transfer from group to
 * group does not restart it. The reply's id holds the event that began the wait
 * (`<chatId>:auto:busy:<routing version>`), so every instance and every retry sends it once.
 */
import type { Redis } from 'ioredis';
import type { RoutingChange } from '../connector-bus.ts';
import { parseChatKey } from '../core/index.ts';
import { routingChatKey } from '../routing/chat-routing.ts';
import { fillTemplate, type AutoReplies } from './auto-replies.ts';
import type { SettingsStore } from './settings-store.ts';
import { WorkingHours } from './working-hours.ts';

export interface AllBusyOptions {
  redis: Redis;
  prefix: string;
  store: Pick<SettingsStore, 'account'>;
  replies: Pick<AutoReplies, 'sendOnce'>;
  now?: () => number;
  /** Most due chats handled per check (default 200). */
  batch?: number;
}

/** Does this event leave the chat waiting in the queue (no owner)? */
function leavesQueued(e: RoutingChange): boolean {
  if (e.type === 'queued') return true;
  if (e.type === 'reopened' || e.type === 'transferred') return e.operatorId === null;
  return false;
}

export class AllBusyWatch {
  private readonly due: string;
  private readonly stint: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: AllBusyOptions) {
    this.due = `${o.prefix}:auto:busy-due`;
    this.stint = `${o.prefix}:auto:busy-stint`;
    this.now = o.now ?? Date.now;
  }

  async onEvents(events: RoutingChange[]): Promise<void> {
    for (const e of events) {
      if (!leavesQueued(e)) {
        await this.o.redis.multi().zrem(this.due, e.chatId).hdel(this.stint, e.chatId).exec();
        continue;
      }
      const account = parseChatKey(e.chatId)?.account;
      if (!account) continue;
      const busy = (await this.o.store.account(account)).autoReplies.allBusy;
      if (!busy) continue;
      const version = e.id.slice(e.id.lastIndexOf(':') + 1);
      // NX on both: a transfer between groups keeps the wait's start and its reply id.
      await this.o.redis
        .multi()
        .zadd(this.due, 'NX', String(this.now() + busy.afterMinutes * 60_000), e.chatId)
        .hsetnx(this.stint, e.chatId, version)
        .exec();
    }
  }

  /** Sends the replies that are due; returns how many went out from this call. */
  async check(): Promise<number> {
    const now = this.now();
    const due = await this.o.redis.zrangebyscore(this.due, '-inf', String(now), 'LIMIT', 0, this.o.batch ?? 200);
    let sent = 0;
    for (const chatId of due) {
      const [status, version] = await Promise.all([
        this.o.redis.hget(routingChatKey(this.o.prefix, chatId), 'status'),
        this.o.redis.hget(this.stint, chatId),
      ]);
      const account = parseChatKey(chatId)?.account;
      if (status === 'queued' && account && version) {
        const s = await this.o.store.account(account);
        const open = !s.workingHours || new WorkingHours(s).state(now).open;
        if (
          s.autoReplies.allBusy &&
          open &&
          (await this.o.replies.sendOnce(
            chatId,
            `${chatId}:auto:busy:${version}`,
            fillTemplate(s.autoReplies.allBusy.text, { name: null, opensAt: '' }),
          ))
        )
          sent++;
      }
      await this.o.redis.multi().zrem(this.due, chatId).hdel(this.stint, chatId).exec();
    }
    return sent;
  }

  start(everyMs: number, onError: (err: unknown) => void): void {
    if (this.timer || everyMs <= 0) return;
    this.timer = setInterval(() => {
      this.check().catch(onError);
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

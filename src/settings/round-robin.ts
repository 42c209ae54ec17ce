/**
 * Assignment `round_robin` (group settings): a new chat of the group goes at once to an
 * operator of the group who is logged in and has fewer than `maxOpenPerOperator` open chats;
 * when all are at their cap it stays queued and is assigned, oldest first, as soon as one
 * frees up (closes or hands over a chat, or logs in). Chats of an operator who logged out
 * or whose login expired go back to the group's queue after `returnAfterLogoutMinutes`.
 *
 * Fairness: the least-loaded operator first; among equally loaded ones a per-group counter
 * rotates (so two operators with nothing open alternate).
 *
 * State (Redis, every instance alike), kept up to date from the `routing.events` bus:
 *   <prefix>:assign:open:<operator>    set of chats they own (of any group)
 *   <prefix>:assign:owners             operators with open chats (the logout check's list)
 *   <prefix>:assign:waiting:<group>    queued chats of round-robin groups, by queued time
 *   <prefix>:assign:waiting-of         chat → the group it waits in
 *   <prefix>:assign:offline-since      operator → when the check first saw them gone
 * Assignments are routing transfers by actor `system` (the event goes to 1C in the routing
 * script). A fill of one group runs on one instance at a time (a short lock).
 */
import type { Redis } from 'ioredis';
import type { RoutingChange } from '../connector-bus.ts';
import type { ChatRouting } from '../routing/chat-routing.ts';
import type { Presence } from './duty-routing.ts';
import type { SettingsStore } from './settings-store.ts';

export interface RoundRobinOptions {
  redis: Redis;
  prefix: string;
  settings: Pick<SettingsStore, 'group'>;
  presence: Presence;
  routing: Pick<ChatRouting, 'transfer' | 'state'>;
  now?: () => number;
}

const SYSTEM = { kind: 'system' } as const;

export class RoundRobin {
  private readonly k: string;
  private readonly now: () => number;
  private readonly filling = new Set<string>();

  constructor(private readonly o: RoundRobinOptions) {
    this.k = `${o.prefix}:assign:`;
    this.now = o.now ?? Date.now;
  }

  private async isRoundRobin(group: string | null): Promise<boolean> {
    return !!group && (await this.o.settings.group(group)).assignment === 'round_robin';
  }

  /** The operator who should get a chat of this group now, or null (none online under the cap). */
  async pick(group: string): Promise<string | null> {
    const members = (await this.o.presence.groupMembers(group)).sort();
    if (members.length === 0) return null;
    const cap = (await this.o.settings.group(group)).maxOpenPerOperator;
    const loads = await Promise.all(members.map((m) => this.o.redis.scard(`${this.k}open:${m}`)));
    const free = members.map((m, i) => ({ m, load: loads[i] })).filter((x) => x.load < cap);
    if (free.length === 0) return null;
    const min = Math.min(...free.map((x) => x.load));
    const tied = free.filter((x) => x.load === min);
    const turn = await this.o.redis.incr(`${this.k}rr:${group}`);
    return tied[turn % tied.length].m;
  }

  /** For ChatRouting's `newChatTarget`: a round-robin group's new chat goes to `pick`. */
  async target(group: string): Promise<{ operatorId: string } | null> {
    if (!(await this.isRoundRobin(group))) return null;
    const op = await this.pick(group);
    return op ? { operatorId: op } : null;
  }

  async onEvents(events: RoutingChange[]): Promise<void> {
    const refill = new Set<string>();
    for (const e of events) {
      const m = this.o.redis.multi();
      if (e.previousOwner) m.srem(`${this.k}open:${e.previousOwner}`, e.chatId);
      const was = await this.o.redis.hget(`${this.k}waiting-of`, e.chatId);
      if (was) m.zrem(`${this.k}waiting:${was}`, e.chatId).hdel(`${this.k}waiting-of`, e.chatId);
      const owner = e.type === 'closed' || e.type === 'queued' ? null : e.operatorId;
      if (owner) m.sadd(`${this.k}open:${owner}`, e.chatId).sadd(`${this.k}owners`, owner);
      const queued = !owner && e.type !== 'closed';
      if (queued && e.group && (await this.isRoundRobin(e.group))) {
        m.zadd(`${this.k}waiting:${e.group}`, 'NX', String(this.now()), e.chatId).hset(`${this.k}waiting-of`, e.chatId, e.group);
      }
      await m.exec();
      if (e.group && (queued || e.previousOwner) && (await this.isRoundRobin(e.group))) refill.add(e.group);
    }
    for (const g of refill) await this.fill(g);
  }

  /** Assigns waiting chats of a group, oldest first, while someone is under the cap. */
  async fill(group: string): Promise<number> {
    // Assigning emits events that come back here: the outer loop does the work.
    if (this.filling.has(group)) return 0;
    const lock = `${this.k}fill-lock:${group}`;
    if ((await this.o.redis.set(lock, '1', 'PX', 5_000, 'NX')) !== 'OK') return 0;
    this.filling.add(group);
    let n = 0;
    try {
      for (;;) {
        const [chatId] = await this.o.redis.zrange(`${this.k}waiting:${group}`, '0', '0');
        if (!chatId) break;
        const st = await this.o.routing.state(chatId);
        if (!st || st.status !== 'queued' || st.group !== group) {
          await this.o.redis.multi().zrem(`${this.k}waiting:${group}`, chatId).hdel(`${this.k}waiting-of`, chatId).exec();
          continue;
        }
        const op = await this.pick(group);
        if (!op) break;
        await this.o.routing.transfer(chatId, { operatorId: op, group }, null, SYSTEM);
        n++;
      }
    } finally {
      this.filling.delete(group);
      await this.o.redis.del(lock);
    }
    return n;
  }

  /** The periodic part: return chats of operators who left, and fill queues (someone may have logged in). */
  async tick(): Promise<void> {
    await this.returnAbandoned();
    const groups = new Set(await this.o.redis.hvals(`${this.k}waiting-of`));
    for (const g of groups) await this.fill(g);
  }

  /**
   * The logout check (periodic): chats of an operator who has been gone for their group's
   * `returnAfterLogoutMinutes` go back to its queue (event `transferred`, actor `system`).
   * Returns how many chats were returned.
   */
  async returnAbandoned(): Promise<number> {
    const now = this.now();
    let returned = 0;
    for (const op of await this.o.redis.smembers(`${this.k}owners`)) {
      const chats = await this.o.redis.smembers(`${this.k}open:${op}`);
      if (chats.length === 0) {
        await this.o.redis.multi().srem(`${this.k}owners`, op).hdel(`${this.k}offline-since`, op).exec();
        continue;
      }
      if (await this.o.presence.isOnline(op)) {
        await this.o.redis.hdel(`${this.k}offline-since`, op);
        continue;
      }
      await this.o.redis.hsetnx(`${this.k}offline-since`, op, String(now));
      const since = Number(await this.o.redis.hget(`${this.k}offline-since`, op));
      for (const chatId of chats) {
        const st = await this.o.routing.state(chatId);
        if (!st || st.owner !== op) {
          await this.o.redis.srem(`${this.k}open:${op}`, chatId);
          continue;
        }
        const group = st.group;
        if (!group || !(await this.isRoundRobin(group))) continue;
        const grace = (await this.o.settings.group(group)).returnAfterLogoutMinutes * 60_000;
        if (now - since < grace) continue;
        await this.o.routing.transfer(chatId, { group }, null, SYSTEM);
        returned++;
      }
    }
    return returned;
  }
}

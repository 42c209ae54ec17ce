/**
 * Chat routing (MIKO semantics): a chat without owner is queued for a group (the default
 * one, or what a keyword rule picks from the first message); the first operator who replies
 * becomes the owner; transfer, close, and reopen with the previous owner on a new message.
 *
 * State lives in Redis (routing-scripts.ts), so every connector instance decides alike.
 * `routeOf` is the InboundRouter the pipeline calls in per-chat order: each message's
 * decision is stored under its id (with a TTL), so a redelivery gets the same route.
 * Every decision that changes a chat writes its RoutingEvent to the `routing` lane in the
 * same Lua script (the outbox, see routing-scripts.ts), so a crash cannot lose it; `kick`
 * then starts delivery at once, and `onEvents` tells the operators' feeds.
 *
 * Every event records who acted (`actor`): an operator id, `api` (the API token, i.e. 1C
 * or an administrator) or `system` (the connector itself: a new or reopened chat).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConnectorError, SYSTEM_SENDER, type InboundMessage, type Route, type RouteStatus } from '../core/index.ts';

const isSystemMessage = (m: InboundMessage): boolean => m.outgoing === true && m.sender.id === SYSTEM_SENDER.id;
import type { InboundRouter } from '../lanes/inbound-pipeline.js';
import { KeywordMatcher, loadRulesFile, validateRules, type KeywordRule } from './keyword-rules.ts';
import { KICK_FLAG_TTL_S } from '../lanes/ordered-lane.js';
import { defineScripts } from '../redis/redis-scripts.ts';
import { ROUTING_SCRIPTS } from './routing-scripts.ts';

/** The OrderedLane name of routing events (src/routing/routing-lane.ts). */
export const ROUTING_LANE = 'routing';

/** Who changes a chat: the API token, or a logged-in operator (with their groups). */
export type RoutingActor = { kind: 'api' } | { kind: 'operator'; id: string; groups: string[] };

/** The `actor` of an event: an operator id, `api`, or `system` (the connector itself). */
export function actorName(a: RoutingActor | SystemActor): string {
  return a.kind === 'operator' ? a.id : a.kind;
}

/**
 * The connector itself (assignment by settings: round robin, chats of an operator who left
 * returned to the queue). Never comes from a request: only code inside the connector holds it.
 */
export type SystemActor = { kind: 'system' };

/** A chat silent this long has its routing state forgotten (a new message starts it afresh): 180 days. */
export const CHAT_STATE_TTL_S = 180 * 24 * 3600;

export type RoutingEventType = 'queued' | 'assigned' | 'transferred' | 'closed' | 'reopened';

/** One routing event (the `POST /routing` item of onec-http-service.md, plus who is involved). */
export interface RoutingEvent {
  /** `<chatId>:routing:<version>`: stable, so a resend is a duplicate in 1C. */
  id: string;
  chatId: string;
  type: RoutingEventType;
  operatorId: string | null;
  group: string | null;
  comment?: string | null;
  at: string;
  /** The owner before this event (not sent to 1C; used to tell that operator). */
  previousOwner: string | null;
  /** Who acted: an operator id, `api` or `system` (additive field; 1C ignores unknown fields). */
  actor: string;
}

export interface ChatRouteState {
  chatId: string;
  status: RouteStatus;
  owner: string | null;
  group: string | null;
  /** The operator a keyword rule queued the chat for (until someone replies). */
  queuedFor: string | null;
  previousOwner: string | null;
  updatedAt: string | null;
}

export class ChatNotFoundError extends ConnectorError {
  constructor(chatId: string) {
    super('chat_not_found', `No chat ${chatId} is known to routing.`, { httpStatus: 404 });
  }
}

/** `403 not_chat_owner`: an operator acting on a chat that is neither theirs nor queued for them. */
export class NotChatOwnerError extends ConnectorError {
  constructor(chatId: string) {
    super(
      'not_chat_owner',
      `Chat ${chatId} belongs to another operator: only its owner, an operator of its group while it is queued, or the API token may change it.`,
      { httpStatus: 403, retryable: false },
    );
  }
}

export interface ChatRoutingOptions {
  redis: Redis;
  /** QUEUE_PREFIX; keys are `<prefix>:routing:*`. */
  prefix: string;
  /** Group of a new chat no rule matched (default `default`). */
  defaultGroup?: string;
  /** Is this operator logged in now? Decides reopen with the previous owner (default: never). */
  isOnline?: (operatorId: string) => Promise<boolean>;
  /** How long a message's decision is remembered (default 7 days, like the lane's dedupe). */
  decisionTtlS?: number;
  /**
   * Receives every event, in order per chat, after it is stored in the lane (the operators'
   * feeds). Awaited: a failure fails the caller. `fresh` is false for a redelivered message.
   */
  onEvents?: (events: RoutingEvent[], opts: { fresh: boolean }) => Promise<void>;
  /**
   * Starts delivery of a chat's new event (RoutingLane.kick). Optional and best effort: the
   * event is already in the lane, whose sweep finds it without a kick.
   */
  kick?: (chatId: string, seq: number) => Promise<void>;
  /**
   * Where a new chat goes instead of its group's queue (the settings' duty operator or duty
   * group, src/settings/duty-routing.ts): an operator gets it at once (`assigned`, actor
   * `system`), a group gets it queued. null: the usual queue. Asked once per new chat,
   * before the script; not asked when a keyword rule named an operator.
   */
  newChatTarget?: (first: InboundMessage, group: string) => Promise<{ operatorId: string } | { group: string } | null>;
}

type RoutingRedis = Redis & {
  routeMessage(...keysThenArgs: string[]): Promise<[string, number, number, number]>;
  routeClaim(...keysThenArgs: string[]): Promise<(string | number)[]>;
  routeTransfer(...keysThenArgs: string[]): Promise<(string | number)[]>;
  routeClose(...keysThenArgs: string[]): Promise<(string | number)[]>;
};

const s = (v: unknown): string | null => (v === undefined || v === null || v === '' ? null : String(v));

export class ChatRouting implements InboundRouter {
  private readonly redis: RoutingRedis;
  private readonly base: string;
  private readonly defaultGroup: string;
  private readonly ttlS: number;
  private readonly laneBase: string;
  private matcherRaw: string | null = null;
  private matcher = new KeywordMatcher([]);
  onEvents: ChatRoutingOptions['onEvents'];
  /** Installed by the settings feature after construction (see ChatRoutingOptions). */
  newChatTarget: ChatRoutingOptions['newChatTarget'];

  constructor(private readonly o: ChatRoutingOptions) {
    this.redis = o.redis as RoutingRedis;
    defineScripts(o.redis, ROUTING_SCRIPTS);
    this.base = `${o.prefix}:routing:`;
    this.laneBase = `${o.prefix}:lane:${ROUTING_LANE}:`;
    this.defaultGroup = o.defaultGroup ?? 'default';
    this.ttlS = o.decisionTtlS ?? 7 * 24 * 3600;
    this.onEvents = o.onEvents;
    this.newChatTarget = o.newChatTarget;
  }

  private chatKey(chatId: string): string {
    return routingChatKey(this.o.prefix, chatId);
  }

  /** The lane keys the outbox touches, in the order the scripts expect (scripts/includes/outbox.lua). */
  private laneKeys(chatId: string): string[] {
    const b = this.laneBase;
    return [`${b}seq`, `${b}q:${chatId}`, `${b}active`, `${b}kick:${chatId}`];
  }

  /** ARGV tail of the outbox: the chat (lane key), the `active` score, the kick flag's TTL. */
  private outboxArgs(chatId: string): string[] {
    return [chatId, String(Date.now()), String(KICK_FLAG_TTL_S)];
  }

  private async kickIf(chatId: string, seq: unknown, kick: unknown): Promise<void> {
    if (Number(kick) !== 1 || !this.o.kick) return;
    // A failed kick loses nothing: the event is pending in the lane and the sweep kicks it.
    await this.o.kick(chatId, Number(seq)).catch(() => undefined);
  }

  // ------------------------------------------------------------------ inbound

  async routeOf(messages: InboundMessage[]): Promise<Route[]> {
    const routes: Route[] = [];
    // The lane hands over one chat's messages at a time; split anyway, keeping order.
    let i = 0;
    while (i < messages.length) {
      if (isSystemMessage(messages[i])) {
        routes.push(await this.currentRoute(messages[i].chatId));
        i++;
        continue;
      }
      let j = i + 1;
      while (j < messages.length && messages[j].chatId === messages[i].chatId && !isSystemMessage(messages[j])) j++;
      routes.push(...(await this.routeChat(messages.slice(i, j))));
      i = j;
    }
    return routes;
  }

  /**
   * What the connector wrote itself (an auto-reply shown to 1C) changes nothing: it neither
   * opens, reopens nor queues a chat; it carries the chat's route as it stands.
   */
  private async currentRoute(chatId: string): Promise<Route> {
    const [status, owner, group, qf] = await this.redis.hmget(this.chatKey(chatId), 'status', 'owner', 'group', 'queuedFor');
    if (!status) return { status: 'queued', operatorId: null, group: this.defaultGroup };
    const st = status as RouteStatus;
    return { status: st, operatorId: (st === 'queued' ? qf : owner) || null, group: group || null };
  }

  /**
   * Routes consecutive messages of one chat in one Redis round trip: the chat's state before
   * the batch decides the inputs only the first message can use (a keyword rule on a new
   * chat's first message, the previous owner's presence on a reopen); the script then
   * applies them message by message, in order, each decision stored under its message id.
   */
  private async routeChat(batch: InboundMessage[]): Promise<Route[]> {
    const first = batch[0];
    const chat = this.chatKey(first.chatId);
    const [status, prev] = await this.redis.hmget(chat, 'status', 'previousOwner');
    let ruleGroup = '';
    let ruleUser = '';
    if (!status) {
      const hit = (await this.currentMatcher()).match(first.text);
      ruleGroup = hit?.rule.group ?? '';
      ruleUser = hit?.rule.operatorId ?? '';
    }
    let assignTo = '';
    if (!status && !ruleUser && this.newChatTarget) {
      const t = await this.newChatTarget(first, ruleGroup || this.defaultGroup);
      if (t && 'operatorId' in t) assignTo = t.operatorId;
      else if (t) ruleGroup = t.group;
    }
    let online = false;
    if (status === 'closed' && prev && this.o.isOnline) online = await this.o.isOnline(prev);
    const now = new Date().toISOString();
    const pipe = this.redis.pipeline() as unknown as {
      routeMessage(...a: string[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    for (const m of batch) {
      pipe.routeMessage(
        chat,
        `${this.base}msg:${m.id}`,
        ...this.laneKeys(m.chatId),
        now,
        String(this.ttlS),
        this.defaultGroup,
        ruleGroup,
        ruleUser,
        prev ?? '',
        online ? '1' : '0',
        ...this.outboxArgs(m.chatId),
        assignTo,
      );
    }
    const results = (await pipe.exec()) ?? [];
    // A chat's routing state lives CHAT_STATE_TTL_S after its last inbound message (issue 11 item 11).
    await this.redis.expire(chat, CHAT_STATE_TTL_S);
    const routes: Route[] = [];
    for (const [idx, m] of batch.entries()) {
      const [err, value] = results[idx] ?? [new Error('no answer'), null];
      if (err) throw err;
      const [raw, fresh, seq, kick] = value as [string, number, number, number];
      const d = JSON.parse(raw) as {
        status: RouteStatus;
        operatorId: string;
        group: string;
        event: string;
        version: number;
        at: string;
        previousOwner: string;
      };
      if (d.event) {
        await this.kickIf(m.chatId, seq, kick);
        // Given to the feeds again on a redelivery too (fresh=false: they skip it); the lane
        // got it once, inside the script that made the decision.
        const ev: RoutingEvent = {
          id: eventId(m.chatId, d.version),
          chatId: m.chatId,
          type: d.event as RoutingEventType,
          operatorId: s(d.operatorId),
          group: s(d.group),
          at: d.at,
          previousOwner: s(d.previousOwner),
          actor: 'system',
        };
        await this.onEvents?.([ev], { fresh: Number(fresh) === 1 });
      }
      routes.push({ status: d.status, operatorId: s(d.operatorId), group: s(d.group) });
    }
    return routes;
  }

  // ------------------------------------------------------------------ operators' actions

  /** An operator replied: they become the owner unless someone else already is. Returns the event, if any. */
  async claim(chatId: string, operatorId: string): Promise<RoutingEvent | null> {
    const at = new Date().toISOString();
    const r = await this.redis.routeClaim(
      this.chatKey(chatId),
      ...this.laneKeys(chatId),
      operatorId,
      at,
      this.defaultGroup,
      ...this.outboxArgs(chatId),
    );
    if (Number(r[0]) !== 1) return null;
    await this.kickIf(chatId, r[4], r[5]);
    const ev: RoutingEvent = {
      id: eventId(chatId, Number(r[1])),
      chatId,
      type: 'assigned',
      operatorId,
      group: s(r[2]),
      at,
      previousOwner: s(r[3]),
      actor: operatorId,
    };
    await this.onEvents?.([ev], { fresh: true });
    return ev;
  }

  /**
   * Transfers the chat to an operator or a group. `actor` must be allowed to (the API, the
   * owner, or for a queued chat one it is queued for): checked in the script, on the state
   * it changes. Whether the target exists is the caller's business (ChatActions).
   */
  async transfer(
    chatId: string,
    to: { operatorId?: string | null; group?: string | null },
    comment: string | null,
    actor: RoutingActor | SystemActor = { kind: 'api' },
  ): Promise<RoutingEvent> {
    const at = new Date().toISOString();
    const r = await this.redis.routeTransfer(
      this.chatKey(chatId),
      ...this.laneKeys(chatId),
      to.operatorId ?? '',
      to.group ?? '',
      at,
      actor.kind,
      actorName(actor),
      JSON.stringify(actor.kind === 'operator' ? actor.groups : []),
      comment ?? '',
      ...this.outboxArgs(chatId),
    );
    if (Number(r[0]) === -1) throw new ChatNotFoundError(chatId);
    if (Number(r[0]) === -2) throw new NotChatOwnerError(chatId);
    await this.kickIf(chatId, r[6], r[7]);
    const ev: RoutingEvent = {
      id: eventId(chatId, Number(r[1])),
      chatId,
      type: 'transferred',
      operatorId: s(r[3]),
      group: s(r[4]),
      comment: comment ?? null,
      at,
      previousOwner: s(r[5]),
      actor: actorName(actor),
    };
    await this.onEvents?.([ev], { fresh: true });
    return ev;
  }

  /** Closes the chat; null when it was closed already. The same rule for `actor` as transfer. */
  async close(chatId: string, actor: RoutingActor = { kind: 'api' }): Promise<RoutingEvent | null> {
    const at = new Date().toISOString();
    const r = await this.redis.routeClose(
      this.chatKey(chatId),
      ...this.laneKeys(chatId),
      at,
      actor.kind,
      actorName(actor),
      JSON.stringify(actor.kind === 'operator' ? actor.groups : []),
      ...this.outboxArgs(chatId),
    );
    if (Number(r[0]) === -1) throw new ChatNotFoundError(chatId);
    if (Number(r[0]) === -2) throw new NotChatOwnerError(chatId);
    if (Number(r[0]) === 0) return null;
    await this.kickIf(chatId, r[4], r[5]);
    const ev: RoutingEvent = {
      id: eventId(chatId, Number(r[1])),
      chatId,
      type: 'closed',
      operatorId: null,
      group: s(r[2]),
      at,
      previousOwner: s(r[3]),
      actor: actorName(actor),
    };
    await this.onEvents?.([ev], { fresh: true });
    return ev;
  }

  async state(chatId: string): Promise<ChatRouteState | null> {
    const h = await this.redis.hgetall(this.chatKey(chatId));
    if (!h.status) return null;
    return {
      chatId,
      status: h.status as RouteStatus,
      owner: s(h.owner),
      group: s(h.group),
      queuedFor: s(h.queuedFor),
      previousOwner: s(h.previousOwner),
      updatedAt: s(h.updatedAt),
    };
  }

  // ------------------------------------------------------------------ rules

  /** The rules every instance uses (Redis is the shared copy). */
  async rules(): Promise<KeywordRule[]> {
    return [...(await this.currentMatcher()).rules];
  }

  async setRules(input: unknown): Promise<KeywordRule[]> {
    const rules = validateRules(input);
    await this.redis.set(`${this.base}rules`, JSON.stringify(rules));
    return rules;
  }

  /**
   * Loads a rules file into Redis when its content changed since it was last loaded, so
   * an edited file wins at the next start while rules set over the API survive restarts.
   * Returns true when the file's rules were installed.
   */
  async loadRulesFile(path: string): Promise<boolean> {
    const { rules, text } = await loadRulesFile(path);
    const hash = createHash('sha256').update(text).digest('hex');
    const prev = await this.redis.getset(`${this.base}rules-file-hash`, hash);
    if (prev === hash && (await this.redis.exists(`${this.base}rules`))) return false;
    await this.redis.set(`${this.base}rules`, JSON.stringify(rules));
    return true;
  }

  private async currentMatcher(): Promise<KeywordMatcher> {
    const raw = await this.redis.get(`${this.base}rules`);
    if (raw !== this.matcherRaw) {
      this.matcherRaw = raw;
      this.matcher = new KeywordMatcher(raw ? validateRules(JSON.parse(raw)) : []);
    }
    return this.matcher;
  }
}

/** The Redis hash of a chat's routing state (status, owner, group, …; see routing-scripts.ts). */
export function routingChatKey(prefix: string, chatId: string): string {
  return `${prefix}:routing:chat:${chatId}`;
}

export function eventId(chatId: string, version: number): string {
  return `${chatId}:routing:${version}`;
}

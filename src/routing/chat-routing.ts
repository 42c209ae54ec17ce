/**
 * Chat routing (MIKO semantics): a chat without owner is queued for a group (the default
 * one, or what a keyword rule picks from the first message); the first operator who replies
 * becomes the owner; transfer, close, and reopen with the previous owner on a new message.
 *
 * State lives in Redis (routing-scripts.ts), so every connector instance decides alike.
 * `routeOf` is the InboundRouter the pipeline calls in per-chat order: each message's
 * decision is stored under its id (with a TTL), so a redelivery gets the same route.
 * Every decision that changes a chat yields a RoutingEvent given to `onEvents` (the feature
 * sends them to 1C through the `routing` lane and to the operators' feeds).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConnectorError, type InboundMessage, type Route, type RouteStatus } from '../core/index.ts';
import type { InboundRouter } from '../queues/inbound-pipeline.ts';
import { KeywordMatcher, loadRulesFile, validateRules, type KeywordRule } from './keyword-rules.ts';
import { CLAIM, CLOSE, ROUTE_MESSAGE, TRANSFER } from './routing-scripts.ts';

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
  /** Receives every event, in order per chat. Awaited: a failure fails the caller (which retries). */
  onEvents?: (events: RoutingEvent[], opts: { fresh: boolean }) => Promise<void>;
}

type RoutingRedis = Redis & {
  routeMessage(k1: string, k2: string, ...a: string[]): Promise<[string, number]>;
  routeClaim(k: string, ...a: string[]): Promise<(string | number)[]>;
  routeTransfer(k: string, ...a: string[]): Promise<(string | number)[]>;
  routeClose(k: string, ...a: string[]): Promise<(string | number)[]>;
};

const s = (v: unknown): string | null => (v === undefined || v === null || v === '' ? null : String(v));

export class ChatRouting implements InboundRouter {
  private readonly redis: RoutingRedis;
  private readonly base: string;
  private readonly defaultGroup: string;
  private readonly ttlS: number;
  private matcherRaw: string | null = null;
  private matcher = new KeywordMatcher([]);
  onEvents: ChatRoutingOptions['onEvents'];

  constructor(private readonly o: ChatRoutingOptions) {
    this.redis = o.redis as RoutingRedis;
    if (typeof this.redis.routeMessage !== 'function') {
      o.redis.defineCommand('routeMessage', { numberOfKeys: 2, lua: ROUTE_MESSAGE });
      o.redis.defineCommand('routeClaim', { numberOfKeys: 1, lua: CLAIM });
      o.redis.defineCommand('routeTransfer', { numberOfKeys: 1, lua: TRANSFER });
      o.redis.defineCommand('routeClose', { numberOfKeys: 1, lua: CLOSE });
    }
    this.base = `${o.prefix}:routing:`;
    this.defaultGroup = o.defaultGroup ?? 'default';
    this.ttlS = o.decisionTtlS ?? 7 * 24 * 3600;
    this.onEvents = o.onEvents;
  }

  private chatKey(chatId: string): string {
    return `${this.base}chat:${chatId}`;
  }

  // ------------------------------------------------------------------ inbound

  async routeOf(messages: InboundMessage[]): Promise<Route[]> {
    const routes: Route[] = [];
    // The lane hands over one chat's messages at a time; split anyway, keeping order.
    let i = 0;
    while (i < messages.length) {
      let j = i + 1;
      while (j < messages.length && messages[j].chatId === messages[i].chatId) j++;
      routes.push(...(await this.routeChat(messages.slice(i, j))));
      i = j;
    }
    return routes;
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
        now,
        String(this.ttlS),
        this.defaultGroup,
        ruleGroup,
        ruleUser,
        prev ?? '',
        online ? '1' : '0',
      );
    }
    const results = (await pipe.exec()) ?? [];
    // A chat's routing state lives CHAT_STATE_TTL_S after its last inbound message (issue 11 item 11).
    await this.redis.expire(chat, CHAT_STATE_TTL_S);
    const routes: Route[] = [];
    for (const [idx, m] of batch.entries()) {
      const [err, value] = results[idx] ?? [new Error('no answer'), null];
      if (err) throw err;
      const [raw, fresh] = value as [string, number];
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
        // Sent again on a redelivery too: the event id makes it a no-op downstream.
        const ev: RoutingEvent = {
          id: eventId(m.chatId, d.version),
          chatId: m.chatId,
          type: d.event as RoutingEventType,
          operatorId: s(d.operatorId),
          group: s(d.group),
          at: d.at,
          previousOwner: s(d.previousOwner),
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
    const r = await this.redis.routeClaim(this.chatKey(chatId), operatorId, at, this.defaultGroup);
    if (Number(r[0]) !== 1) return null;
    const ev: RoutingEvent = {
      id: eventId(chatId, Number(r[1])),
      chatId,
      type: 'assigned',
      operatorId,
      group: s(r[2]),
      at,
      previousOwner: s(r[3]),
    };
    await this.onEvents?.([ev], { fresh: true });
    return ev;
  }

  async transfer(chatId: string, to: { operatorId?: string | null; group?: string | null }, comment: string | null): Promise<RoutingEvent> {
    const at = new Date().toISOString();
    const r = await this.redis.routeTransfer(this.chatKey(chatId), to.operatorId ?? '', to.group ?? '', at);
    if (Number(r[0]) === -1) throw new ChatNotFoundError(chatId);
    const ev: RoutingEvent = {
      id: eventId(chatId, Number(r[1])),
      chatId,
      type: 'transferred',
      operatorId: s(r[3]),
      group: s(r[4]),
      comment: comment ?? null,
      at,
      previousOwner: s(r[5]),
    };
    await this.onEvents?.([ev], { fresh: true });
    return ev;
  }

  /** Closes the chat; null when it was closed already. */
  async close(chatId: string): Promise<RoutingEvent | null> {
    const at = new Date().toISOString();
    const r = await this.redis.routeClose(this.chatKey(chatId), at);
    if (Number(r[0]) === -1) throw new ChatNotFoundError(chatId);
    if (Number(r[0]) === 0) return null;
    const ev: RoutingEvent = {
      id: eventId(chatId, Number(r[1])),
      chatId,
      type: 'closed',
      operatorId: null,
      group: s(r[2]),
      at,
      previousOwner: s(r[3]),
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

export function eventId(chatId: string, version: number): string {
  return `${chatId}:routing:${version}`;
}

/**
 * The operator panel's per-chat history (issue 17): what the panel shows when an operator
 * opens a chat — inbound messages as 1C received them, outbound messages with their
 * delivery status, and routing events. 1C stays the system of record; this is a bounded
 * cache in Redis:
 *
 *   <prefix>:panel:h:<chatId>   sorted set  item id → time (ms)    ─┐ trimmed on every write to
 *   <prefix>:panel:m:<chatId>   hash        item id → item JSON     │ the last PANEL_HISTORY_MAX
 *                                           item id + "|s" → status │ items and PANEL_HISTORY_DAYS;
 *   <prefix>:panel:media:<chatId> set       media ids of the chat  ─┘ TTL PANEL_HISTORY_DAYS
 *   <prefix>:panel:recent       sorted set  chat id → last activity (ms), the newest RECENT_MAX
 *
 * A status is a field of its own next to the item, so an update never rewrites (or
 * re-encodes) the item. The media set tells the panel's media route which media ids belong
 * to a chat, so an operator who may read a chat can fetch its pictures and nothing else.
 */
import type { Redis } from 'ioredis';
import type { DeliveryStatus, InboundMessage, OutboundMessage } from '../core/index.ts';
import { defineScripts, luaScript } from '../redis/redis-scripts.ts';

export type { HistoryItem, HistoryStatus } from '../http/routes/panel-routes.ts';
import type { HistoryItem, HistoryStatus } from '../http/routes/panel-routes.ts';

const SCRIPTS = [
  luaScript(new URL('./scripts/panelPutMany-3.lua', import.meta.url)),
  luaScript(new URL('./scripts/panelStatus-2.lua', import.meta.url)),
];

/** Chats remembered for the panel's chat list after a (re)login; older ones still work, they just are not listed. */
export const RECENT_MAX = 5000;

const RANK: Record<DeliveryStatus, number> = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 9 };

type HistoryRedis = Redis & {
  panelPutMany(...keysThenArgs: string[]): Promise<string | null>;
  panelStatus(...keysThenArgs: string[]): Promise<number>;
};

export interface PanelHistoryOptions {
  redis: Redis;
  prefix: string;
  /** Most items kept per chat (PANEL_HISTORY_MAX). */
  maxItems: number;
  /** Days an item is kept (PANEL_HISTORY_DAYS). */
  days: number;
  now?: () => number;
}

export class PanelHistory {
  private readonly r: HistoryRedis;
  private readonly base: string;
  private readonly now: () => number;

  constructor(private readonly o: PanelHistoryOptions) {
    this.r = o.redis as HistoryRedis;
    this.base = `${o.prefix}:panel:`;
    this.now = o.now ?? Date.now;
    defineScripts(o.redis, SCRIPTS);
  }

  private keys(chatId: string): [string, string, string] {
    return [`${this.base}h:${chatId}`, `${this.base}m:${chatId}`, `${this.base}media:${chatId}`];
  }

  async add(chatId: string, item: HistoryItem, mediaIds: string[] = []): Promise<boolean> {
    const ms = Date.parse(item.at) || this.now();
    const ttlS = String(this.o.days * 86_400);
    // One item is a batch of one (panelPutMany-3: the same adding, trimming and TTLs).
    const last = await this.r.panelPutMany(
      ...this.keys(chatId),
      String(this.o.maxItems),
      String(this.o.days * 86_400_000),
      ttlS,
      item.id,
      String(ms),
      JSON.stringify(item),
      String(mediaIds.length),
      ...mediaIds,
    );
    const added = last === null || last === undefined ? 0 : 1;
    if (added === 1) {
      const recent = `${this.base}recent`;
      await this.r
        .pipeline()
        .zadd(recent, String(ms), chatId)
        .zremrangebyrank(recent, 0, -RECENT_MAX - 1)
        .exec();
    }
    return added === 1;
  }

  /** The chats with the newest activity first (at most `limit`). */
  async recentChats(limit: number): Promise<string[]> {
    return this.r.zrevrange(`${this.base}recent`, 0, limit - 1);
  }

  /** The newest item of a chat that is a message (not a routing event), if any is kept. */
  async lastMessage(chatId: string): Promise<HistoryItem | null> {
    const { items } = await this.page(chatId, null, 10);
    return [...items].reverse().find((i) => i.dir !== 'routing') ?? null;
  }

  addInbound(m: InboundMessage): Promise<boolean> {
    const at = m.receivedAt || m.sentAt;
    return this.add(
      m.chatId,
      { id: m.id, dir: 'in', at, message: m },
      m.media.map((x) => x.id),
    );
  }

  /**
   * Delivered inbound messages, as `addInbound` one by one would store them, in two round
   * trips: one panelPutMany per run of one chat's messages (pipelined), then the chat list.
   */
  async addInboundMany(messages: InboundMessage[]): Promise<number> {
    if (messages.length === 0) return 0;
    const maxAgeMs = String(this.o.days * 86_400_000);
    const ttlS = String(this.o.days * 86_400);
    const max = String(this.o.maxItems);
    const pipe = this.r.pipeline() as unknown as { panelPutMany(...a: string[]): void; exec(): Promise<[Error | null, unknown][] | null> };
    const chats: string[] = [];
    let i = 0;
    while (i < messages.length) {
      const chatId = messages[i].chatId;
      const args: string[] = [...this.keys(chatId), max, maxAgeMs, ttlS];
      for (; i < messages.length && messages[i].chatId === chatId; i++) {
        const m = messages[i];
        const at = m.receivedAt || m.sentAt;
        const item: HistoryItem = { id: m.id, dir: 'in', at, message: m };
        args.push(m.id, String(Date.parse(at) || this.now()), JSON.stringify(item), String(m.media.length), ...m.media.map((x) => x.id));
      }
      pipe.panelPutMany(...args);
      chats.push(chatId);
    }
    const res = (await pipe.exec()) ?? [];
    const recent: string[] = [];
    let added = 0;
    res.forEach(([err, last], k) => {
      if (err) throw err;
      if (last !== null && last !== undefined) {
        recent.push(String(last), chats[k]);
        added++;
      }
    });
    if (recent.length) {
      const key = `${this.base}recent`;
      await this.r
        .pipeline()
        .zadd(key, ...recent)
        .zremrangebyrank(key, 0, -RECENT_MAX - 1)
        .exec();
    }
    return added;
  }

  addOutbound(m: OutboundMessage): Promise<boolean> {
    const item: HistoryItem = { id: m.id, dir: 'out', at: m.createdAt, message: m };
    const media = m.media.map((x) => x.mediaId).filter((x): x is string => typeof x === 'string');
    return this.add(m.chatId, item, media);
  }

  addRouting(e: { id: string; chatId: string; at: string } & Record<string, unknown>): Promise<boolean> {
    return this.add(e.chatId, { id: e.id, dir: 'routing', at: e.at, event: e });
  }

  async setStatus(chatId: string, id: string, s: HistoryStatus): Promise<boolean> {
    const [h, m] = this.keys(chatId);
    return (await this.r.panelStatus(h, m, id, JSON.stringify(s), String(RANK[s.status]))) === 1;
  }

  /** Is this media id one of the chat's (received or sent)? */
  async hasMedia(chatId: string, mediaId: string): Promise<boolean> {
    return (await this.r.sismember(this.keys(chatId)[2], mediaId)) === 1;
  }

  /**
   * Up to `limit` items before the item `before` (or the newest), oldest first, and the id
   * to pass as `before` for the page before them (null at the start of the history).
   */
  async page(chatId: string, before: string | null, limit: number): Promise<{ items: HistoryItem[]; before: string | null }> {
    const [h, m] = this.keys(chatId);
    let end: number;
    if (before) {
      const rank = await this.r.zrank(h, before);
      if (rank === null) return { items: [], before: null };
      end = rank - 1;
    } else end = (await this.r.zcard(h)) - 1;
    if (end < 0) return { items: [], before: null };
    const start = Math.max(0, end - limit + 1);
    const ids = await this.r.zrange(h, String(start), String(end));
    if (ids.length === 0) return { items: [], before: null };
    const raw = await this.r.hmget(m, ...ids.flatMap((id) => [id, `${id}|s`]));
    const items: HistoryItem[] = [];
    for (let i = 0; i < ids.length; i++) {
      const json = raw[i * 2];
      if (!json) continue;
      const item = JSON.parse(json) as HistoryItem;
      const st = raw[i * 2 + 1];
      if (item.dir === 'out') item.status = st ? (JSON.parse(st) as HistoryStatus) : { status: 'queued', at: item.at };
      items.push(item);
    }
    return { items, before: start > 0 ? ids[0] : null };
  }
}

/**
 * Auto-replies (connector-api.md: outbound messages with `operatorId: "system"`):
 *
 * - greeting: on a customer's first message ever (`seq` 1 of the chat);
 * - out of hours: once per closed period per chat — the reply's id holds the chat and the
 *   start of the closed period (working-hours.ts), so every message of that night maps to
 *   the same id and the next night to a new one. When it goes out for a chat's first
 *   message it replaces the greeting (one automatic answer, the one that says when we open).
 *
 * Exactly once: the id is derived from the chat and the rule, never random, and the
 * outbound store accepts an id once (a second accept answers "exists", no second send) —
 * so a redelivered message, or two instances handling the same chat, give one reply. A
 * marker key (`<prefix>:auto-reply:<id>`, 60 days) is set after the accept, so a reply is
 * not sent again after its outbound record has expired.
 *
 * 1C sees them in the chat: after the accept, each reply is also put into the chat's inbound
 * lane as a message sent by the connector (`outgoing: true`, sender id `system`, the reply's
 * own id), so it reaches 1C (`POST /messages`, or the pull log) in the chat's `seq` order
 * after the customer's message it answers, once (the lane dedupes by id), and its delivery
 * statuses name the same id. Such a message changes no routing state and gets no reply.
 *
 * Private chats only: in a group chat an automatic answer to every member would be noise.
 * Reactions, edits and deletions are not "writing to us" and get none.
 *
 * All time rules use the injected clock (`now`), so tests move time instead of waiting.
 */
import type { Redis } from 'ioredis';
import {
  parseChatKey,
  SYSTEM_SENDER,
  type ChatInfo,
  type InboundMessage,
  type NewInboundMessage,
  type OutboundMessage,
} from '../core/index.ts';
import type { EffectiveAccountSettings } from './account-settings.ts';
import type { SettingsStore } from './settings-store.ts';
import { formatOpensAt, WorkingHours } from './working-hours.ts';

/** The `operatorId` of everything the connector writes by itself. */
export const SYSTEM_OPERATOR = 'system';

const MARKER_TTL_S = 60 * 24 * 3600;
const NOT_WRITING = new Set(['edit', 'delete', 'reaction']);

export interface AutoRepliesOptions {
  redis: Redis;
  prefix: string;
  store: Pick<SettingsStore, 'account'>;
  /** Accepts an outbound message (idempotent by id). */
  submit(m: OutboundMessage): Promise<void>;
  /** Puts the reply into the chat's inbound lane, so 1C sees it in the chat (idempotent by id; InboundSink.ingest). */
  echo?(m: NewInboundMessage): Promise<unknown>;
  now?: () => number;
}

/** Fills `{name}` and `{opens_at}`; a missing name leaves no dangling ", !". */
export function fillTemplate(text: string, vars: { name: string | null; opensAt: string }): string {
  let out = text.replace(/\{opens_at\}/g, vars.opensAt);
  out = vars.name ? out.replace(/\{name\}/g, vars.name) : out.replace(/[ \t]*,?[ \t]*\{name\}/g, '');
  return out;
}

export class AutoReplies {
  private readonly now: () => number;

  constructor(private readonly o: AutoRepliesOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The ids of the replies a message calls for, in the order they are sent (exposed for tests). */
  async plan(m: InboundMessage, s: EffectiveAccountSettings): Promise<{ id: string; text: string }[]> {
    if (m.chat.type !== 'private' || NOT_WRITING.has(m.kind) || m.outgoing) return [];
    const now = this.now();
    const name = m.sender.name ?? m.sender.username ?? null;
    const out: { id: string; text: string }[] = [];
    let closedReply = false;
    if (s.autoReplies.outOfHours && s.workingHours) {
      const st = new WorkingHours(s).state(now);
      if (!st.open) {
        const period = st.periodStart === null ? 'long' : new Date(st.periodStart).toISOString();
        const opensAt = formatOpensAt(st.opensAt, now, s.timeZone, s.language);
        out.push({ id: `${m.chatId}:auto:closed:${period}`, text: fillTemplate(s.autoReplies.outOfHours, { name, opensAt }) });
        closedReply = true;
      }
    }
    if (s.autoReplies.greeting && m.seq === 1 && !closedReply) {
      out.push({ id: `${m.chatId}:auto:greeting`, text: fillTemplate(s.autoReplies.greeting, { name, opensAt: '' }) });
    }
    return out;
  }

  /** Sends what the delivered messages call for (in their order). */
  async onDelivered(messages: InboundMessage[]): Promise<number> {
    let sent = 0;
    // One settings read per account per batch, not per message (a batch is one chat's, or a few).
    const settings = new Map<string, Promise<EffectiveAccountSettings>>();
    for (const m of messages) {
      let s = settings.get(m.account);
      if (!s) settings.set(m.account, (s = this.o.store.account(m.account)));
      const plan = await this.plan(m, await s);
      for (const r of plan) if (await this.sendOnce(m.chatId, r.id, r.text, m.chat)) sent++;
    }
    return sent;
  }

  /** Accepts the reply `id` unless it was sent before; true when this call was the first. */
  async sendOnce(chatId: string, id: string, text: string, chat: ChatInfo = { type: 'private', title: null }): Promise<boolean> {
    const marker = `${this.o.prefix}:auto-reply:${id}`;
    if (await this.o.redis.exists(marker)) return false;
    const at = new Date(this.now()).toISOString();
    await this.o.submit({ id, chatId, text, media: [], replyTo: null, operatorId: SYSTEM_OPERATOR, createdAt: at });
    const parts = parseChatKey(chatId);
    if (this.o.echo && parts) {
      await this.o.echo({
        id,
        chatId,
        channel: parts.channel,
        account: parts.account,
        chat,
        sender: SYSTEM_SENDER,
        kind: 'text',
        text,
        media: [],
        replyTo: null,
        target: null,
        sentAt: at,
        receivedAt: at,
        outgoing: true,
      });
    }
    // After the accept and the echo: a crash in between only means both are tried again (no-ops by id).
    const first = await this.o.redis.set(marker, '1', 'EX', MARKER_TTL_S, 'NX');
    return first === 'OK';
  }
}

/**
 * Telegram Business updates → normalized messages. Wraps normalizeUpdate (which knows the
 * bot's own updates) and adds the business kinds:
 *
 * - `business_message` / `edited_business_message`: like message / edited_message, but in the
 *   chat `tgb:<bot>:<business user id>:<chat id>` — a customer who writes both to the bot and
 *   to the business account has two chats. A message whose sender is the business owner
 *   (typed on their phone) gets `outgoing: true`; one our bot sent through the connection
 *   (`sender_business_bot` is this bot) is our own reply echoed back and gives nothing.
 * - `deleted_business_messages`: one `delete` per message id, target = the deleted message.
 * - `business_connection`: no message (inbound-business-connections.ts stores it).
 *
 * The owner comes from `ownerOf` (the connection registry, filled by its prepare() before this
 * runs); a business update of a connection nobody can tell the owner of is `malformed`.
 */
import { buildMessageId, type NewInboundMessage } from '../../core/index.ts';
import {
  chatInfo,
  fromEdit,
  fromMessage,
  normalizeUpdate,
  senderOf,
  type Ctx,
  type NormalizeOptions,
  type NormalizeResult,
  type PendingMedia,
} from './inbound-normalize.ts';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);

export interface TelegramNormalizeOptions extends NormalizeOptions {
  /** The business user id a business connection belongs to, null when unknown. */
  businessOwnerOf?: (connectionId: string) => number | null;
}

export const BUSINESS_UPDATES = [
  'business_connection',
  'business_message',
  'edited_business_message',
  'deleted_business_messages',
] as const;

export function businessChatKey(bot: string, ownerId: number, chatId: number | string): string {
  return `tgb:${bot}:${ownerId}:${chatId}`;
}

/** `tgb:<bot>:<owner>:<chat>` → its parts, or null when the key is not a business chat key. */
export function parseBusinessChatKey(key: string): { bot: string; ownerId: number; chatId: number } | null {
  const m = /^tgb:([^:]+):(\d+):(-?\d+)$/.exec(key);
  return m ? { bot: m[1], ownerId: Number(m[2]), chatId: Number(m[3]) } : null;
}

export function normalizeTelegramUpdate(update: unknown, opts: TelegramNormalizeOptions): NormalizeResult {
  const u = obj(update);
  const kind = u ? BUSINESS_UPDATES.find((k) => u[k] !== undefined) : undefined;
  if (!u || !kind || typeof u.update_id !== 'number') return normalizeUpdate(update, opts);
  if (kind === 'business_connection') return { ok: [], media: [] };
  try {
    const body = obj(u[kind]);
    if (!body) return { malformed: `${kind} is not an object` };
    const connectionId = body.business_connection_id;
    if (typeof connectionId !== 'string') return { malformed: `${kind}: no business_connection_id` };
    const ownerId = opts.businessOwnerOf?.(connectionId) ?? null;
    if (ownerId === null) return { malformed: `${kind}: unknown business connection` };
    const ctx: Ctx = {
      account: opts.account,
      receivedAt: (opts.now ?? new Date()).toISOString(),
      chatKey: (chatId) => businessChatKey(opts.account, ownerId, chatId),
      texts: opts.texts,
    };
    if (kind === 'deleted_business_messages') return deleted(body, ctx);
    const echo = obj(body.sender_business_bot);
    if (echo && echo.username === opts.account) return { ok: [], media: [] };
    const own = obj(body.from)?.id === ownerId;
    if (kind === 'edited_business_message') {
      const r = fromEdit(body, ctx);
      if (typeof r === 'string') return { malformed: `${kind}: ${r}` };
      return { ok: [own ? { ...r, outgoing: true } : r], media: [] };
    }
    const r = fromMessage(body, ctx);
    if (typeof r === 'string') return { malformed: `${kind}: ${r}` };
    const media: PendingMedia[] = r.media ? [r.media] : [];
    return { ok: [own ? { ...r.message, outgoing: true } : r.message], media };
  } catch (err) {
    return { malformed: `could not read the update (${err instanceof Error ? err.message : String(err)})` };
  }
}

function deleted(body: Obj, ctx: Ctx): NormalizeResult {
  const chat = obj(body.chat);
  const chatId = chat?.id;
  if (!chat || typeof chatId !== 'number') return { malformed: 'deleted_business_messages: no valid chat' };
  if (!Array.isArray(body.message_ids)) return { malformed: 'deleted_business_messages: no message_ids' };
  const chatKey = (ctx.chatKey as (id: number) => string)(chatId);
  const ok: NewInboundMessage[] = body.message_ids
    .filter((id): id is number => typeof id === 'number')
    .map((id) => {
      const target = buildMessageId(chatKey, id);
      return {
        id: `${target}:delete`,
        chatId: chatKey,
        channel: 'telegram',
        account: ctx.account,
        chat: chatInfo(chat),
        sender: senderOf({}, chat),
        kind: 'delete',
        text: null,
        media: [],
        replyTo: null,
        target,
        // Telegram gives no time of the deletion: the time we learned of it.
        sentAt: ctx.receivedAt,
        receivedAt: ctx.receivedAt,
      };
    });
  return { ok, media: [] };
}

/**
 * Telegram Business in the emulated Bot API: a business account (a Premium user) connects a
 * bot, its customers' messages come as `business_message` (also what the owner types on the
 * phone), edits and deletions as `edited_business_message` / `deleted_business_messages`, and
 * every change of the connection as `business_connection` (Telegram sends no other event for a
 * removal: `is_enabled: false`).
 *
 * Sends with `business_connection_id` are refused as Telegram refuses them: an unknown or
 * disabled connection → 400 "Bad Request: BUSINESS_CONNECTION_INVALID"; a connection without
 * `rights.can_reply` → 403 "Forbidden: BOT_ACCESS_FORBIDDEN" (the wording of Telegram's
 * MTProto errors; the exact Bot API code was not verified against the real server). A business
 * chat has its own message ids (the owner's private chat), so sends go through a view of the
 * bot whose chats and message counters are the connection's.
 */
import type { BotState } from './bot-state.ts';
import { ApiFailure, type TgChat, type TgObject, type TgUser } from './emulator-types.ts';
import type { BusinessConnectionState } from './emulator-business-state.ts';

export { BusinessConnectionState } from './emulator-business-state.ts';

/** Checks a send's business_connection_id; returns the bot as seen through the connection. */
export function businessView(bot: BotState, params: Record<string, unknown>): { view: BotState; conn: BusinessConnectionState } | null {
  const id = params.business_connection_id;
  if (id === undefined || id === '') return null;
  const conn = bot.business.get(String(id));
  if (!conn || !conn.enabled) throw new ApiFailure(400, 'Bad Request: BUSINESS_CONNECTION_INVALID');
  if (!conn.canReply) throw new ApiFailure(403, 'Forbidden: BOT_ACCESS_FORBIDDEN');
  // Own chats and counters, everything else (sent log, files, stats, limits) the bot's.
  const view = Object.create(bot) as BotState;
  Object.defineProperties(view, {
    chats: { value: conn.chats },
    messageIds: { value: conn.messageIds },
    knownMessages: { value: conn.knownMessages },
    blocked: { value: new Set<number>() },
  });
  return { view, conn };
}

/** A sent message as it looks through a business connection: from the owner, marked with the bot. */
export function asBusinessMessage(msg: TgObject, bot: BotState, conn: BusinessConnectionState): TgObject {
  msg.business_connection_id = conn.id;
  msg.from = conn.owner;
  msg.sender_business_bot = { id: bot.user.id, is_bot: true, first_name: bot.user.first_name, username: bot.user.username };
  return msg;
}

/** A business account connected to one bot; its methods append the updates Telegram would send. */
export class SimulatedBusiness {
  constructor(
    private readonly bot: BotState,
    readonly conn: BusinessConnectionState,
  ) {}

  get id(): string {
    return this.conn.id;
  }

  private announce(): TgObject {
    return this.bot.push({ business_connection: this.conn.object() });
  }

  /** First announcement (called by the emulator). */
  connected(): TgObject {
    return this.announce();
  }

  /** The owner turns the bot off or disconnects it (`enabled: false`), or on again. */
  setEnabled(enabled: boolean): TgObject {
    this.conn.enabled = enabled;
    return this.announce();
  }

  /** The owner changes the bot's rights. */
  setCanReply(canReply: boolean): TgObject {
    this.conn.canReply = canReply;
    return this.announce();
  }

  /** A customer's private chat with the business account. */
  customer(user: TgUser): SimulatedBusinessChat {
    const chat: TgChat = { id: user.id, type: 'private', first_name: user.first_name };
    if (user.last_name) chat.last_name = user.last_name;
    if (user.username) chat.username = user.username;
    this.conn.chats.set(chat.id, chat);
    return new SimulatedBusinessChat(this.bot, this.conn, chat, user);
  }
}

export class SimulatedBusinessChat {
  constructor(
    private readonly bot: BotState,
    private readonly conn: BusinessConnectionState,
    readonly chat: TgChat,
    readonly person: TgUser,
  ) {}

  get id(): number {
    return this.chat.id;
  }

  private nextId(): number {
    const id = (this.conn.messageIds.get(this.chat.id) ?? 0) + 1;
    this.conn.messageIds.set(this.chat.id, id);
    let set = this.conn.knownMessages.get(this.chat.id);
    if (!set) this.conn.knownMessages.set(this.chat.id, (set = new Set()));
    set.add(id);
    return id;
  }

  private push(kind: string, body: TgObject): { update: TgObject; messageId: number } {
    // Telegram delivers nothing of a connection that is off.
    if (!this.conn.enabled) return { update: {}, messageId: body.message_id as number };
    return { update: this.bot.push({ [kind]: body }), messageId: body.message_id as number };
  }

  /** A text from the customer, or (`fromOwner`) one the owner typed on the phone. */
  text(text: string, o: { fromOwner?: boolean; replyTo?: number } = {}): { update: TgObject; messageId: number } {
    const msg: TgObject = {
      message_id: this.nextId(),
      from: o.fromOwner ? this.conn.owner : this.person,
      chat: this.chat,
      date: Math.floor(Date.now() / 1000),
      business_connection_id: this.conn.id,
      text,
    };
    if (o.replyTo !== undefined) msg.reply_to_message = { message_id: o.replyTo, chat: this.chat, date: msg.date };
    return this.push('business_message', msg);
  }

  /** The customer (or owner) edits a message. */
  edit(messageId: number, text: string, o: { fromOwner?: boolean } = {}): { update: TgObject; messageId: number } {
    const now = Math.floor(Date.now() / 1000);
    return this.push('edited_business_message', {
      message_id: messageId,
      from: o.fromOwner ? this.conn.owner : this.person,
      chat: this.chat,
      date: now - 1,
      edit_date: now,
      business_connection_id: this.conn.id,
      text,
    });
  }

  /** Messages deleted in this chat. */
  delete(messageIds: number[]): TgObject {
    if (!this.conn.enabled) return {};
    return this.bot.push({ deleted_business_messages: { business_connection_id: this.conn.id, chat: this.chat, message_ids: messageIds } });
  }
}

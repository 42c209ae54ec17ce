/**
 * A scripted TDLib double: answers requests from a script and emits TDLib's real update
 * objects (td_api.tl) — `updateAuthorizationState` with the AuthorizationState objects, in the
 * order TDLib sends them. Requests are recorded for the assertions.
 *
 * It also keeps chats as TDLib does (`addChat`, `deliver`): each chat's history and inbox read
 * state, so unscripted `getChats`, `getChat`, `getChatHistory` and `viewMessages` answer
 * consistently with what was delivered and marked read:
 *   getChats(chat_list, limit) → chats{total_count, chat_ids} (latest message first)
 *   getChat(chat_id) → chat{…, unread_count, last_read_inbox_message_id}
 *   getChatHistory(chat_id, from_message_id, offset 0, limit, only_local) → messages{total_count,
 *     messages[]} newest first, older than from_message_id (0 = from the last one), at most
 *     `historyPage` per answer and a single message for from_message_id 0 (as TDLib often does)
 *   viewMessages(chat_id, message_ids, force_read) → moves last_read_inbox_message_id, emits updateChatReadInbox
 */
import type { TdClient, TdObject } from '../../../src/channels/telegram-user/tdlib-client.ts';

/** An answer, or TDLib's `error` object (`{_: 'error', code, message}`), which makes invoke reject as tdl does. */
type Handler = (request: TdObject) => TdObject;

interface DoubleChat {
  chat: TdObject;
  /** Oldest first. */
  history: TdObject[];
  lastReadInbox: number;
}

export class TdlibDouble implements TdClient {
  readonly requests: TdObject[] = [];
  /** Most messages one getChatHistory answer holds (TDLib may give fewer than asked). */
  historyPage = 100;
  private readonly listeners = new Set<(u: TdObject) => void>();
  private readonly handlers = new Map<string, Handler>();
  private readonly chatModel = new Map<number, DoubleChat>();

  /** Sees every request before it is answered (e.g. to deliver a message meanwhile). */
  tap: ((request: TdObject) => void) | null = null;

  /** Script the answer to one request type. */
  on(type: string, handler: Handler): this {
    this.handlers.set(type, handler);
    return this;
  }

  /** Drops the scripted answer of a request type (the chat model or `ok` answers again). */
  off(type: string): this {
    this.handlers.delete(type);
    return this;
  }

  emit(update: TdObject): void {
    for (const l of [...this.listeners]) l(update);
  }

  authState(state: TdObject): void {
    this.emit({ _: 'updateAuthorizationState', authorization_state: state });
  }

  /** A chat TDLib knows (td_api.tl `chat`); announced by updateNewChat. */
  addChat(chat: TdObject): void {
    this.chatModel.set(chat.id as number, { chat, history: [], lastReadInbox: 0 });
    this.emit({ _: 'updateNewChat', chat: this.chatView(chat.id as number) });
  }

  /** A message arrives: into its chat's history, and announced by updateNewMessage unless `live` is false. */
  deliver(message: TdObject, live = true): void {
    this.chatModel.get(message.chat_id as number)?.history.push(message);
    if (live) this.emit({ _: 'updateNewMessage', message });
  }

  /** The chat as getChat answers it now. */
  chatView(chatId: number): TdObject {
    const c = this.chatModel.get(chatId);
    if (!c) return { _: 'error', code: 400, message: 'Chat not found' };
    const unread = c.history.filter((m) => m.is_outgoing !== true && (m.id as number) > c.lastReadInbox).length;
    return { ...c.chat, unread_count: unread, last_read_inbox_message_id: c.lastReadInbox };
  }

  private modelAnswer(r: TdObject): TdObject | null {
    switch (r._) {
      case 'getChats': {
        const ids = [...this.chatModel.values()]
          .sort((a, b) => ((b.history.at(-1)?.id as number) ?? 0) - ((a.history.at(-1)?.id as number) ?? 0))
          .map((c) => c.chat.id as number);
        return { _: 'chats', total_count: ids.length, chat_ids: ids.slice(0, r.limit as number) };
      }
      case 'getChat':
        return this.chatView(r.chat_id as number);
      case 'getChatHistory': {
        const c = this.chatModel.get(r.chat_id as number);
        if (!c) return { _: 'error', code: 400, message: 'Chat not found' };
        const from = r.from_message_id as number;
        const older = c.history.filter((m) => from === 0 || (m.id as number) < from).reverse();
        const n = from === 0 ? 1 : Math.min(r.limit as number, this.historyPage);
        return { _: 'messages', total_count: c.history.length, messages: older.slice(0, n) };
      }
      case 'viewMessages': {
        const c = this.chatModel.get(r.chat_id as number);
        if (!c) return null;
        c.lastReadInbox = Math.max(c.lastReadInbox, ...(r.message_ids as number[]));
        const view = this.chatView(r.chat_id as number);
        setImmediate(() =>
          this.emit({
            _: 'updateChatReadInbox',
            chat_id: r.chat_id,
            last_read_inbox_message_id: view.last_read_inbox_message_id,
            unread_count: view.unread_count,
          }),
        );
        return { _: 'ok' };
      }
      default:
        return null;
    }
  }

  async invoke(request: TdObject): Promise<TdObject> {
    this.requests.push(request);
    this.tap?.(request);
    const h = this.handlers.get(request._);
    const r = h ? h(request) : (this.modelAnswer(request) ?? { _: 'ok' });
    // TDLib answers first and emits the state change after, asynchronously.
    await Promise.resolve();
    if (r._ === 'error') throw Object.assign(new Error(String(r.message)), { code: r.code, message: r.message });
    return r;
  }

  onUpdate(listener: (u: TdObject) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.authState({ _: 'authorizationStateClosed' });
  }
}

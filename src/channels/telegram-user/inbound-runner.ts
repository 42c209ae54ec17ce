/**
 * One TDLib user account as an AccountRunner (issue 20, part 2): login state → account state,
 * and inbound in TDLib's order:
 *
 *   updateNewMessage → normalize → downloadFile (synchronous) → MediaStore → await sink.ingest()
 *     → viewMessages (the customer sees "read" only once the message is stored)
 *
 * Updates are handled one at a time in arrival order (a promise chain), so a burst after a
 * reconnect keeps per-chat order. A failed ingest is tried again with back-off before the next
 * update is touched; TDLib does not deliver an update twice, so the chain holds it meanwhile.
 * Names and chat types come from updateUser / updateNewChat, which TDLib sends before the
 * messages that need them. Group chats are taken only with `groups` (TELEGRAM_USER_GROUPS).
 * `updateChatReadOutbox` (the customer read our messages up to an id) goes to `onReadOutbox`;
 * a flood wait a send met shows in the account's `lastError` until it is over.
 *
 * Catch-up (TDLib delivers an updateNewMessage once: a process killed after delivery and before
 * the store lost it): on every authorizationStateReady, in the chain before any later update,
 * getChats → getChat for each → for chats with `unread_count` > 0, getChatHistory pages
 * (newest first) back to `last_read_inbox_message_id` → the incoming ones oldest first through
 * `take`, the live path. Since we mark read only what is stored, unread = possibly not stored;
 * a message stored but not yet marked read comes again with the same id, which the pipeline
 * drops as a repeat. Bounded by `catchUp` (chats, messages per chat, age); the runner emits
 * `catchUp` with a TdCatchUpReport when one is done. Not taken: the account's own messages
 * (the history cannot tell the owner's phone sends from ours) and chats read elsewhere.
 */
import { createReadStream } from 'node:fs';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeError,
  languageOrDefault,
  serviceTexts,
  silentLogger,
  type AccountConnectionState,
  type AccountLanguage,
  type AccountRunner,
  type AccountState,
  type ChatInfo,
  type InboundSink,
  type Logger,
  type MediaStore,
  type NewInboundMessage,
} from '../../core/index.ts';
import { normalizeTdMessage, userChatKey, type TdPendingFile } from './inbound-normalize.ts';
import { TdLogin } from './login-state.ts';
import type { TdClient, TdObject } from './tdlib-client.ts';

export interface TdUserRunnerOptions {
  /** The account name of TELEGRAM_USER_ACCOUNTS. */
  account: string;
  /** Opens this account's TDLib client (real: createTdlibClient; tests: a double). */
  open: () => Promise<TdClient>;
  mediaStore: MediaStore;
  logger?: Logger;
  /** First back-off after a failed ingest, ms (default 500), doubled up to 30 s. */
  backoffMinMs?: number;
  /** Take group chats too (default: private chats only). */
  groups?: boolean;
  /** The customer read our messages in `chatId` up to `lastReadId` (updateChatReadOutbox). */
  onReadOutbox?: (chatId: number, lastReadId: number) => void;
  /** Added to the state while TDLib waits for a phone number (e.g. why a takeover needs a login). */
  loginHint?: () => string | null;
  /** The account's language for the connector's own `service` texts (account settings; default `ru`). */
  language?: AccountLanguage;
  /** Recovery of unread incoming messages when the account opens (default on, with these bounds); false = off. */
  catchUp?: TdCatchUpOptions | false;
}

export interface TdCatchUpOptions {
  /** Chats read from the main chat list to look for unread messages (default 1000). */
  scanChats?: number;
  /** Chats with unread messages recovered per catch-up (default 100). */
  maxChats?: number;
  /** Unread messages recovered per chat, the newest ones (default 500). */
  maxMessages?: number;
  /** Older unread messages are not recovered (default 7 days), e.g. a backlog from before the first login. */
  maxAgeS?: number;
}

/** What one catch-up recovered (also logged). */
export interface TdCatchUpReport {
  chats: number;
  messages: number;
  /** Chats whose unread messages were not all recovered (a bound was hit). */
  incomplete: number[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** TDLib's page size limit for getChatHistory. */
const HISTORY_PAGE = 100;

export class TdUserRunner extends EventEmitter implements AccountRunner {
  readonly channel = 'telegram' as const;
  readonly leaseKey: string;
  login: TdLogin | null = null;
  private client: TdClient | null = null;
  private unsubscribe: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private st: AccountState;
  private readonly users = new Map<number, { name: string | null; username: string | null; phone: string | null }>();
  private readonly chats = new Map<number, ChatInfo>();
  private readonly log: Logger;
  private floodUntil = 0;
  private floodNote: string | null = null;

  constructor(private readonly opts: TdUserRunnerOptions) {
    super();
    this.leaseKey = `tgu:${opts.account}`;
    this.log = (opts.logger ?? silentLogger).child({ account: this.leaseKey });
    this.st = { channel: 'telegram', account: this.leaseKey, state: 'stopped', since: new Date().toISOString(), lastError: null };
  }

  state(): AccountState {
    if (this.st.state === 'open' && this.floodUntil > Date.now()) return { ...this.st, lastError: this.floodNote };
    return { ...this.st };
  }

  /** The TDLib client while this instance runs the account and it is logged in, else null. */
  openClient(): TdClient | null {
    return this.st.state === 'open' ? this.client : null;
  }

  /** Whether this instance runs the account (holds its lease and started it). */
  running(): boolean {
    return this.client !== null;
  }

  /** While a flood wait is on: how long it still lasts (ms) and its sentence; else null. */
  floodWait(): { leftMs: number; sentence: string } | null {
    const left = this.floodUntil - Date.now();
    return left > 0 ? { leftMs: left, sentence: this.floodNote ?? '' } : null;
  }

  /** A send met a flood wait: shown in the account's state until it is over. */
  noteFloodWait(waitMs: number, sentence: string): void {
    this.floodUntil = Date.now() + waitMs;
    this.floodNote = `${sentence} (until ${new Date(this.floodUntil).toISOString()})`;
    this.emit('state', this.state());
  }

  private setState(state: AccountConnectionState, lastError: string | null = null): void {
    if (this.st.state === state && this.st.lastError === lastError) return;
    this.st = { ...this.st, state, since: new Date().toISOString(), lastError };
    this.emit('state', this.state());
  }

  async start(sink: InboundSink): Promise<void> {
    if (this.client) return;
    this.stopping = false;
    this.setState('connecting');
    let client: TdClient;
    try {
      client = await this.opts.open();
    } catch (err) {
      this.setState('error', describeError(err));
      throw err;
    }
    this.client = client;
    this.login = new TdLogin(client);
    this.unsubscribe = client.onUpdate((u) => this.onUpdate(u, sink));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.chain;
    this.login?.close();
    await this.client?.close().catch(() => undefined);
    this.client = null;
    this.setState('stopped');
  }

  private async reopen(sink: InboundSink): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.chain;
    this.login?.close();
    const old = this.client;
    this.client = null;
    await old?.close().catch(() => undefined);
    if (this.stopping) return;
    this.log.info('the TDLib session ended; opening a new one for the next login');
    await this.start(sink).catch((err: unknown) => this.log.error({ err: describeError(err) }, 'could not open a new TDLib session'));
  }

  private onUpdate(u: TdObject, sink: InboundSink): void {
    switch (u._) {
      case 'updateAuthorizationState': {
        // TdLogin saw it first (subscribed earlier): mirror its step.
        const step = this.login?.step();
        if (step === 'ready') {
          this.setState('open');
          if (obj(u.authorization_state)?._ === 'authorizationStateReady') this.chain = this.chain.then(() => this.catchUpSafely(sink));
        } else if (step === 'wait_phone') {
          const hint = this.opts.loginHint?.();
          this.setState('pairing', `login: wait phone${hint ? ` (${hint})` : ''}`);
        } else if (step === 'wait_code' || step === 'wait_password') this.setState('pairing', `login: ${step.replace('_', ' ')}`);
        else if (step === 'logging_out' || step === 'closed') this.setState('logged_out', 'the session ended; log in again');
        // A closed TDLib instance takes no more requests: a new one asks for the phone again,
        // so a logged-out account can be logged in again without a restart.
        if (obj(u.authorization_state)?._ === 'authorizationStateClosed' && !this.stopping) void this.reopen(sink);
        return;
      }
      case 'updateUser': {
        const user = obj(u.user);
        const id = typeof user?.id === 'number' ? user.id : null;
        if (user && id !== null) {
          const name = [user.first_name, user.last_name].filter((x) => typeof x === 'string' && x).join(' ') || null;
          const username = obj(user.usernames)?.editable_username;
          this.users.set(id, {
            name,
            username: typeof username === 'string' && username ? username : null,
            phone: typeof user.phone_number === 'string' && user.phone_number ? user.phone_number : null,
          });
        }
        return;
      }
      case 'updateNewChat': {
        this.rememberChat(u.chat);
        return;
      }
      case 'updateChatReadOutbox': {
        if (typeof u.chat_id === 'number' && typeof u.last_read_outbox_message_id === 'number')
          this.opts.onReadOutbox?.(u.chat_id, u.last_read_outbox_message_id);
        return;
      }
      case 'updateNewMessage': {
        const message = u.message;
        // Our own sends: TDLib announces the pending copy as a new message (sending_state
        // set); 1C has them as outbound messages already. The owner's phone sends have none.
        if (obj(message)?.sending_state) return;
        this.chain = this.chain.then(() => this.take(message, sink));
        return;
      }
      case 'updateDeleteMessages': {
        // Only real deletions: TDLib also "deletes" messages it merely drops from its cache.
        if (u.is_permanent !== true || u.from_cache === true || typeof u.chat_id !== 'number' || !Array.isArray(u.message_ids)) return;
        const chatId = u.chat_id;
        const ids = u.message_ids.filter((x): x is number => typeof x === 'number');
        this.chain = this.chain.then(() => this.takeDeletes(chatId, ids, sink));
        return;
      }
      case 'updateMessageEdited': {
        // The new content came just before (updateMessageContent); getMessage gives it with
        // the sender and is_outgoing, in the chain so the edit follows what it edits.
        const chatId = u.chat_id;
        const messageId = u.message_id;
        const editDate = typeof u.edit_date === 'number' ? u.edit_date : Math.floor(Date.now() / 1000);
        this.chain = this.chain.then(async () => {
          const message = await this.client?.invoke({ _: 'getMessage', chat_id: chatId, message_id: messageId }).catch((err: unknown) => {
            this.log.warn({ err: describeError(err) }, 'could not read an edited TDLib message; the edit is skipped');
            return null;
          });
          if (message) await this.take(message, sink, editDate);
        });
        return;
      }
      default:
        return;
    }
  }

  private rememberChat(value: unknown): void {
    const chat = obj(value);
    const type = obj(chat?.type)?._;
    if (chat && typeof chat.id === 'number') {
      const kind =
        type === 'chatTypePrivate' || type === 'chatTypeSecret'
          ? 'private'
          : type === 'chatTypeSupergroup' && obj(chat.type)?.is_channel === true
            ? 'channel'
            : 'group';
      this.chats.set(chat.id, { type: kind, title: typeof chat.title === 'string' ? chat.title : null });
    }
  }

  /** Whether this runner takes the chat's messages (private; groups with the option; never channels). */
  private takesChat(chatId: number): boolean {
    const chat = this.chats.get(chatId);
    const type = chat?.type ?? (chatId > 0 ? 'private' : 'group');
    return type === 'private' || (type !== 'channel' && this.opts.groups === true);
  }

  private async catchUpSafely(sink: InboundSink): Promise<void> {
    try {
      const r = await this.catchUp(sink);
      this.emit('catchUp', r);
    } catch (err) {
      this.log.warn(
        { err: describeError(err) },
        'the TDLib catch-up of unread messages failed; unread messages may be missing until the next start',
      );
    }
  }

  /** See the module header: unread incoming messages, per chat oldest first, through `take`. */
  private async catchUp(sink: InboundSink): Promise<TdCatchUpReport> {
    const report: TdCatchUpReport = { chats: 0, messages: 0, incomplete: [] };
    const o = this.opts.catchUp;
    const client = this.client;
    if (o === false || !client || this.stopping) return report;
    const maxChats = o?.maxChats ?? 100;
    const maxMessages = o?.maxMessages ?? 500;
    const minDate = Math.floor(Date.now() / 1000) - (o?.maxAgeS ?? 7 * 86_400);
    const list = await client.invoke({ _: 'getChats', chat_list: { _: 'chatListMain' }, limit: o?.scanChats ?? 1000 });
    const chatIds = Array.isArray(list.chat_ids) ? list.chat_ids.filter((x): x is number => typeof x === 'number') : [];
    for (const chatId of chatIds) {
      if (this.stopping) break;
      // One chat TDLib cannot give (e.g. no longer accessible) does not stop the others.
      const chat = await client.invoke({ _: 'getChat', chat_id: chatId }).catch((err: unknown) => {
        this.log.warn({ chatId, err: describeError(err) }, 'TDLib catch-up: could not read a chat; it is skipped');
        return null;
      });
      if (!chat) continue;
      this.rememberChat(chat);
      const unread = num(chat.unread_count) ?? 0;
      const lastRead = num(chat.last_read_inbox_message_id) ?? 0;
      if (unread <= 0 || !this.takesChat(chatId)) continue;
      if (report.chats >= maxChats) {
        report.incomplete.push(chatId);
        continue;
      }
      report.chats += 1;
      const got = await this.unreadHistory(client, chatId, lastRead, maxMessages, minDate).catch((err: unknown) => {
        this.log.warn({ chatId, err: describeError(err) }, 'TDLib catch-up: could not read a chat history; it is skipped');
        return null;
      });
      if (!got) {
        report.incomplete.push(chatId);
        continue;
      }
      const { messages, complete } = got;
      if (!complete) report.incomplete.push(chatId);
      this.log.info(
        { chatId, unread, recovered: messages.length, complete },
        complete
          ? 'TDLib catch-up: unread messages of a chat taken again'
          : 'TDLib catch-up: only the newest unread messages of a chat were taken (a bound was hit)',
      );
      for (const m of messages) {
        if (this.stopping) return report;
        await this.take(m, sink);
        report.messages += 1;
      }
    }
    if (report.chats || report.incomplete.length)
      this.log.info({ chats: report.chats, messages: report.messages, incomplete: report.incomplete.length }, 'TDLib catch-up done');
    return report;
  }

  /**
   * The incoming messages after `lastRead`, oldest first: getChatHistory pages are newest first,
   * each from the oldest id of the one before. Whether `from_message_id` itself is in a page
   * does not matter (kept by id); a page with nothing older ends the walk. `complete` = reached
   * `lastRead` or the start of the history within `maxMessages` (not when the age bound cut it).
   */
  private async unreadHistory(
    client: TdClient,
    chatId: number,
    lastRead: number,
    maxMessages: number,
    minDate: number,
  ): Promise<{ messages: Obj[]; complete: boolean }> {
    const byId = new Map<number, Obj>();
    let from = 0;
    let end = false; // reached lastRead or the start of the history
    let aged = false; // reached messages older than the age bound
    while (!end && !aged && byId.size < maxMessages && !this.stopping) {
      const page = await client.invoke({
        _: 'getChatHistory',
        chat_id: chatId,
        from_message_id: from,
        offset: 0,
        limit: HISTORY_PAGE,
        only_local: false,
      });
      const messages = Array.isArray(page.messages) ? page.messages.map(obj).filter((m): m is Obj => m !== null) : [];
      const before = from;
      for (const m of messages) {
        const id = num(m.id);
        if (id === null) continue;
        if (from === 0 || id < from) from = id;
        if (id <= lastRead) end = true;
        else if ((num(m.date) ?? 0) < minDate) aged = true;
        // Only what a customer sent: the account's own messages (ours included) are not unread.
        else if (m.is_outgoing !== true && !m.sending_state) byId.set(id, m);
      }
      // Nothing older than the page before: the start of the history.
      if (from === before) end = true;
    }
    const ids = [...byId.keys()].sort((a, b) => a - b);
    return { messages: ids.slice(-maxMessages).map((id) => byId.get(id) as Obj), complete: end && ids.length <= maxMessages };
  }

  /** Deleted messages → one kind `delete` each (target = the message; sentAt = when we learned of it). */
  private async takeDeletes(chatId: number, ids: number[], sink: InboundSink): Promise<void> {
    const chat = this.chats.get(chatId) ?? { type: chatId > 0 ? ('private' as const) : ('group' as const), title: null };
    if (chat.type === 'channel' || (chat.type !== 'private' && !this.opts.groups) || !ids.length) return;
    const chatKey = userChatKey(this.opts.account, chatId);
    const now = new Date().toISOString();
    const user = chatId > 0 ? this.users.get(chatId) : undefined;
    const messages: NewInboundMessage[] = ids.map((id) => ({
      id: `${chatKey}:${id}:delete`,
      chatId: chatKey,
      channel: 'telegram',
      account: this.opts.account,
      chat,
      sender: { id: `tg:${chatId}`, name: user?.name ?? null, username: user?.username ?? null, phone: user?.phone ?? null },
      kind: 'delete',
      text: null,
      media: [],
      replyTo: null,
      target: `${chatKey}:${id}`,
      sentAt: now,
      receivedAt: now,
    }));
    let delay = this.opts.backoffMinMs ?? 500;
    while (!this.stopping) {
      try {
        await sink.ingest(messages);
        return;
      } catch (err) {
        this.log.error({ err: describeError(err) }, 'storing TDLib deletions failed; trying again');
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /**
   * One message: normalized, its file stored, ingested (retried until stored or stopping), then
   * marked read. With `editDate`: an `edit` of it instead (id `<message id>:edit:<edit_date>`,
   * `target` = the message, the new text), as the bot channel sends edits.
   */
  private async take(message: unknown, sink: InboundSink, editDate?: number): Promise<void> {
    const r = normalizeTdMessage(message, {
      account: this.opts.account,
      texts: serviceTexts(await languageOrDefault(this.opts.language, this.opts.account)),
      userOf: (id) => this.users.get(id) ?? null,
      chatOf: (id) => this.chats.get(id) ?? null,
    });
    if ('malformed' in r) {
      this.log.warn({ reason: r.malformed }, 'skipping a TDLib message the connector cannot use');
      return;
    }
    if (r.ok.chat.type === 'channel' || (r.ok.chat.type !== 'private' && !this.opts.groups)) return;
    const edit: NewInboundMessage | null =
      editDate === undefined
        ? null
        : {
            id: `${r.ok.id}:edit:${editDate}`,
            chatId: r.ok.chatId,
            channel: r.ok.channel,
            account: r.ok.account,
            chat: r.ok.chat,
            sender: r.ok.sender,
            kind: 'edit',
            text: r.ok.text,
            media: [],
            replyTo: null,
            target: r.ok.id,
            sentAt: new Date(editDate * 1000).toISOString(),
            receivedAt: r.ok.receivedAt,
            ...(r.ok.outgoing ? { outgoing: true as const } : {}),
          };
    let delay = this.opts.backoffMinMs ?? 500;
    for (;;) {
      try {
        const m: NewInboundMessage = edit ?? (r.file ? { ...r.ok, media: [await this.fetchFile(r.ok.chatId, r.file)] } : r.ok);
        await sink.ingest([m]);
        break;
      } catch (err) {
        if (this.stopping) return; // held, not read: see the module header
        this.log.error({ err: describeError(err) }, 'storing a TDLib message failed; trying again');
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    if (edit) return;
    const msg = obj(message) as Obj;
    await this.client
      ?.invoke({ _: 'viewMessages', chat_id: msg.chat_id, message_ids: [msg.id], force_read: true })
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'marking a TDLib message read failed'));
  }

  private async fetchFile(chatKey: string, f: TdPendingFile) {
    const client = this.client as TdClient;
    const file = await client.invoke({ _: 'downloadFile', file_id: f.tdFileId, priority: 1, offset: 0, limit: 0, synchronous: true });
    const path = obj(file.local)?.path;
    if (typeof path !== 'string' || !path) throw new Error('TDLib did not download the file');
    const unique = obj(file.remote)?.unique_id;
    return this.opts.mediaStore.save(chatKey, {
      nativeId: typeof unique === 'string' && unique ? unique : `td${f.tdFileId}`,
      mime: f.mime,
      fileName: f.fileName,
      declaredSize: f.size,
      open: async () => createReadStream(path),
    });
  }
}

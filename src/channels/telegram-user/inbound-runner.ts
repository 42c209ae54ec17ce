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
 * messages that need them. Not built yet: recovery by getChatHistory after the process died
 * with messages held, outbound, groups (only private chats are taken).
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
import { normalizeTdMessage, type TdPendingFile } from './inbound-normalize.ts';
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
  /** The account's language for the connector's own `service` texts (account settings; default `ru`). */
  language?: AccountLanguage;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);

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

  constructor(private readonly opts: TdUserRunnerOptions) {
    super();
    this.leaseKey = `tgu:${opts.account}`;
    this.log = (opts.logger ?? silentLogger).child({ account: this.leaseKey });
    this.st = { channel: 'telegram', account: this.leaseKey, state: 'stopped', since: new Date().toISOString(), lastError: null };
  }

  state(): AccountState {
    return { ...this.st };
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
    const client = await this.opts.open();
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

  private onUpdate(u: TdObject, sink: InboundSink): void {
    switch (u._) {
      case 'updateAuthorizationState': {
        // TdLogin saw it first (subscribed earlier): mirror its step.
        const step = this.login?.step();
        if (step === 'ready') this.setState('open');
        else if (step === 'wait_phone' || step === 'wait_code' || step === 'wait_password')
          this.setState('pairing', `login: ${step.replace('_', ' ')}`);
        else if (step === 'logging_out' || step === 'closed') this.setState('logged_out', 'the session ended; log in again');
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
        const chat = obj(u.chat);
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
        return;
      }
      case 'updateNewMessage': {
        const message = u.message;
        this.chain = this.chain.then(() => this.take(message, sink));
        return;
      }
      default:
        return;
    }
  }

  /** One message: normalized, its file stored, ingested (retried until stored or stopping), then marked read. */
  private async take(message: unknown, sink: InboundSink): Promise<void> {
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
    if (r.ok.chat.type !== 'private') return;
    let delay = this.opts.backoffMinMs ?? 500;
    for (;;) {
      try {
        const m: NewInboundMessage = r.file ? { ...r.ok, media: [await this.fetchFile(r.ok.chatId, r.file)] } : r.ok;
        await sink.ingest([m]);
        break;
      } catch (err) {
        if (this.stopping) return; // held, not read: see the module header
        this.log.error({ err: describeError(err) }, 'storing a TDLib message failed; trying again');
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
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

/**
 * An emulated Telegram Bot API server (node:http) for the demo, tests and benchmarks.
 * Real clients (grammY) talk to it through `apiRoot`: `new Bot(token, { client: { apiRoot } })`.
 *
 * Serves `/bot<token>/<method>` (JSON, form-urlencoded or multipart bodies) and
 * `GET /file/bot<token>/<file_path>`, answers `{ok:true,result}` or
 * `{ok:false,error_code,description,parameters?}` as Telegram does. Simulated customers
 * (`chat()`, `group()`, `pushRawUpdate()`) append updates; inspection methods (`sent()`,
 * `stats()`) show what the bots did.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BotState } from './bot-state.ts';
import {
  ApiFailure,
  type AddBotOptions,
  type BotStats,
  type FaultKind,
  type RateLimits,
  type SentRecord,
  type TelegramEmulatorOptions,
  type TgChat,
  type TgObject,
  type TgUser,
} from './emulator-types.ts';
import { BodyError, parseBody, readAll } from './http-body.ts';
import { getFile, MEDIA_METHODS, registerFile, sendMedia, sendMessage, chatOf } from './emulator-methods.ts';
import { SimulatedChat, type SimulatedUserInput } from './simulated-chat.ts';
import { asBusinessMessage, businessView, BusinessConnectionState, SimulatedBusiness } from './emulator-business.ts';

const DEFAULT_LIMITS: RateLimits = { enabled: false, perChatPerSec: 1, perGroupPerMin: 20, perBotPerSec: 30 };

/**
 * Events (for tests that await instead of sleeping): `getUpdates` (token, GetUpdatesCall) when a
 * getUpdates request arrives; `sent` (token, SentRecord) after a send succeeded;
 * `delivery` (token, WebhookDelivery) after a webhook POST ended; `call` (token, method).
 */
export class TelegramEmulator extends EventEmitter {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly bots = new Map<string, BotState>();
  private base = '';
  private nextUserId = 700_000_000;
  private nextGroupId = 1_000_000_000;
  private stopped = false;
  limits: RateLimits;
  private readonly opts: Required<Omit<TelegramEmulatorOptions, 'limits'>>;

  constructor(options: TelegramEmulatorOptions = {}) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.opts = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      webhookRetryMs: options.webhookRetryMs ?? 100,
      webhookMaxRetryMs: options.webhookMaxRetryMs ?? 2000,
      webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
      maxDownloadBytes: options.maxDownloadBytes ?? 20 * 1024 * 1024,
      maxBodyBytes: options.maxBodyBytes ?? 60 * 1024 * 1024,
    };
  }

  /** `http://host:port` — pass as grammY's `client.apiRoot`. */
  get apiRoot(): string {
    if (!this.base) throw new Error('TelegramEmulator is not started');
    return this.base;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.base = `http://${host}:${addr.port}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const bot of this.bots.values()) bot.close();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  // ---- bots and chats -------------------------------------------------------------------

  addBot(o: AddBotOptions): TgUser {
    if (!o.token.startsWith(`${o.id}:`)) throw new Error('token must be "<id>:<secret>" with the bot id');
    const user: TgUser = { id: o.id, is_bot: true, first_name: o.firstName ?? o.username, username: o.username };
    this.bots.set(o.token, new BotState(o.token, user));
    return user;
  }

  private bot(token: string): BotState {
    const b = this.bots.get(token);
    if (!b) throw new Error('unknown bot (addBot first)');
    return b;
  }

  /** A user with a fresh id unless given. */
  user(u: SimulatedUserInput): TgUser {
    const user: TgUser = { id: u.id ?? this.nextUserId++, is_bot: false, first_name: u.firstName };
    if (u.lastName) user.last_name = u.lastName;
    if (u.username) user.username = u.username;
    user.language_code = u.languageCode ?? 'ru';
    return user;
  }

  /** A private chat of `user` with the bot; its methods append updates as the customer. */
  chat(token: string, user: TgUser | SimulatedUserInput): SimulatedChat {
    const u = 'is_bot' in user ? user : this.user(user);
    const chat: TgChat = { id: u.id, type: 'private', first_name: u.first_name };
    if (u.last_name) chat.last_name = u.last_name;
    if (u.username) chat.username = u.username;
    return this.simulated(token, chat, u);
  }

  /** A group (negative id; `supergroup` gives a -100… id) the bot is a member of. */
  group(token: string, g: { title: string; id?: number; supergroup?: boolean; members?: TgUser[] }): SimulatedChat {
    const n = this.nextGroupId++;
    const id = g.id ?? (g.supergroup ? -(1_000_000_000_000 + n) : -n);
    const chat: TgChat = { id, type: g.supergroup ? 'supergroup' : 'group', title: g.title };
    return this.simulated(token, chat, g.members?.[0] ?? this.user({ firstName: 'Member' }));
  }

  private simulated(token: string, chat: TgChat, defaultFrom: TgUser): SimulatedChat {
    const bot = this.bot(token);
    bot.chats.set(chat.id, chat);
    return new SimulatedChat(bot, chat, defaultFrom);
  }

  /**
   * A Telegram Business account (`owner`) connects this bot: appends the `business_connection`
   * update. `canReply` false gives a read-only connection.
   */
  connectBusiness(token: string, owner: TgUser | SimulatedUserInput, o: { canReply?: boolean; id?: string } = {}): SimulatedBusiness {
    const bot = this.bot(token);
    const u = 'is_bot' in owner ? owner : this.user(owner);
    const id = o.id ?? `biz${u.id}${Math.random().toString(36).slice(2, 10)}`;
    const conn = new BusinessConnectionState(id, u, o.canReply ?? true);
    bot.business.set(id, conn);
    const b = new SimulatedBusiness(bot, conn);
    b.connected();
    return b;
  }

  /** Appends any object as an update (malformed ones included); update_id assigned unless present. */
  pushRawUpdate(token: string, update: TgObject): TgObject {
    return this.bot(token).push(update, 'update_id' in update);
  }

  /** Registers bytes as a file of this bot (getFile + download serve it). */
  addFile(
    token: string,
    bytes: Buffer,
    opts: { mime?: string; fileName?: string } = {},
  ): { fileId: string; fileUniqueId: string; filePath: string } {
    const f = registerFile(this.bot(token), bytes, opts);
    return { fileId: f.fileId, fileUniqueId: f.fileUniqueId, filePath: f.filePath };
  }

  /** Marks the chat as having blocked the bot (sends → 403) or unblocks it. */
  setBlocked(token: string, chatId: number, blocked = true): void {
    const b = this.bot(token);
    if (blocked) b.blocked.add(chatId);
    else b.blocked.delete(chatId);
  }

  /** The next `count` calls of `method` (or `*` for any) fail with `kind`. */
  injectFault(token: string, method: string, kind: FaultKind, count = 1, retryAfter = 1): void {
    this.bot(token).faults.set(method, { kind, remaining: count, retryAfter });
  }

  setLimits(l: Partial<RateLimits>): void {
    this.limits = { ...this.limits, ...l };
  }

  // ---- inspection -----------------------------------------------------------------------

  /** Messages the bot sent, in order; to one chat when `chatId` is given. */
  sent(token: string, chatId?: number): SentRecord[] {
    const all = this.bot(token).sent;
    return chatId === undefined ? [...all] : all.filter((s) => s.chatId === chatId);
  }

  stats(token: string): BotStats {
    const b = this.bot(token);
    return { ...b.stats, confirmedOffset: b.confirmedOffset, pendingUpdates: b.updates.length };
  }

  /** Updates not yet confirmed, oldest first. */
  pending(token: string): TgObject[] {
    return [...this.bot(token).updates];
  }

  webhookInfo(token: string): TgObject {
    return this.webhookInfoOf(this.bot(token));
  }

  // ---- HTTP -----------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) return this.download(decodeURIComponent(file[1]), decodeURIComponent(file[2]), res);
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return this.reply(res, new ApiFailure(404, 'Not Found'));
    const bot = this.bots.get(decodeURIComponent(m[1]));
    if (!bot) return this.reply(res, new ApiFailure(401, 'Unauthorized'));
    const method = m[2];
    bot.stats.calls[method] = (bot.stats.calls[method] ?? 0) + 1;
    this.emit('call', bot.token, method);
    let body;
    try {
      body = parseBody(req.headers['content-type'], await readAll(req, this.opts.maxBodyBytes), url.searchParams);
    } catch (err) {
      if (err instanceof BodyError) return this.reply(res, new ApiFailure(err.status, err.message));
      res.destroy();
      return;
    }
    const fault = bot.takeFault(method);
    if (fault) {
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === '429') {
        bot.stats.rateLimitedIssued += 1;
        return this.reply(
          res,
          new ApiFailure(429, `Too Many Requests: retry after ${fault.retryAfter}`, { retry_after: fault.retryAfter }),
        );
      }
      return this.reply(res, new ApiFailure(Number(fault.kind), fault.kind === '500' ? 'Internal Server Error' : 'Bad Gateway'));
    }
    try {
      if (method.toLowerCase() === 'getupdates') {
        const p = body.params;
        const limit = Math.min(100, Math.max(1, Number(p.limit ?? 100) || 100));
        const allowed = Array.isArray(p.allowed_updates) ? (p.allowed_updates as unknown[]).map(String) : null;
        const offset = p.offset === undefined ? null : Number(p.offset);
        bot.getUpdates(
          {
            offset: Number.isFinite(offset) ? offset : null,
            limit,
            timeout: Math.max(0, Number(p.timeout ?? 0) || 0),
            allowedUpdates: allowed,
          },
          res,
          (r, result) => this.reply(r, result),
        );
        this.emit('getUpdates', bot.token, bot.stats.getUpdatesCalls[bot.stats.getUpdatesCalls.length - 1]);
        return;
      }
      const sentBefore = bot.sent.length;
      this.reply(res, this.call(bot, method, body.params, body.files));
      if (bot.sent.length > sentBefore) this.emit('sent', bot.token, bot.sent[bot.sent.length - 1]);
    } catch (err) {
      if (err instanceof ApiFailure) return this.reply(res, err);
      this.reply(res, new ApiFailure(500, 'Internal Server Error'));
    }
  }

  private call(
    bot: BotState,
    method: string,
    params: Record<string, unknown>,
    files: Map<string, import('./http-body.ts').UploadedFile>,
  ): unknown {
    switch (method.toLowerCase()) {
      case 'getme':
        return { ...bot.user, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'sendmessage': {
        const biz = businessView(bot, params);
        if (!biz) return sendMessage(bot, params, this.limits);
        return asBusinessMessage(sendMessage(biz.view, params, this.limits), bot, biz.conn);
      }
      case 'sendphoto':
      case 'senddocument':
      case 'sendvoice':
      case 'sendaudio':
      case 'sendvideo': {
        const name = Object.keys(MEDIA_METHODS).find((k) => k.toLowerCase() === method.toLowerCase()) as string;
        const biz = businessView(bot, params);
        if (!biz) return sendMedia(bot, name, params, files, this.limits);
        return asBusinessMessage(sendMedia(biz.view, name, params, files, this.limits), bot, biz.conn);
      }
      case 'getbusinessconnection': {
        const conn = bot.business.get(String(params.business_connection_id ?? ''));
        if (!conn) throw new ApiFailure(400, 'Bad Request: BUSINESS_CONNECTION_INVALID');
        return conn.object();
      }
      case 'sendchataction':
        chatOf(bot, params);
        return true;
      case 'getfile':
        return getFile(bot, params, this.opts.maxDownloadBytes);
      case 'setwebhook':
        return this.setWebhook(bot, params);
      case 'deletewebhook':
        if (params.drop_pending_updates === true || params.drop_pending_updates === 'true') bot.updates.length = 0;
        bot.webhook = null;
        bot.webhookWake?.();
        return true;
      case 'getwebhookinfo':
        return this.webhookInfoOf(bot);
      default:
        throw new ApiFailure(404, 'Not Found');
    }
  }

  private setWebhook(bot: BotState, params: Record<string, unknown>): true {
    const url = typeof params.url === 'string' ? params.url : '';
    if (url === '') {
      bot.webhook = null;
      bot.webhookWake?.();
      return true;
    }
    if (!/^https?:\/\//.test(url)) throw new ApiFailure(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    const secret = typeof params.secret_token === 'string' ? params.secret_token : null;
    if (secret !== null && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
      throw new ApiFailure(400, 'Bad Request: secret token contains unallowed characters');
    if (params.drop_pending_updates === true || params.drop_pending_updates === 'true') bot.updates.length = 0;
    bot.waiter?.finish('conflict', new ApiFailure(409, 'Conflict: terminated by setWebhook request'));
    bot.webhook = {
      url,
      secretToken: secret,
      maxConnections: Number(params.max_connections ?? 40) || 40,
      allowedUpdates: Array.isArray(params.allowed_updates) ? (params.allowed_updates as unknown[]).map(String) : null,
      lastErrorDate: null,
      lastErrorMessage: null,
    };
    if (bot.webhook.allowedUpdates) bot.allowedUpdates = bot.webhook.allowedUpdates;
    void this.deliverLoop(bot);
    return true;
  }

  private webhookInfoOf(bot: BotState): TgObject {
    const w = bot.webhook;
    const info: TgObject = { url: w?.url ?? '', has_custom_certificate: false, pending_update_count: bot.updates.length };
    if (w) {
      info.max_connections = w.maxConnections;
      if (w.allowedUpdates) info.allowed_updates = w.allowedUpdates;
      if (w.lastErrorDate !== null) {
        info.last_error_date = w.lastErrorDate;
        info.last_error_message = w.lastErrorMessage;
      }
    }
    return info;
  }

  /** Delivers a bot's updates to its webhook one at a time, in order; redelivers on failure. */
  private async deliverLoop(bot: BotState): Promise<void> {
    if (bot.webhookRunning) {
      bot.webhookWake?.();
      return;
    }
    bot.webhookRunning = true;
    let delay = this.opts.webhookRetryMs;
    const pause = (ms: number | null) =>
      new Promise<void>((resolve) => {
        const t =
          ms === null
            ? null
            : setTimeout(() => {
                bot.webhookWake = null;
                resolve();
              }, ms);
        bot.webhookWake = () => {
          if (t) clearTimeout(t);
          bot.webhookWake = null;
          resolve();
        };
      });
    try {
      while (bot.webhook && !this.stopped) {
        const hook = bot.webhook;
        const next = bot.deliverable(1)[0];
        if (!next) {
          await pause(null);
          continue;
        }
        let status: number | null = null;
        let error: string | null = null;
        try {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (hook.secretToken) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
          const r = await fetch(hook.url, {
            method: 'POST',
            headers,
            body: JSON.stringify(next),
            signal: AbortSignal.timeout(this.opts.webhookTimeoutMs),
          });
          status = r.status;
          await r.arrayBuffer().catch(() => undefined);
          if (status < 200 || status > 299) error = `Wrong response from the webhook: ${status} ${r.statusText}`;
        } catch (err) {
          error = `Connection failed: ${err instanceof Error ? err.message : String(err)}`;
        }
        const delivery = { updateId: next.update_id as number, url: hook.url, status, error, at: Date.now() };
        bot.recordDelivery(delivery);
        if (error === null) {
          if (bot.updates[0] === next) bot.confirm((next.update_id as number) + 1);
          delay = this.opts.webhookRetryMs;
          this.emit('delivery', bot.token, delivery);
        } else {
          this.emit('delivery', bot.token, delivery);
          hook.lastErrorDate = Math.floor(Date.now() / 1000);
          hook.lastErrorMessage = error;
          await pause(delay);
          delay = Math.min(delay * 2, this.opts.webhookMaxRetryMs);
        }
      }
    } finally {
      bot.webhookRunning = false;
    }
  }

  private download(token: string, path: string, res: ServerResponse): void {
    const bot = this.bots.get(token);
    if (!bot) return this.reply(res, new ApiFailure(401, 'Unauthorized'));
    const f = [...bot.files.values()].find((x) => x.filePath === path);
    if (!f) return this.reply(res, new ApiFailure(404, 'Not Found'));
    res.writeHead(200, { 'content-type': f.mime ?? 'application/octet-stream', 'content-length': String(f.bytes.length) });
    res.end(f.bytes);
  }

  private reply(res: ServerResponse, result: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    const body =
      result instanceof ApiFailure
        ? {
            ok: false,
            error_code: result.code,
            description: result.description,
            ...(result.parameters ? { parameters: result.parameters } : {}),
          }
        : { ok: true, result };
    const status = result instanceof ApiFailure ? result.code : 200;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }
}

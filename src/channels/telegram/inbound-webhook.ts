/**
 * Webhook mode for one bot (an AccountRunner). start() learns the username (getMe) and
 * calls setWebhook(`<webhookUrl>/telegram/<account>/webhook`, secret_token). Each POST goes
 * through `handle()`: the secret header is compared in constant time (401 on mismatch), the
 * update normalized, its media stored, the messages ingested — and only then 200, so a
 * failed ingest (500) makes Telegram deliver the update again. A malformed update is logged
 * and answered 200, so it is not redelivered forever.
 */
import { EventEmitter } from 'node:events';
import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GrammyError, type Bot } from 'grammy';
import {
  describeError,
  silentLogger,
  type AccountConnectionState,
  type AccountRunner,
  type AccountState,
  type InboundSink,
  type Logger,
  type MediaStore,
} from '../../core/index.ts';
import { updateIdOf } from './inbound-normalize.ts';
import { normalizeTelegramUpdate } from './inbound-business.ts';
import type { BusinessConnections } from './inbound-business-connections.ts';
import { attachMedia, grammySignal, redact } from './inbound-media.ts';
import { ALLOWED_UPDATES, botIdOf, createGrammyBot } from './inbound-poller.ts';

export interface WebhookAnswer {
  status: number;
  error?: { code: string; message: string };
}

export interface TelegramWebhookRunnerOptions {
  /** The bot token; never logged. */
  token: string;
  /** Bot API root (default `https://api.telegram.org`). */
  apiRoot?: string;
  /** Public base URL of the connector; the hook is `<webhookUrl>/telegram/<account>/webhook`. */
  webhookUrl: string;
  /** TELEGRAM_WEBHOOK_SECRET (A-Z a-z 0-9 _ -, 1–256 characters). */
  secret: string;
  mediaStore: MediaStore;
  logger?: Logger;
  /** First back-off of getMe / setWebhook retries, ms (default 1000), doubled up to 30 s. */
  backoffMinMs?: number;
  onAccount?: (username: string) => void;
  /** Telegram Business connections (saved before the update is answered 200). */
  business?: BusinessConnections;
}

/** Compares two secrets in constant time (on their hashes, so lengths never leak). */
export function secretsMatch(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

export function webhookPath(account: string): string {
  return `/telegram/${encodeURIComponent(account)}/webhook`;
}

/** Emits `state` (AccountState) on every state change. */
export class TelegramWebhookRunner extends EventEmitter implements AccountRunner {
  readonly channel = 'telegram' as const;
  readonly leaseKey: string;
  readonly bot: Bot;
  private log: Logger;
  private username: string | null = null;
  private sink: InboundSink | null = null;
  private st: AccountState;
  private readonly inFlight = new Set<Promise<unknown>>();
  private setup: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private readonly apiRoot: string;

  constructor(private readonly opts: TelegramWebhookRunnerOptions) {
    super();
    this.apiRoot = (opts.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
    this.leaseKey = `tg:${botIdOf(opts.token)}`;
    this.log = (opts.logger ?? silentLogger).child({ bot: this.leaseKey });
    this.bot = createGrammyBot(opts.token, this.apiRoot, 60);
    this.st = { channel: 'telegram', account: this.leaseKey, state: 'stopped', since: new Date().toISOString(), lastError: null };
  }

  get account(): string | null {
    return this.username;
  }

  state(): AccountState {
    return { ...this.st };
  }

  private setState(state: AccountConnectionState, lastError: string | null = null): void {
    this.st = { channel: 'telegram', account: this.username ?? this.leaseKey, state, since: new Date().toISOString(), lastError };
    this.emit('state', this.state());
  }

  async start(sink: InboundSink): Promise<void> {
    if (this.sink) return;
    this.sink = sink;
    this.abort = new AbortController();
    this.setState('connecting');
    this.setup = this.register(this.abort.signal);
  }

  /** getMe + setWebhook, retried with back-off until done, stopped, or the token is rejected. */
  private async register(signal: AbortSignal): Promise<void> {
    let delay = this.opts.backoffMinMs ?? 1000;
    while (!signal.aborted) {
      try {
        if (!this.username) {
          const me = await this.bot.api.getMe(grammySignal(signal));
          this.username = me.username;
          this.log = this.log.child({ account: me.username });
          this.opts.onAccount?.(me.username);
        }
        const url = `${this.opts.webhookUrl.replace(/\/+$/, '')}${webhookPath(this.username)}`;
        await this.bot.api.setWebhook(url, { secret_token: this.opts.secret, allowed_updates: [...ALLOWED_UPDATES] }, grammySignal(signal));
        this.log.info({ url }, 'Telegram webhook set');
        this.setState('open');
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) {
          this.log.error({ code: err.error_code }, 'Telegram rejected the bot token; the bot stays off until the token is fixed');
          this.setState('error', 'token rejected');
          return;
        }
        const detail = err instanceof GrammyError ? err.description : 'Telegram is unreachable';
        this.log.warn({ err: redact(describeError(err), this.opts.token) }, 'setting the Telegram webhook failed; retrying');
        this.setState('connecting', detail);
        await sleep(delay, undefined, { signal }).catch(() => undefined);
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.setup;
    this.sink = null;
    await Promise.allSettled([...this.inFlight]);
    if (this.st.state !== 'error') this.setState('stopped');
  }

  /** One webhook POST. Never throws. */
  handle(secretHeader: string | undefined, body: unknown): Promise<WebhookAnswer> {
    const p = this.handleOnce(secretHeader, body);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private async handleOnce(secretHeader: string | undefined, body: unknown): Promise<WebhookAnswer> {
    if (!secretsMatch(this.opts.secret, secretHeader)) {
      this.log.warn('a Telegram webhook call came with a wrong secret token; refused');
      return { status: 401, error: { code: 'invalid_webhook_secret', message: 'The webhook secret token does not match.' } };
    }
    const sink = this.sink;
    const account = this.username;
    if (!sink || !account) {
      return {
        status: 503,
        error: {
          code: 'account_not_running',
          message: 'This bot does not take updates on this instance right now; Telegram will deliver again.',
        },
      };
    }
    const updateId = updateIdOf(body);
    const business = this.opts.business;
    try {
      await business?.prepare(account, [body], { getBusinessConnection: (id) => this.bot.api.getBusinessConnection(id) });
    } catch (err) {
      this.log.error(
        { updateId, err: describeError(err) },
        'storing a Telegram business connection failed; Telegram will deliver it again',
      );
      return { status: 500, error: { code: 'ingest_failed', message: 'The update could not be stored; Telegram will deliver it again.' } };
    }
    const r = normalizeTelegramUpdate(body, { account, businessOwnerOf: (id) => business?.ownerOf(account, id) ?? null });
    if ('malformed' in r) {
      this.log.warn({ updateId, reason: r.malformed }, 'skipping a Telegram update the connector cannot use');
      return { status: 200 };
    }
    try {
      const messages = await attachMedia(
        { api: this.bot.api, token: this.opts.token, apiRoot: this.apiRoot, store: this.opts.mediaStore, logger: this.log },
        r.ok,
        r.media,
      );
      await sink.ingest(messages);
      return { status: 200 };
    } catch (err) {
      this.log.error(
        { updateId, err: redact(describeError(err), this.opts.token) },
        'storing a Telegram webhook update failed; Telegram will deliver it again',
      );
      return { status: 500, error: { code: 'ingest_failed', message: 'The update could not be stored; Telegram will deliver it again.' } };
    }
  }
}

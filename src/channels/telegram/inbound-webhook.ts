/**
 * Webhook mode for one bot (an AccountRunner). start() learns the username (getMe) and
 * calls setWebhook(`<webhookUrl>/telegram/<account>/webhook`, secret_token). Each POST goes
 * through `handle()`: the secret header is compared in constant time (401 on mismatch), the
 * update normalized, its media stored, the messages ingested — and only then 200, so a
 * failed ingest (500) makes Telegram deliver the update again. A malformed update is logged
 * and answered 200, so it is not redelivered forever.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GrammyError } from 'grammy';
import { abortableSleep, backoffDelayMs, describeError, type InboundSink, type MediaStore } from '../../core/index.ts';
import { updateIdOf } from './inbound-normalize.ts';
import { normalizeTelegramUpdate } from './inbound-business.ts';
import { attachMedia, grammySignal } from './inbound-media.ts';
import { ALLOWED_UPDATES } from './inbound-poller.ts';
import { TelegramAccountRunner, type TelegramRunnerBaseOptions } from './telegram-account-runner.ts';

export interface WebhookAnswer {
  status: number;
  error?: { code: string; message: string };
}

export interface TelegramWebhookRunnerOptions extends TelegramRunnerBaseOptions {
  /** Public base URL of the connector; the hook is `<webhookUrl>/telegram/<account>/webhook`. */
  webhookUrl: string;
  /** TELEGRAM_WEBHOOK_SECRET (A-Z a-z 0-9 _ -, 1–256 characters). */
  secret: string;
  mediaStore: MediaStore;
  /** First back-off of getMe / setWebhook retries, ms (default 1000), doubled up to 30 s. */
  backoffMinMs?: number;
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

/**
 * Only the holder of the account's lease runs start() (setWebhook), but every instance takes
 * webhook deliveries once the connector handed it the inbound sink (`acceptUpdates`): ingest
 * is idempotent by update id, so after a holder dies the others answer 200 at once instead of
 * 503 until its lease runs out.
 */
export class TelegramWebhookRunner extends TelegramAccountRunner {
  private readonly inFlight = new Set<Promise<unknown>>();
  private startedSink: InboundSink | null = null;
  private sharedSink: InboundSink | null = null;
  private setup: Promise<void> | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly opts: TelegramWebhookRunnerOptions) {
    super(opts, 60);
  }

  /** Lets this instance take deliveries whether or not it holds the lease. */
  acceptUpdates(sink: InboundSink): void {
    this.sharedSink = sink;
  }

  async start(sink: InboundSink): Promise<void> {
    if (this.startedSink) return;
    this.startedSink = sink;
    this.abort = new AbortController();
    this.setState('connecting');
    this.setup = this.register(this.abort.signal);
  }

  /** getMe + setWebhook, retried with back-off until done, stopped, or the token is rejected. */
  private async register(signal: AbortSignal): Promise<void> {
    const backoff = { minMs: this.opts.backoffMinMs ?? 1000, maxMs: 30_000 };
    for (let failures = 0; !signal.aborted; failures++) {
      try {
        const account = this.username ?? (await this.askGetMe(signal));
        const url = `${this.opts.webhookUrl.replace(/\/+$/, '')}${webhookPath(account)}`;
        await this.bot.api.setWebhook(url, { secret_token: this.opts.secret, allowed_updates: [...ALLOWED_UPDATES] }, grammySignal(signal));
        this.log.info({ url }, 'Telegram webhook set');
        this.setState('open');
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (this.tokenRejected(err, 'setWebhook')) return;
        const detail = err instanceof GrammyError ? err.description : 'Telegram is unreachable';
        this.log.warn({ err: this.redact(describeError(err)) }, 'setting the Telegram webhook failed; retrying');
        this.setState('connecting', detail);
        await abortableSleep(backoffDelayMs(failures, backoff), signal);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.setup;
    this.startedSink = null;
    await Promise.allSettled([...this.inFlight]);
    if (this.state().state !== 'error') this.setState('stopped');
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
    const sink = this.sharedSink ?? this.startedSink;
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
    const business = this.business;
    try {
      await business?.prepare(account, [body], { getBusinessConnection: (id) => this.bot.api.getBusinessConnection(id) });
    } catch (err) {
      this.log.error(
        { updateId, err: describeError(err) },
        'storing a Telegram business connection failed; Telegram will deliver it again',
      );
      return { status: 500, error: { code: 'ingest_failed', message: 'The update could not be stored; Telegram will deliver it again.' } };
    }
    const r = normalizeTelegramUpdate(body, {
      account,
      texts: await this.serviceTexts(account),
      businessOwnerOf: (id) => business?.ownerOf(account, id) ?? null,
    });
    if ('malformed' in r) {
      this.log.warn({ updateId, reason: r.malformed }, 'skipping a Telegram update the connector cannot use');
      return { status: 200 };
    }
    try {
      const messages = await attachMedia(
        { api: this.bot.api, token: this.token, apiRoot: this.apiRoot, store: this.opts.mediaStore, logger: this.log },
        r.ok,
        r.media,
      );
      await sink.ingest(messages);
      return { status: 200 };
    } catch (err) {
      this.log.error(
        { updateId, err: this.redact(describeError(err)) },
        'storing a Telegram webhook update failed; Telegram will deliver it again',
      );
      return { status: 500, error: { code: 'ingest_failed', message: 'The update could not be stored; Telegram will deliver it again.' } };
    }
  }
}

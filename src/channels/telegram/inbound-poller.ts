/**
 * Long polling for one bot (an AccountRunner). A hand-written loop, not bot.start() or the
 * runner plugin, because those confirm updates before we stored them:
 *
 *   getUpdates(offset) → normalize → download media → await sink.ingest() → offset = last + 1
 *
 * The offset only moves after ingest resolved, so an update is confirmed to Telegram (by the
 * next getUpdates) only once it is durably stored. If ingest throws, the offset stays and the
 * same updates come again (the pipeline dedupes by id). Malformed updates are logged with
 * their update_id and skipped. 409 (another poller or a webhook) and network errors back off
 * with jitter; 401 ends the runner in state `error` ("token rejected").
 */
import { GrammyError, HttpError } from 'grammy';
import {
  abortableSleep,
  backoffDelayMs,
  describeError,
  type InboundSink,
  type MediaStore,
  type NewInboundMessage,
} from '../../core/index.ts';
import { updateIdOf, type PendingMedia } from './inbound-normalize.ts';
import { BUSINESS_UPDATES, normalizeTelegramUpdate } from './inbound-business.ts';
import { attachMedia, grammySignal } from './inbound-media.ts';
import { TelegramAccountRunner, type TelegramRunnerBaseOptions } from './telegram-account-runner.ts';

export { botIdOf, createGrammyBot } from './telegram-account-runner.ts';

/** Update kinds we ask Telegram for (reactions and edits are opt-in or easy to forget). */
export const ALLOWED_UPDATES = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'message_reaction',
  ...BUSINESS_UPDATES,
] as const;

export interface TelegramPollerOptions extends TelegramRunnerBaseOptions {
  /** Where inbound files go. */
  mediaStore: MediaStore;
  /** Long-poll timeout in seconds (default 25). */
  pollTimeoutS?: number;
  /** Most updates per getUpdates (default 100). */
  limit?: number;
  /** First back-off after a failure, ms (default 1000); doubled per failure with jitter. */
  backoffMinMs?: number;
  /** Longest back-off, ms (default 30000). */
  backoffMaxMs?: number;
}

/**
 * The account is `open` as soon as the Bot API has answered getMe with the token: a quiet
 * bot's first long poll may be held for the whole poll timeout, and readiness must not wait
 * for it. After a failure it is `connecting` again until getMe or a poll answers.
 */
export class TelegramPoller extends TelegramAccountRunner {
  private readonly mediaStore: MediaStore;
  private readonly pollTimeoutS: number;
  private readonly limit: number;
  private readonly backoff: { minMs: number; maxMs: number };
  private offset: number | undefined;
  private confirmedOffset: number | undefined;
  private loop: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private stopping = false;
  private failures = 0;
  /** False after a failure: the next round asks getMe first, so `open` comes back at once. */
  private answered = false;

  constructor(opts: TelegramPollerOptions) {
    const pollTimeoutS = opts.pollTimeoutS ?? 25;
    super(opts, pollTimeoutS + 30);
    this.mediaStore = opts.mediaStore;
    this.pollTimeoutS = pollTimeoutS;
    this.limit = opts.limit ?? 100;
    this.backoff = { minMs: opts.backoffMinMs ?? 1000, maxMs: opts.backoffMaxMs ?? 30_000 };
  }

  async start(sink: InboundSink): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.abort = new AbortController();
    this.setState('connecting');
    this.loop = this.run(sink, this.abort.signal).catch((err: unknown) => {
      this.log.error({ err: this.redact(describeError(err)) }, 'the Telegram poller stopped on an unexpected error');
      this.setState('error', 'unexpected error');
    });
  }

  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.abort?.abort();
    await this.loop;
    this.loop = null;
    // Confirm what we stored, so the next poller (maybe on another instance) does not get it again.
    if (this.offset !== undefined && this.offset !== this.confirmedOffset && this.state().state !== 'error') {
      await this.bot.api.getUpdates({ offset: this.offset, limit: 1, timeout: 0 }).then(
        () => {
          this.confirmedOffset = this.offset;
        },
        () => undefined,
      );
    }
    if (this.state().state !== 'error') this.setState('stopped');
  }

  private backoffMs(): number {
    return backoffDelayMs(this.failures++, this.backoff);
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    await abortableSleep(ms, signal);
  }

  /** Decides what a failed call means. Returns false when the runner must end. */
  private async onError(err: unknown, what: string, signal: AbortSignal): Promise<boolean> {
    if (this.stopping) return false;
    if (this.tokenRejected(err, what)) return false;
    this.answered = false;
    if (err instanceof GrammyError) {
      if (err.error_code === 409) {
        this.log.warn(
          { description: err.description },
          'Telegram reports a conflict: another poller or a webhook uses this bot; backing off',
        );
        this.setState('connecting', `conflict: ${err.description}`);
        await this.pause(this.backoffMs(), signal);
        return true;
      }
      if (err.error_code === 429) {
        const s = err.parameters.retry_after ?? 1;
        this.log.warn({ retryAfterS: s }, `Telegram rate-limited ${what}`);
        await this.pause(s * 1000, signal);
        return true;
      }
      this.log.warn({ code: err.error_code, description: err.description }, `Telegram refused ${what}; backing off`);
      this.setState('connecting', `Telegram answered ${err.error_code}`);
    } else {
      const detail = err instanceof HttpError ? err.message : describeError(err);
      this.log.warn({ err: this.redact(detail) }, `Telegram is unreachable (${what}); backing off`);
      this.setState('connecting', 'Telegram is unreachable');
    }
    await this.pause(this.backoffMs(), signal);
    return true;
  }

  private async run(sink: InboundSink, signal: AbortSignal): Promise<void> {
    while (!this.stopping) {
      // After a 409 the Bot API answers getMe fine but the conflict is what matters: only a
      // poll that returns clears it.
      const conflicted = this.state().lastError?.startsWith('conflict') ?? false;
      if (this.username === null || (!this.answered && !conflicted)) {
        try {
          await this.askGetMe(signal);
          this.answered = true;
          this.setState('open');
        } catch (err) {
          if (!(await this.onError(err, 'getMe', signal))) return;
          continue;
        }
      }
      let updates: unknown[];
      try {
        const sent = this.offset;
        updates = await this.bot.api.getUpdates(
          {
            offset: sent,
            limit: this.limit,
            timeout: this.pollTimeoutS,
            allowed_updates: [...ALLOWED_UPDATES],
          },
          grammySignal(signal),
        );
        this.confirmedOffset = sent;
      } catch (err) {
        if (!(await this.onError(err, 'getUpdates', signal))) return;
        continue;
      }
      this.failures = 0;
      this.answered = true;
      this.setState('open');
      if (updates.length > 0) await this.processBatch(updates, sink, signal);
    }
  }

  /** Normalizes, stores media, ingests; advances the offset only when the batch is stored. */
  private async processBatch(updates: unknown[], sink: InboundSink, signal: AbortSignal): Promise<void> {
    const account = this.username as string;
    let messages: NewInboundMessage[] = [];
    const pending: PendingMedia[] = [];
    let last: number | undefined;
    const business = this.business;
    try {
      await business?.prepare(account, updates, {
        getBusinessConnection: (id) => this.bot.api.getBusinessConnection(id, grammySignal(signal)),
      });
    } catch (err) {
      this.log.error(
        { err: describeError(err) },
        'storing Telegram business connections failed; the batch stays unconfirmed and comes again',
      );
      await this.pause(this.backoffMs(), signal);
      return;
    }
    const texts = await this.serviceTexts(account);
    for (const u of updates) {
      const id = updateIdOf(u);
      if (id !== null) last = last === undefined ? id : Math.max(last, id);
      const r = normalizeTelegramUpdate(u, { account, texts, businessOwnerOf: (bid) => business?.ownerOf(account, bid) ?? null });
      if ('malformed' in r) {
        this.log.warn({ updateId: id, reason: r.malformed }, 'skipping a Telegram update the connector cannot use');
        continue;
      }
      messages.push(...r.ok);
      pending.push(...r.media);
    }
    try {
      messages = await attachMedia(
        { api: this.bot.api, token: this.token, apiRoot: this.apiRoot, store: this.mediaStore, logger: this.log, signal },
        messages,
        pending,
      );
    } catch {
      return; // stopping: leave the batch unconfirmed
    }
    if (messages.length > 0) {
      try {
        await sink.ingest(messages);
      } catch (err) {
        this.log.error(
          { err: describeError(err), count: messages.length },
          'storing inbound Telegram messages failed; they stay unconfirmed and come again',
        );
        await this.pause(this.backoffMs(), signal);
        return;
      }
    }
    if (last !== undefined) this.offset = last + 1;
  }
}

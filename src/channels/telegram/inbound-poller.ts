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
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bot, GrammyError, HttpError } from 'grammy';
import {
  describeError,
  silentLogger,
  type AccountConnectionState,
  type AccountRunner,
  type AccountState,
  type InboundSink,
  type Logger,
  type MediaStore,
  type NewInboundMessage,
} from '../../core/index.ts';
import { updateIdOf, type PendingMedia } from './inbound-normalize.ts';
import { BUSINESS_UPDATES, normalizeTelegramUpdate } from './inbound-business.ts';
import type { BusinessConnections } from './inbound-business-connections.ts';
import { attachMedia, grammySignal, redact } from './inbound-media.ts';

/** Update kinds we ask Telegram for (reactions and edits are opt-in or easy to forget). */
export const ALLOWED_UPDATES = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'message_reaction',
  ...BUSINESS_UPDATES,
] as const;

export interface TelegramPollerOptions {
  /** The bot token `<id>:<secret>`; never logged. */
  token: string;
  /** Bot API root (default `https://api.telegram.org`). */
  apiRoot?: string;
  /** Where inbound files go. */
  mediaStore: MediaStore;
  logger?: Logger;
  /** Long-poll timeout in seconds (default 25). */
  pollTimeoutS?: number;
  /** Most updates per getUpdates (default 100). */
  limit?: number;
  /** First back-off after a failure, ms (default 1000); doubled per failure with jitter. */
  backoffMinMs?: number;
  /** Longest back-off, ms (default 30000). */
  backoffMaxMs?: number;
  /** Called once getMe told the bot's username. */
  onAccount?: (username: string) => void;
  /** Telegram Business connections (saved before the batch is confirmed). */
  business?: BusinessConnections;
}

/** The bot id of a token (the digits before ':'), for lease keys and logs. */
export function botIdOf(token: string): string {
  const id = token.split(':')[0];
  return /^\d+$/.test(id) ? id : 'invalid';
}

export function createGrammyBot(token: string, apiRoot: string, timeoutSeconds?: number): Bot {
  return new Bot(token, { client: { apiRoot, ...(timeoutSeconds ? { timeoutSeconds } : {}) } });
}

/** Emits `state` (AccountState) on every state change. */
export class TelegramPoller extends EventEmitter implements AccountRunner {
  readonly channel = 'telegram' as const;
  readonly leaseKey: string;
  readonly bot: Bot;
  private readonly opts: Required<Omit<TelegramPollerOptions, 'onAccount' | 'logger' | 'business'>> &
    Pick<TelegramPollerOptions, 'onAccount' | 'business'>;
  private log: Logger;
  private username: string | null = null;
  private offset: number | undefined;
  private confirmedOffset: number | undefined;
  private st: AccountState;
  private loop: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private stopping = false;
  private failures = 0;

  constructor(opts: TelegramPollerOptions) {
    super();
    const apiRoot = (opts.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
    const pollTimeoutS = opts.pollTimeoutS ?? 25;
    this.opts = {
      token: opts.token,
      apiRoot,
      mediaStore: opts.mediaStore,
      pollTimeoutS,
      limit: opts.limit ?? 100,
      backoffMinMs: opts.backoffMinMs ?? 1000,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      onAccount: opts.onAccount,
      business: opts.business,
    };
    this.leaseKey = `tg:${botIdOf(opts.token)}`;
    this.log = (opts.logger ?? silentLogger).child({ bot: this.leaseKey });
    this.bot = createGrammyBot(opts.token, apiRoot, pollTimeoutS + 30);
    this.st = { channel: 'telegram', account: this.leaseKey, state: 'stopped', since: new Date().toISOString(), lastError: null };
  }

  /** The bot's username once getMe answered. */
  get account(): string | null {
    return this.username;
  }

  state(): AccountState {
    return { ...this.st };
  }

  private setState(state: AccountConnectionState, lastError: string | null = null): void {
    if (this.st.state === state && this.st.lastError === lastError && this.st.account === (this.username ?? this.leaseKey)) return;
    this.st = { channel: 'telegram', account: this.username ?? this.leaseKey, state, since: new Date().toISOString(), lastError };
    this.emit('state', this.state());
  }

  async start(sink: InboundSink): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.abort = new AbortController();
    this.setState('connecting');
    this.loop = this.run(sink, this.abort.signal).catch((err: unknown) => {
      this.log.error({ err: redact(describeError(err), this.opts.token) }, 'the Telegram poller stopped on an unexpected error');
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
    if (this.offset !== undefined && this.offset !== this.confirmedOffset && this.st.state !== 'error') {
      await this.bot.api.getUpdates({ offset: this.offset, limit: 1, timeout: 0 }).then(
        () => {
          this.confirmedOffset = this.offset;
        },
        () => undefined,
      );
    }
    if (this.st.state !== 'error') this.setState('stopped');
  }

  private backoffMs(): number {
    const base = Math.min(this.opts.backoffMaxMs, this.opts.backoffMinMs * 2 ** Math.min(this.failures, 16));
    this.failures += 1;
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    await sleep(ms, undefined, { signal }).catch(() => undefined);
  }

  /** Decides what a failed call means. Returns false when the runner must end. */
  private async onError(err: unknown, what: string, signal: AbortSignal): Promise<boolean> {
    if (this.stopping) return false;
    if (err instanceof GrammyError) {
      if (err.error_code === 401 || err.error_code === 404) {
        this.log.error({ code: err.error_code }, `Telegram rejected the bot token (${what}); the bot stays off until the token is fixed`);
        this.setState('error', 'token rejected');
        return false;
      }
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
      this.log.warn({ err: redact(detail, this.opts.token) }, `Telegram is unreachable (${what}); backing off`);
      this.setState('connecting', 'Telegram is unreachable');
    }
    await this.pause(this.backoffMs(), signal);
    return true;
  }

  private async run(sink: InboundSink, signal: AbortSignal): Promise<void> {
    while (!this.stopping) {
      if (this.username === null) {
        try {
          const me = await this.bot.api.getMe(grammySignal(signal));
          this.username = me.username;
          this.log = this.log.child({ account: me.username });
          this.opts.onAccount?.(me.username);
          this.setState('connecting');
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
            limit: this.opts.limit,
            timeout: this.opts.pollTimeoutS,
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
    const business = this.opts.business;
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
    for (const u of updates) {
      const id = updateIdOf(u);
      if (id !== null) last = last === undefined ? id : Math.max(last, id);
      const r = normalizeTelegramUpdate(u, { account, businessOwnerOf: (id) => business?.ownerOf(account, id) ?? null });
      if ('malformed' in r) {
        this.log.warn({ updateId: id, reason: r.malformed }, 'skipping a Telegram update the connector cannot use');
        continue;
      }
      messages.push(...r.ok);
      pending.push(...r.media);
    }
    try {
      messages = await attachMedia(
        { api: this.bot.api, token: this.opts.token, apiRoot: this.opts.apiRoot, store: this.opts.mediaStore, logger: this.log, signal },
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

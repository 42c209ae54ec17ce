/**
 * What the two ways of taking a bot's updates (long polling, webhook) share: the account
 * state (emitted only when it changes), learning the username with getMe, what a rejected
 * token (401/404) means, the Bot API root, and keeping the token out of every log line.
 * Kept in one place because the two runners had drifted apart.
 */
import type { BusinessConnections } from './inbound-business-connections.ts';
import { EventEmitter } from 'node:events';
import { Bot, GrammyError } from 'grammy';
import {
  silentLogger,
  languageOrDefault,
  serviceTexts,
  type AccountConnectionState,
  type AccountLanguage,
  type AccountRunner,
  type AccountState,
  type InboundSink,
  type Logger,
  type ServiceTexts,
} from '../../core/index.ts';
import { grammySignal, redact } from './inbound-media.ts';

export const DEFAULT_API_ROOT = 'https://api.telegram.org';

/** The Bot API root without trailing slashes (grammY appends `/bot<token>/<method>`). */
export function apiRootOf(apiRoot: string | undefined): string {
  return (apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, '');
}

/** The bot id of a token (the digits before ':'), for lease keys and logs. */
export function botIdOf(token: string): string {
  const id = token.split(':')[0];
  return /^\d+$/.test(id) ? id : 'invalid';
}

export function createGrammyBot(token: string, apiRoot: string, timeoutSeconds?: number): Bot {
  return new Bot(token, { client: { apiRoot, ...(timeoutSeconds ? { timeoutSeconds } : {}) } });
}

export interface TelegramRunnerBaseOptions {
  /** The bot token `<id>:<secret>`; never logged. */
  token: string;
  /** Bot API root (default `https://api.telegram.org`). */
  apiRoot?: string;
  logger?: Logger;
  /** Called once getMe told the bot's username. */
  onAccount?: (username: string) => void;
  /** Telegram Business connections (saved before the updates that carry them are confirmed). */
  business?: BusinessConnections;
  /** The account's language for the connector's own `service` texts (default: `ru`). */
  language?: AccountLanguage;
}

/** Emits `state` (AccountState) on every state change (never for an unchanged one). */
export abstract class TelegramAccountRunner extends EventEmitter implements AccountRunner {
  readonly channel = 'telegram' as const;
  readonly leaseKey: string;
  readonly bot: Bot;
  protected readonly token: string;
  protected readonly apiRoot: string;
  protected readonly business: BusinessConnections | undefined;
  protected log: Logger;
  protected username: string | null = null;
  private st: AccountState;
  private readonly onAccount: ((username: string) => void) | undefined;
  private readonly language: AccountLanguage | undefined;

  constructor(o: TelegramRunnerBaseOptions, clientTimeoutS: number) {
    super();
    this.token = o.token;
    this.apiRoot = apiRootOf(o.apiRoot);
    this.onAccount = o.onAccount;
    this.business = o.business;
    this.language = o.language;
    this.leaseKey = `tg:${botIdOf(o.token)}`;
    this.log = (o.logger ?? silentLogger).child({ bot: this.leaseKey });
    this.bot = createGrammyBot(o.token, this.apiRoot, clientTimeoutS);
    this.st = { channel: 'telegram', account: this.leaseKey, state: 'stopped', since: new Date().toISOString(), lastError: null };
  }

  /** The `service` texts in the account's current language (asked per batch: a settings change applies at once). */
  protected async serviceTexts(account: string): Promise<ServiceTexts> {
    return serviceTexts(await languageOrDefault(this.language, account));
  }

  abstract start(sink: InboundSink): Promise<void>;
  abstract stop(): Promise<void>;

  /** The bot's username once getMe answered. */
  get account(): string | null {
    return this.username;
  }

  state(): AccountState {
    return { ...this.st };
  }

  protected setState(state: AccountConnectionState, lastError: string | null = null): void {
    const account = this.username ?? this.leaseKey;
    if (this.st.state === state && this.st.lastError === lastError && this.st.account === account) return;
    this.st = { channel: 'telegram', account, state, since: new Date().toISOString(), lastError };
    this.emit('state', this.state());
  }

  /** Records the username (from our getMe or the connector's); idempotent. */
  learnAccount(username: string): void {
    if (this.username !== null) return;
    this.username = username;
    this.log = this.log.child({ account: username });
    this.onAccount?.(username);
  }

  /** Asks getMe; throws what grammY throws. */
  protected async askGetMe(signal: AbortSignal): Promise<string> {
    const me = await this.bot.api.getMe(grammySignal(signal));
    this.learnAccount(me.username);
    return me.username;
  }

  /**
   * A 401/404 means the token is wrong (or revoked): retrying cannot help, so the runner
   * ends in `error` until the token is fixed. Returns true when that is the case.
   */
  protected tokenRejected(err: unknown, what: string): boolean {
    if (!(err instanceof GrammyError) || (err.error_code !== 401 && err.error_code !== 404)) return false;
    this.log.error({ code: err.error_code }, `Telegram rejected the bot token (${what}); the bot stays off until the token is fixed`);
    this.setState('error', 'token rejected');
    return true;
  }

  /** The text with the bot token replaced (URLs in low-level errors carry it). */
  protected redact(text: string): string {
    return redact(text, this.token);
  }
}

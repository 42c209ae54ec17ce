/**
 * The Telegram channel: one AccountRunner per bot token (polling or webhook), sending
 * through any configured bot, and the webhook entry point for the HTTP layer.
 */
import type { Bot } from 'grammy';
import {
  describeError,
  silentLogger,
  ValidationError,
  type AccountDiscovery,
  type AccountLanguage,
  type AccountRunner,
  type InboundSink,
  type AccountState,
  type ChannelConnector,
  type Logger,
  type MediaStore,
  type OutboundCapable,
  type OutboundMessage,
  type SendHooks,
  type SendResult,
} from '../../core/index.ts';
import { TelegramPoller } from './inbound-poller.ts';
import { apiRootOf, botIdOf, createGrammyBot } from './telegram-account-runner.ts';
import { TelegramWebhookRunner, type WebhookAnswer } from './inbound-webhook.ts';
import { redact } from './inbound-media.ts';
import { TelegramSender } from './outbound-send.ts';
import { BusinessConnections, MemoryBusinessConnectionStore, type BusinessConnectionStore } from './inbound-business-connections.ts';

export interface TelegramConnectorOptions {
  /** Bot tokens (TELEGRAM_BOT_TOKENS), one account each. */
  tokens: string[];
  /** Bot API root (default `https://api.telegram.org`). */
  apiRoot?: string;
  /** `polling` (default) or `webhook`. */
  mode?: 'polling' | 'webhook';
  /** Webhook mode: the connector's public base URL (TELEGRAM_WEBHOOK_URL). */
  webhookUrl?: string | null;
  /** Webhook mode: the secret Telegram sends in X-Telegram-Bot-Api-Secret-Token. */
  webhookSecret?: string | null;
  mediaStore: MediaStore;
  logger?: Logger;
  /** Long-poll timeout in seconds (default 25). */
  pollTimeoutS?: number;
  /** First back-off of runners after a failure, ms (default 1000). */
  backoffMinMs?: number;
  /** Longest back-off, ms (default 30000). */
  backoffMaxMs?: number;
  /** Longest wait for a 429 on a later item of one outbound message, ms (default 60000). */
  laterItemMaxWaitMs?: number;
  /** Where Telegram Business connections are kept; shared by every instance (default: this process only). */
  businessStore?: BusinessConnectionStore;
  /** The account's language for the connector's own `service` texts (account settings; default `ru`). */
  language?: AccountLanguage;
}

export interface TelegramConnector extends ChannelConnector, OutboundCapable, AccountDiscovery {
  readonly channel: 'telegram';
  /** `POST /telegram/:account/webhook`: 200 only once stored; 401 bad secret; 404 unknown account; 503 not running here; 500 store failed. */
  handleWebhook(account: string, secretHeader: string | undefined, body: unknown): Promise<WebhookAnswer>;
  /**
   * Webhook mode: this instance takes deliveries for every bot from now on, whether or not it
   * holds the bot's lease (the lease only decides who calls setWebhook; ingest dedupes by id).
   */
  acceptWebhookUpdates(sink: InboundSink): void;
  /** Asks getMe of every bot whose username is not known yet (failures are logged, not thrown). */
  discoverAccounts(): Promise<void>;
  /** The usernames known so far. */
  accounts(): string[];
  /** One account per Telegram Business account connected to one of our bots (`<bot>:<user id>`). */
  businessAccounts(): Promise<AccountState[]>;
}

interface BotEntry {
  token: string;
  runner: TelegramPoller | TelegramWebhookRunner;
  sendBot: Bot;
  username: string | null;
  resolving: Promise<void> | null;
}

export function createTelegramConnector(opts: TelegramConnectorOptions): TelegramConnector {
  const logger = opts.logger ?? silentLogger;
  const apiRoot = apiRootOf(opts.apiRoot);
  const mode = opts.mode ?? 'polling';
  if (mode === 'webhook' && (!opts.webhookUrl || !opts.webhookSecret)) {
    throw new ValidationError('Telegram webhook mode needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET.', 'invalid_config');
  }
  const business = new BusinessConnections(opts.businessStore ?? new MemoryBusinessConnectionStore());
  const entries: BotEntry[] = [];
  const seen = new Set<string>();
  for (const token of opts.tokens) {
    if (!/^\d+:[A-Za-z0-9_-]+$/.test(token))
      throw new ValidationError(`A Telegram bot token (bot ${botIdOf(token)}) is not of the form <id>:<secret>.`, 'invalid_config');
    if (seen.has(token)) continue;
    seen.add(token);
    const entry = { token, username: null, resolving: null } as Omit<BotEntry, 'runner' | 'sendBot'> as BotEntry;
    const onAccount = (u: string) => {
      entry.username = u;
    };
    entry.runner =
      mode === 'webhook'
        ? new TelegramWebhookRunner({
            token,
            apiRoot,
            webhookUrl: opts.webhookUrl as string,
            secret: opts.webhookSecret as string,
            mediaStore: opts.mediaStore,
            logger,
            backoffMinMs: opts.backoffMinMs,
            onAccount,
            business,
            language: opts.language,
          })
        : new TelegramPoller({
            token,
            apiRoot,
            mediaStore: opts.mediaStore,
            logger,
            pollTimeoutS: opts.pollTimeoutS,
            backoffMinMs: opts.backoffMinMs,
            backoffMaxMs: opts.backoffMaxMs,
            onAccount,
            business,
            language: opts.language,
          });
    entry.sendBot = createGrammyBot(token, apiRoot, 60);
    entries.push(entry);
  }

  const resolve = (e: BotEntry): Promise<void> => {
    if (e.username) return Promise.resolve();
    e.resolving ??= e.sendBot.api
      .getMe()
      .then(
        (me) => {
          e.username = me.username;
          e.runner.learnAccount(me.username);
        },
        (err: unknown) => {
          logger.warn(
            { bot: `tg:${botIdOf(e.token)}`, err: redact(describeError(err), e.token) },
            'could not learn a Telegram bot username',
          );
        },
      )
      .finally(() => {
        e.resolving = null;
      });
    return e.resolving;
  };
  const byAccount = (account: string) => entries.find((e) => e.username === account) ?? null;

  const sender = new TelegramSender({
    mediaStore: opts.mediaStore,
    laterItemMaxWaitMs: opts.laterItemMaxWaitMs,
    businessFor: (bot, ownerId) => business.forSend(bot, ownerId),
    botFor: async (account) => {
      let e = byAccount(account);
      if (!e) {
        await Promise.all(entries.filter((x) => !x.username).map(resolve));
        e = byAccount(account);
      }
      return e?.sendBot ?? null;
    },
  });

  return {
    channel: 'telegram',
    runners: (): AccountRunner[] => entries.map((e) => e.runner),
    hasAccount: (account: string) => byAccount(account) !== null,
    send: (message: OutboundMessage, hooks?: SendHooks): Promise<SendResult> => sender.send(message, hooks),
    discoverAccounts: async () => {
      await Promise.all(entries.map(resolve));
    },
    accounts: () => entries.flatMap((e) => (e.username ? [e.username] : [])),
    acceptWebhookUpdates: (sink) => {
      for (const e of entries) if (e.runner instanceof TelegramWebhookRunner) e.runner.acceptUpdates(sink);
    },
    businessAccounts: () => business.states(entries.flatMap((e) => (e.username ? [e.username] : []))),
    handleWebhook: async (account, secretHeader, body) => {
      let e = byAccount(account);
      if (!e && entries.some((x) => !x.username)) {
        // Not the lease holder (or not started yet): learn the usernames, then take the update.
        await Promise.all(entries.filter((x) => !x.username).map(resolve));
        e = byAccount(account);
      }
      if (!e || !(e.runner instanceof TelegramWebhookRunner)) {
        return { status: 404, error: { code: 'unknown_account', message: `No Telegram bot named "${account}" takes webhooks here.` } };
      }
      return e.runner.handle(secretHeader, body);
    },
  };
}

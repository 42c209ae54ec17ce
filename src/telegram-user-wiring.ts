/**
 * Composition of Telegram user accounts (TDLib, TELEGRAM_USER_ACCOUNTS) — kept out of
 * connector.ts, which only calls `wireTelegramUsers` and adds what it returns:
 *
 * - the channel connector (its runners join the account supervisor under `tgu:<account>`);
 * - one Telegram sender for the outbound lane: `tgu:` chats go to TDLib, the rest to the bots
 *   (senders are keyed by channel, and both are `telegram`);
 * - the login routes (`/api/v1/telegram/:account/login`).
 *
 * Each account's TDLib database lives in `<TELEGRAM_USER_DATA_DIR>/<account>/db`, encrypted
 * with TELEGRAM_USER_DB_KEY. A takeover by another instance opens that directory there: on
 * shared storage the account goes on logged in; otherwise TDLib starts with no database and
 * the account's state says it waits for a phone number and why.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.ts';
import {
  isOutboundCapable,
  supportsAccountDiscovery,
  type AccountDiscovery,
  type AccountLanguage,
  type ChannelConnector,
  type Logger,
  type MediaStore,
  type OutboundCapable,
  type OutboundMessage,
  type StatusSink,
} from './core/index.ts';
import { createTdlibClient, type TdClient } from './channels/telegram-user/tdlib-client.ts';
import { createTelegramUserConnector, type TelegramUserConnector } from './channels/telegram-user/telegram-user-connector.ts';
import { telegramUserRoutes } from './http/routes/telegram-user-routes.ts';

/** Opens one account's TDLib client (tests and the demo pass a double). */
export type TdClientFactory = (account: string) => Promise<TdClient>;

export interface TelegramUserWiringDeps {
  config: Readonly<Config>;
  redis: Redis;
  media: MediaStore;
  statusSink: StatusSink;
  logger: Logger;
  /** The chat's type as the inbound side recorded it, or null (never wrote to us). */
  chatType(chatKey: string): Promise<string | null>;
  /** Overrides the real TDLib (ConnectorOptions.telegramUserClient). */
  openClient?: TdClientFactory;
  /** First back-off after a failed ingest (tests). */
  backoffMinMs?: number;
  /** The one rule of writing first (account settings, else the env default). */
  mayWriteFirst(account: string): Promise<boolean>;
  /** The account's language for the connector's own `service` texts. */
  language: AccountLanguage;
}

export interface TelegramUserWiring {
  connector: TelegramUserConnector;
  routes: FastifyPluginAsync;
}

export function wireTelegramUsers(d: TelegramUserWiringDeps): TelegramUserWiring | null {
  const c = d.config.telegramUser;
  if (!c.accounts.length) return null;
  const dataDir = resolve(c.dataDir);
  const dbDir = (account: string) => join(dataDir, account, 'db');
  // Whether an account's database was on this host when its client was opened.
  const hadDatabase = new Map<string, boolean>();
  const realClient: TdClientFactory = async (account) => {
    await mkdir(join(dataDir, account), { recursive: true, mode: 0o700 });
    return createTdlibClient({
      apiId: c.apiId ?? 0,
      apiHash: c.apiHash ?? '',
      databaseDirectory: dbDir(account),
      filesDirectory: join(dataDir, account, 'files'),
      databaseEncryptionKey: c.dbKey ?? '',
    });
  };
  const open = d.openClient ?? realClient;
  const connector = createTelegramUserConnector({
    accounts: c.accounts,
    groups: c.groups,
    open: async (account) => {
      hadDatabase.set(account, existsSync(dbDir(account)));
      return open(account);
    },
    loginHint: (account) =>
      hadDatabase.get(account) === false
        ? `this host has no TDLib database of the account under ${dataDir}: log it in here, or put TELEGRAM_USER_DATA_DIR on storage every instance shares`
        : null,
    redis: d.redis,
    prefix: d.config.queuePrefix,
    spoolDir: (account) => join(dataDir, account, 'outbox'),
    mediaStore: d.media,
    statusSink: d.statusSink,
    logger: d.logger.child({ channel: 'telegram-user' }),
    chatKnown: async (chatKey) => (await d.chatType(chatKey)) !== null,
    mayWriteFirst: (account) => d.mayWriteFirst(account),
    language: d.language,
    backoffMinMs: d.backoffMinMs,
  });
  return { connector, routes: telegramUserRoutes({ loginView: (a) => connector.loginView(a), login: (a, i) => connector.login(a, i) }) };
}

/**
 * One Telegram channel over the bots and the user accounts, as features see it: the runners
 * of both, one sender (`tgu:` chats go to TDLib, every other Telegram chat to the bots), and
 * the bots' account discovery (getMe) when they have it.
 */
export function withTelegramUsers(bots: ChannelConnector | null, users: TelegramUserConnector | null): ChannelConnector | null {
  if (!users) return bots;
  const botSender = bots && isOutboundCapable(bots) ? bots : null;
  const combined: ChannelConnector & OutboundCapable & Partial<AccountDiscovery> = {
    channel: 'telegram',
    runners: () => [...(bots?.runners() ?? []), ...users.runners()],
    hasAccount: (account) => users.hasAccount(account) || (botSender?.hasAccount(account) ?? false),
    send: (message: OutboundMessage, hooks) =>
      message.chatId.startsWith('tgu:') || !botSender ? users.send(message, hooks) : botSender.send(message, hooks),
  };
  if (bots && supportsAccountDiscovery(bots)) combined.discoverAccounts = () => bots.discoverAccounts();
  return combined;
}

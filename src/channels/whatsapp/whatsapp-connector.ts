/**
 * The WhatsApp channel: one WhatsappAccountRunner per configured account name, and
 * sending (OutboundCapable) through the account's open socket with pacing.
 */
import type { Redis } from 'ioredis';
import {
  UnreachableError,
  ValidationError,
  parseChatKey,
  type AccountLanguage,
  type ChannelConnector,
  type Logger,
  type MediaStore,
  type OutboundCapable,
  type OutboundMessage,
  type SendResult,
  type StatusSink,
} from '../../core/index.ts';
import { WhatsappAccountRunner, type WhatsappRunnerOptions } from './account-runner.ts';
import type { BackoffOptions } from './connection-policy.ts';
import { WaMessageStore } from './message-store.ts';
import { Pacer } from './outbound-pacing.ts';
import { sendContents } from './outbound-send.ts';
import type { SocketFactory } from './socket-factory.ts';
import { webVersionFetcher } from './socket-options.ts';
import { FirstContactGate, type FirstContactOptions } from './outbound-first-contact.ts';

export interface WhatsappConnectorOptions {
  /** Configured account names (WHATSAPP_ACCOUNTS); each becomes a runner with leaseKey `wa:<name>`. */
  accounts: string[];
  redis: Redis;
  /** Key prefix of the connector's Redis keys (QUEUE_PREFIX). */
  prefix: string;
  mediaStore: MediaStore;
  /** Receives delivered/read statuses of what we sent (receipts are dropped without it). */
  statusSink?: StatusSink;
  logger: Logger;
  /** Minimum interval between two messages to one chat (default 1000 ms). */
  minIntervalMs?: number;
  /** Minimum interval between two messages of one account (default 250 ms). */
  accountMinIntervalMs?: number;
  /** Random extra delay 0..jitterMs added to each interval (default 400 ms). */
  jitterMs?: number;
  /** How long sent messages and id mappings are kept in Redis (default 7 days). */
  messageTtlSeconds?: number;
  /** Default: Baileys makeWASocket. Tests give a double. */
  socketFactory?: SocketFactory;
  backoff?: BackoffOptions;
  /** WHATSAPP_VERSION (null: fetch the current one at start when `fetchVersion`). */
  version?: [number, number, number] | null;
  /** Fetch the current WhatsApp Web version at start (production; tests stay on loopback). */
  fetchVersion?: boolean;
  /** Who may write first and how fast (account settings over WHATSAPP_MAY_WRITE_FIRST; …_PER_HOUR, …_PER_DAY). */
  firstContact?: FirstContactOptions;
  /** The account's language for the connector's own `service` texts (account settings; default `ru`). */
  language?: AccountLanguage;
  /** Passed to every runner (tests: short retry delays, a media downloader double). */
  runnerOptions?: Partial<
    Pick<
      WhatsappRunnerOptions,
      | 'stableOpenMs'
      | 'pairingWaitMs'
      | 'inbound'
      | 'now'
      | 'random'
      | 'maxQrRounds'
      | 'falseLogoutWindowMs'
      | 'versionFetcher'
      | 'versionTimeoutMs'
    >
  >;
}

export interface WhatsappConnector extends ChannelConnector, OutboundCapable {
  readonly channel: 'whatsapp';
  runners(): WhatsappAccountRunner[];
  runner(name: string): WhatsappAccountRunner | undefined;
  /** The message store of an account (getMessage, id mappings), for inspection and tests. */
  store(name: string): WaMessageStore | undefined;
}

export function createWhatsappConnector(opts: WhatsappConnectorOptions): WhatsappConnector {
  const runners = new Map<string, WhatsappAccountRunner>();
  const stores = new Map<string, WaMessageStore>();
  for (const account of opts.accounts) {
    if (!account || account.includes(':')) throw new Error(`invalid WhatsApp account name: ${account}`);
    const store = new WaMessageStore({ redis: opts.redis, prefix: opts.prefix, account, ttlSeconds: opts.messageTtlSeconds });
    stores.set(account, store);
    runners.set(
      account,
      new WhatsappAccountRunner({
        account,
        redis: opts.redis,
        prefix: opts.prefix,
        mediaStore: opts.mediaStore,
        store,
        logger: opts.logger,
        statusSink: opts.statusSink,
        socketFactory: opts.socketFactory,
        backoff: opts.backoff,
        version: opts.version ?? null,
        ...(opts.fetchVersion ? { versionFetcher: webVersionFetcher } : {}),
        ...opts.runnerOptions,
        inbound: { ...opts.runnerOptions?.inbound, language: opts.language ?? opts.runnerOptions?.inbound?.language },
      }),
    );
  }
  const firstContact = new FirstContactGate(opts.redis, opts.prefix, opts.firstContact);
  const pacer = new Pacer({ perChatMs: opts.minIntervalMs, perAccountMs: opts.accountMinIntervalMs, jitterMs: opts.jitterMs });

  async function send(message: OutboundMessage): Promise<SendResult> {
    const parts = parseChatKey(message.chatId);
    if (!parts || parts.channel !== 'whatsapp')
      throw new ValidationError(`chatId ${message.chatId} is not a WhatsApp chat.`, 'invalid_request');
    const runner = runners.get(parts.account);
    const store = stores.get(parts.account);
    if (!runner || !store) throw new ValidationError(`WhatsApp account ${parts.account} is not configured.`, 'account_not_found', 404);
    const jid = parts.native;
    if (!/^[^@\s]+@(s\.whatsapp\.net|lid|g\.us)$/.test(jid))
      throw new ValidationError(`chatId ${message.chatId} does not name a WhatsApp chat.`, 'invalid_request');
    const notConnected = (): UnreachableError => {
      const st = runner.state();
      // Another connector instance holds this account: retry soon, so the message reaches a
      // worker on that instance quickly instead of backing off as if WhatsApp were down.
      const elsewhere = !runner.diagnostics().running;
      return new UnreachableError(
        'whatsapp_not_connected',
        `WhatsApp account ${parts.account} is not connected here (${elsewhere ? 'it runs on another instance' : st.state}).`,
        { httpStatus: 503, ...(elsewhere ? { retryAfterMs: 250 } : {}) },
      );
    };
    if (!runner.openSocket()) throw notConnected();
    await firstContact.check(parts.account, jid);
    const sent = await sendContents(jid, message, {
      mediaStore: opts.mediaStore,
      quoted: (id) => store.quoted(id),
      pace: () => pacer.wait(parts.account, message.chatId),
      sendMessage: (to, content, options) => {
        const sock = runner.openSocket();
        if (!sock) throw notConnected();
        return sock.sendMessage(to, content, options);
      },
    });
    for (const [i, m] of sent.entries()) {
      await store
        .rememberSent(message.id, m, i === 0)
        .catch((err: unknown) =>
          opts.logger.warn({ id: message.id, err: String(err) }, 'could not record a sent WhatsApp message; its receipts will be missed'),
        );
    }
    return { nativeIds: sent.map((m) => m.key.id ?? '').filter(Boolean), at: new Date().toISOString() };
  }

  return {
    channel: 'whatsapp',
    runners: () => [...runners.values()],
    runner: (name) => runners.get(name),
    store: (name) => stores.get(name),
    hasAccount: (account) => runners.has(account),
    send,
  };
}

/**
 * Telegram user accounts through TDLib (issue 20, part 2) as one channel connector: a
 * TdUserRunner per account of TELEGRAM_USER_ACCOUNTS (lease `tgu:<account>`), sends to
 * `tgu:<account>:<chat id>` chats, read receipts as `read` statuses, and the login steps.
 *
 *   POST /api/v1/messages ─▶ outbound lane ─▶ send() ─▶ sendMessage ─▶ updateMessageSendSucceeded → sent
 *                                                                   └▶ updateMessageSendFailed    → failed / retried
 *   updateChatReadOutbox (read up to id N) ─▶ every outbound id we sent in that chat ≤ N ─▶ StatusSink `read`
 *
 * What was sent is remembered per chat in Redis (a sorted set scored by TDLib's final message
 * id, 30 days), so receipts find their outbound ids after a restart or on another instance.
 * Only the instance that holds an account's lease has its TDLib client: a send or a login step
 * elsewhere is refused with a sentence (the send is retried and reaches the holder's worker).
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Redis } from 'ioredis';
import {
  ConnectorError,
  describeError,
  parseChatKey,
  RemoteRefusedError,
  UnreachableError,
  ValidationError,
  type AccountLanguage,
  type ChannelConnector,
  type Logger,
  type MediaStore,
  type OutboundCapable,
  type OutboundMedia,
  type OutboundMessage,
  type SendHooks,
  type SendResult,
  type StatusSink,
} from '../../core/index.ts';
import { TdUserRunner, type TdCatchUpOptions } from './inbound-runner.ts';
import type { LoginInput, LoginStep } from './login-state.ts';
import { sendTdMessage, type TdLocalFile } from './outbound-send.ts';
import type { TdClient } from './tdlib-client.ts';

export interface TelegramUserConnectorOptions {
  accounts: string[];
  /** Accounts whose group chats are taken too (TELEGRAM_USER_GROUPS). */
  groups?: string[];
  /** Opens an account's TDLib client: the real one (createTdlibClient) or a test double. */
  open(account: string): Promise<TdClient>;
  /** Said while an account waits for its phone number (e.g. a takeover on a host without its database). */
  loginHint?(account: string): string | null;
  redis: Redis;
  /** QUEUE_PREFIX. */
  prefix: string;
  mediaStore: MediaStore;
  statusSink: StatusSink;
  logger: Logger;
  /** Has this chat written to us (the pipeline knows it)? */
  chatKnown(chatKey: string): Promise<boolean>;
  /** The account's "may write first" setting: may it send to a chat that never wrote? */
  mayWriteFirst(account: string): Promise<boolean>;
  /** The account's language for the connector's own `service` texts (account settings; default `ru`). */
  language?: AccountLanguage;
  /** Where outbound files from a url or base64 are written for TDLib to upload (per account). */
  spoolDir(account: string): string;
  /** How long a send waits for TDLib's outcome (default 2 minutes). */
  outcomeTimeoutMs?: number;
  /** First back-off after a failed ingest (tests). */
  backoffMinMs?: number;
  /** Bounds of the recovery of unread messages when an account opens (inbound-runner.ts); false = off. */
  catchUp?: TdCatchUpOptions | false;
}

export interface TdLoginView {
  account: string;
  step: LoginStep;
  /** Where Telegram sent the code (wait_code), or null. */
  codeSentTo: string | null;
  /** The 2FA password hint (wait_password), or null. */
  passwordHint: string | null;
}

export interface TelegramUserConnector extends ChannelConnector, OutboundCapable {
  readonly channel: 'telegram';
  runners(): TdUserRunner[];
  runner(account: string): TdUserRunner | undefined;
  /** The login step of an account run by this instance. */
  loginView(account: string): TdLoginView;
  /** Hands one login step to the account's TDLib; resolves with the step it moved to. */
  login(account: string, input: LoginInput): Promise<TdLoginView>;
}

const SENT_TTL_S = 30 * 86_400;

export function createTelegramUserConnector(opts: TelegramUserConnectorOptions): TelegramUserConnector {
  const runners = new Map<string, TdUserRunner>();
  const groups = new Set(opts.groups ?? []);
  const sentKey = (account: string, chatId: number | string) => `${opts.prefix}:tgu:${account}:sent:${chatId}`;
  const log = opts.logger;

  const onRead = (account: string, chatId: number, lastReadId: number): void => {
    const key = sentKey(account, chatId);
    void (async () => {
      const ids = await opts.redis.zrangebyscore(key, '-inf', lastReadId);
      if (!ids.length) return;
      const at = new Date().toISOString();
      await opts.statusSink.report(ids.map((id) => ({ id, status: 'read' as const, at })));
      await opts.redis.zremrangebyscore(key, '-inf', lastReadId);
    })().catch((err: unknown) => log.warn({ account, err: describeError(err) }, 'could not report a TDLib read receipt; it is missed'));
  };

  for (const account of opts.accounts) {
    if (!account || account.includes(':')) throw new Error(`invalid Telegram user account name: ${account}`);
    runners.set(
      account,
      new TdUserRunner({
        account,
        language: opts.language,
        open: () => opts.open(account),
        mediaStore: opts.mediaStore,
        logger: log,
        groups: groups.has(account),
        backoffMinMs: opts.backoffMinMs,
        catchUp: opts.catchUp,
        onReadOutbox: (chatId, lastReadId) => onRead(account, chatId, lastReadId),
        loginHint: () => opts.loginHint?.(account) ?? null,
      }),
    );
  }

  const runnerOf = (account: string): TdUserRunner => {
    const r = runners.get(account);
    if (!r)
      throw new ValidationError(`No Telegram user account "${account}" is configured (TELEGRAM_USER_ACCOUNTS).`, 'account_not_found', 404);
    return r;
  };

  const loginView = (account: string): TdLoginView => {
    const r = runnerOf(account);
    if (!r.login || !r.running()) {
      throw new ConnectorError(
        'account_elsewhere',
        `Telegram user account "${account}" is not run by this connector instance (state: ${r.state().state}); log it in on the instance that holds it (GET /api/v1/accounts shows which).`,
        { httpStatus: 409 },
      );
    }
    return { account, step: r.login.step(), ...r.login.hints() };
  };

  /** A media item as a local file: a stored one where it is, the others written to the spool (named by content). */
  async function localFile(account: string, item: OutboundMedia, spooled: string[]): Promise<TdLocalFile> {
    if (item.mediaId) {
      const stored = await opts.mediaStore.open(item.mediaId);
      if (!stored) throw new ValidationError(`The media item "${item.mediaId}" is not in the media store.`, 'media_not_found', 404);
      return { path: stored.path, mime: item.mime ?? stored.ref.mime, fileName: item.fileName ?? stored.ref.fileName };
    }
    let bytes: Buffer;
    let mime = item.mime ?? null;
    if (item.base64) bytes = Buffer.from(item.base64, 'base64');
    else if (item.url && opts.mediaStore.fetchUrl) {
      const got = await opts.mediaStore.fetchUrl(item.url);
      bytes = got.bytes;
      mime ??= got.mime;
    } else throw new ValidationError('A media item needs url, base64 or mediaId.', 'invalid_media');
    // TDLib names a document after its file: keep the caller's name, in a folder per content.
    const dir = join(opts.spoolDir(account), createHash('sha256').update(bytes).digest('hex').slice(0, 32));
    const name = basename(item.fileName ?? 'file').replace(/[^\p{L}\p{N}._ -]/gu, '_') || 'file';
    await mkdir(dir, { recursive: true, mode: 0o700 });
    spooled.push(dir);
    await writeFile(join(dir, name), bytes, { mode: 0o600 });
    return { path: join(dir, name), mime, fileName: item.fileName ?? null };
  }

  async function send(message: OutboundMessage, hooks?: SendHooks): Promise<SendResult> {
    const parts = parseChatKey(message.chatId);
    if (!parts || !message.chatId.startsWith('tgu:'))
      throw new ValidationError(`chatId ${message.chatId} is not a Telegram user-account chat.`, 'invalid_request');
    const runner = runnerOf(parts.account);
    const client = runner.openClient();
    if (!client) {
      const elsewhere = !runner.running();
      throw new UnreachableError(
        'telegram_user_not_connected',
        `Telegram user account ${parts.account} is not connected here (${elsewhere ? 'it runs on another instance' : runner.state().state}).`,
        { httpStatus: 503, ...(elsewhere ? { retryAfterMs: 250 } : {}) },
      );
    }
    // Obeyed here too, per account: the lane's own wait can be cut short by its sweep, and a
    // user account that sends during a flood wait is punished with a longer one.
    const flood = runner.floodWait();
    if (flood) {
      throw new RemoteRefusedError('telegram_flood_wait', flood.sentence, { retryable: true, retryAfterMs: flood.leftMs, httpStatus: 429 });
    }
    if (!(await opts.chatKnown(message.chatId)) && !(await opts.mayWriteFirst(parts.account))) {
      throw new RemoteRefusedError(
        'telegram_first_contact_refused',
        `Telegram user account ${parts.account} may not write first to a chat that never wrote to it (its "may write first" setting is off).`,
        { httpStatus: 403 },
      );
    }
    let result: SendResult;
    const spooled: string[] = [];
    try {
      result = await sendTdMessage(client, message, {
        localFile: (item) => localFile(parts.account, item, spooled),
        outcomeTimeoutMs: opts.outcomeTimeoutMs,
        hooks,
      });
    } catch (err) {
      if (err instanceof ConnectorError && err.code === 'telegram_flood_wait' && err.retryAfterMs) {
        runner.noteFloodWait(err.retryAfterMs, err.message);
        log.warn({ account: parts.account, waitMs: err.retryAfterMs }, 'Telegram asked a user account to wait before sending more');
      }
      throw err;
    } finally {
      // Uploaded once TDLib gave its outcome (or written again by a retry).
      for (const dir of spooled) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    // The last part's id: the message is read when all of it is.
    const finalId = Number(result.nativeIds.at(-1)?.slice(message.chatId.length + 1));
    if (Number.isFinite(finalId)) {
      const key = sentKey(parts.account, parts.native);
      await opts.redis
        .multi()
        .zadd(key, finalId, message.id)
        .expire(key, SENT_TTL_S)
        .exec()
        .catch((err: unknown) =>
          log.warn({ id: message.id, err: describeError(err) }, 'could not record a sent TDLib message; its read receipt will be missed'),
        );
    }
    return result;
  }

  return {
    channel: 'telegram',
    runners: () => [...runners.values()],
    runner: (account) => runners.get(account),
    hasAccount: (account) => runners.has(account),
    send,
    loginView,
    async login(account, input) {
      loginView(account); // refuses an account not run here
      await runnerOf(account).login?.submit(input);
      return loginView(account);
    },
  };
}

/** Shapes of the emulated Bot API server: options, inspection records, Telegram objects. */

/** A Telegram object as it goes over the wire (Update, Message, User, …). */
export type TgObject = Record<string, unknown>;

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
}

export interface RateLimits {
  /** Turn the limits on (default false: every send goes through). */
  enabled: boolean;
  /** Most messages per second to one private chat (default 1). */
  perChatPerSec: number;
  /** Most messages per minute to one group (negative chat id) (default 20). */
  perGroupPerMin: number;
  /** Most messages per second of one bot over all chats (default 30). */
  perBotPerSec: number;
}

export interface TelegramEmulatorOptions {
  /** Interface to listen on (default `127.0.0.1`). */
  host?: string;
  /** Port (default 0: a free one; read `apiRoot` after `start()`). */
  port?: number;
  /** Rate limits of sends (default: disabled, 1/s per chat, 20/min per group, 30/s per bot). */
  limits?: Partial<RateLimits>;
  /** First delay before a failed webhook delivery is retried, doubled up to `webhookMaxRetryMs` (default 100). */
  webhookRetryMs?: number;
  /** Longest delay between webhook redeliveries (default 2000). */
  webhookMaxRetryMs?: number;
  /** Timeout of one webhook POST (default 10000). */
  webhookTimeoutMs?: number;
  /** Largest file getFile serves, as the public Bot API (default 20 MB). */
  maxDownloadBytes?: number;
  /** Largest request body accepted (default 60 MB). */
  maxBodyBytes?: number;
}

export interface AddBotOptions {
  /** `<id>:<secret>`; the id part must equal `id`. */
  token: string;
  id: number;
  username: string;
  firstName?: string;
}

/** One message the bot sent, as the emulator recorded it. */
export interface SentRecord {
  method: string;
  chatId: number;
  messageId: number;
  text: string | null;
  caption: string | null;
  /** `reply_parameters.message_id` (or legacy `reply_to_message_id`). */
  replyTo: number | null;
  file: {
    /** How the file came: an uploaded part, a URL the server would fetch, or an existing file_id. */
    source: 'upload' | 'url' | 'file_id';
    fileId: string;
    fileName: string | null;
    size: number | null;
    url: string | null;
    /** The bytes, for uploads and known file_ids. */
    bytes: Buffer | null;
  } | null;
  /** The full Message returned to the bot. */
  message: TgObject;
  at: number;
}

export type FaultKind = '429' | '500' | '502' | 'drop';

export interface Fault {
  kind: FaultKind;
  /** Calls still to fail. */
  remaining: number;
  /** For 429: seconds in `parameters.retry_after` (default 1). */
  retryAfter: number;
}

export interface GetUpdatesCall {
  offset: number | null;
  limit: number;
  timeout: number;
  at: number;
  /** How it ended: updates returned, empty, 409, or the client went away. */
  outcome: 'updates' | 'empty' | 'conflict' | 'aborted' | 'webhook_conflict';
  returned: number[];
}

export interface WebhookDelivery {
  updateId: number;
  url: string;
  status: number | null;
  error: string | null;
  at: number;
}

export interface BotStats {
  getUpdatesCalls: GetUpdatesCall[];
  /** Every update with update_id below this was confirmed and forgotten. */
  confirmedOffset: number;
  pendingUpdates: number;
  /** Most getUpdates requests seen waiting at once (including the one terminated). */
  maxConcurrentPollers: number;
  conflictsIssued: number;
  rateLimitedIssued: number;
  webhookDeliveries: WebhookDelivery[];
  /** Every API call by method name. */
  calls: Record<string, number>;
}

/** Telegram's error answer. */
export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
  ) {
    super(description);
  }
}

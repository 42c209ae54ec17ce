/**
 * The small interfaces the core asks of the world (mautrix bridgev2 style): a channel
 * connector per network, optional capabilities as separate interfaces, and the sinks the
 * pipeline offers to channels. Nothing here knows about Redis, BullMQ, HTTP or 1C.
 */
import type { Channel, MediaRef, NewInboundMessage, OutboundMessage, StatusEvent } from './message.ts';

/** What `ingest` says about one message. */
export interface IngestResult {
  id: string;
  seq: number;
  /** True when this id was seen before: nothing new was stored. */
  duplicate: boolean;
}

/**
 * Where channels hand inbound messages. The promise resolves only after the messages are
 * durably stored (Redis acknowledged them): only then may a channel confirm the update to
 * its messenger. Messages of one call keep their order per chat.
 */
export interface InboundSink {
  ingest(messages: NewInboundMessage[]): Promise<IngestResult[]>;
}

/** Where channels report what happened to outbound messages (receipts, late failures). */
export interface StatusSink {
  report(events: StatusEvent[]): Promise<void>;
}

export type AccountConnectionState =
  | 'pairing'
  | 'connecting'
  | 'open'
  | 'logged_out'
  | 'replaced'
  | 'stopped'
  | 'standby'
  | 'error'
  | 'unlicensed'
  /** WhatsApp: the QR rounds ran out unscanned; a request for a QR or pairing code starts new ones. */
  | 'waiting_for_pairing'
  /** WhatsApp refused the protocol version (405). */
  | 'outdated_version'
  /** WhatsApp refused the number (403: banned or restricted); a person must look. */
  | 'forbidden';

export interface AccountState {
  channel: Channel;
  account: string;
  state: AccountConnectionState;
  /** ISO time the state was entered. */
  since: string;
  lastError: string | null;
}

/** A file as downloaded from a messenger, before it is stored. */
export interface IncomingFile {
  /** The messenger's stable id of the file, used to name it (dedupe). */
  nativeId: string;
  mime: string;
  fileName: string | null;
  /** Declared size when the messenger tells it, for refusing early. */
  declaredSize: number | null;
  /** The bytes; the store enforces the size limit while streaming. */
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/** Stores media when the message arrives and gives the reference 1C receives. */
export interface MediaStore {
  /** Throws a ConnectorError with code `media_too_large` when the file exceeds the limit. */
  save(chatKey: string, file: IncomingFile): Promise<MediaRef>;
  /** Reads a stored item back (for sending it on, or serving it). */
  open(mediaId: string): Promise<{ ref: MediaRef; path: string } | null>;
  /**
   * Fetches an outbound media `url` from this host — the one guarded fetch (no loopback,
   * private, link-local or metadata address unless OUTBOUND_MEDIA_ALLOW lists it; size and
   * time capped). Throws a ConnectorError with one sentence. Absent: URLs cannot be fetched.
   */
  fetchUrl?(url: string): Promise<{ bytes: Buffer; mime: string | null }>;
}

/** Result of sending one outbound message on a channel. */
export interface SendResult {
  /** The messenger's ids of what was sent (a split text gives several). */
  nativeIds: string[];
  at: string;
}

/**
 * One account (a bot, a WhatsApp number) that can be connected. The composition root
 * decides where it runs: it holds a Redis lease named by `leaseKey` across all connector
 * instances and starts the runner only while it holds it (and only while feature 42 is
 * granted). Channels know nothing about leases or licenses.
 */
export interface AccountRunner {
  readonly channel: Channel;
  /** Stable, non-secret key for the cross-instance lease, e.g. `tg:8123456` (bot id) or `wa:main`. */
  readonly leaseKey: string;
  /** Connect and start handing messages to `sink`. Idempotent. */
  start(sink: InboundSink): Promise<void>;
  /** Stop taking new updates; resolves when in-flight updates are stored or left unconfirmed. */
  stop(): Promise<void>;
  state(): AccountState;
}

/** Every network implements this. */
export interface ChannelConnector {
  readonly channel: Channel;
  runners(): AccountRunner[];
}

/** Hooks the outbound queue passes to a send (pacing between the parts of one message). */
export interface SendHooks {
  /**
   * Awaited before each messenger API call after the first one of a message (a long text
   * split in parts, text plus media): the caller paces here so no part draws a 429.
   */
  beforeCall?(callIndex: number): Promise<void>;
}

/**
 * Optional capability: the channel can send. Which chats are known is the pipeline's
 * business (it has seen their inbound traffic); the channel answers for its accounts.
 */
export interface OutboundCapable {
  /** Is this account (bot username, WhatsApp account name) configured on this channel? */
  hasAccount(account: string): boolean;
  /** Send one message; throws a ConnectorError whose `retryable` / `retryAfterMs` decide what happens next. */
  send(message: OutboundMessage, hooks?: SendHooks): Promise<SendResult>;
}

export function isOutboundCapable<T extends object>(c: T): c is T & OutboundCapable {
  return typeof (c as Partial<OutboundCapable>).send === 'function';
}

/**
 * Optional capability: the channel learns its accounts' names from the network (Telegram: a
 * bot's username comes from `getMe`), so `hasAccount` may say no for an account it runs until
 * it has asked. `discoverAccounts` asks for the names not known yet; failures are logged by
 * the channel, not thrown (the caller looks at `hasAccount` again).
 */
export interface AccountDiscovery {
  discoverAccounts(): Promise<void>;
}

export function supportsAccountDiscovery<T extends object>(c: T): c is T & AccountDiscovery {
  return typeof (c as Partial<AccountDiscovery>).discoverAccounts === 'function';
}

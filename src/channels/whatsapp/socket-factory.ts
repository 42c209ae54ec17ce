/**
 * The part of a Baileys socket the channel uses, and how one is made. Tests give a double
 * (with Baileys' real event buffer as `ev`); production uses `baileysSocketFactory`.
 */
import {
  Browsers,
  makeWASocket,
  type AuthenticationState,
  type CacheStore,
  type GroupMetadata,
  type UserFacingSocketConfig,
  type WAMessageKey,
  type WASocket,
  type WAVersion,
  type proto,
} from '@whiskeysockets/baileys';
import type { Logger } from '../../core/index.ts';
import { toBaileysLogger } from './baileys-logger.ts';
import { shouldIgnoreJid } from './socket-options.ts';

export interface WaSocket {
  /** Baileys' buffered event emitter; only `process` is used. */
  ev: Pick<WASocket['ev'], 'process'>;
  sendMessage: WASocket['sendMessage'];
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Asks the sender's phone to re-upload expired media (downloadMediaMessage `reuploadRequest`). */
  updateMediaMessage: WASocket['updateMediaMessage'];
  /** Group metadata from WhatsApp (fills the account's cache; optional for test doubles). */
  groupMetadata?: WASocket['groupMetadata'];
  /** Closes the socket; Baileys then emits `connection.update` `close`. */
  end(error: Error | undefined): Promise<void> | void;
}

export interface SocketFactoryInput {
  account: string;
  /** The Redis auth state (its key store is already wrapped by makeCacheableSignalKeyStore). */
  auth: AuthenticationState;
  /** Serves what we sent, for recipients' decrypt retries. */
  getMessage: (key: WAMessageKey) => Promise<proto.IMessage | undefined>;
  logger: Logger;
  /** Protocol version (pinned, fetched at start, or Baileys' bundled one). */
  version?: WAVersion;
  /** One per account, kept across reconnects (decrypt retry counts). */
  msgRetryCounterCache?: CacheStore;
  /** Group metadata from our cache (undefined: Baileys asks WhatsApp). */
  cachedGroupMetadata?: (jid: string) => Promise<GroupMetadata | undefined>;
  /** Only for tests: a loopback WebSocket url instead of WhatsApp's. */
  waWebSocketUrl?: string;
}

export type SocketFactory = (input: SocketFactoryInput) => WaSocket;

/** The options makeWASocket gets (exported so a test can assert them without a network). */
export function baileysSocketConfig(input: SocketFactoryInput): UserFacingSocketConfig {
  return {
    auth: input.auth,
    getMessage: input.getMessage,
    logger: toBaileysLogger(input.logger),
    markOnlineOnConnect: false,
    browser: Browsers.macOS('Chrome'),
    // history is not imported into 1C; Baileys still syncs what it needs (lid mappings)
    syncFullHistory: false,
    ...(input.version ? { version: input.version } : {}),
    ...(input.msgRetryCounterCache ? { msgRetryCounterCache: input.msgRetryCounterCache } : {}),
    ...(input.cachedGroupMetadata ? { cachedGroupMetadata: input.cachedGroupMetadata } : {}),
    shouldIgnoreJid,
    ...(input.waWebSocketUrl ? { waWebSocketUrl: input.waWebSocketUrl } : {}),
  };
}

/** makeWASocket with our auth state, `getMessage`, an adapted logger, and not shown online. */
export const baileysSocketFactory: SocketFactory = (input) => makeWASocket(baileysSocketConfig(input));

/**
 * The part of a Baileys socket the channel uses, and how one is made. Tests give a double
 * (with Baileys' real event buffer as `ev`); production uses `baileysSocketFactory`.
 */
import { Browsers, makeWASocket, type AuthenticationState, type WAMessageKey, type WASocket, type proto } from '@whiskeysockets/baileys';
import type { Logger } from '../../core/index.ts';
import { toBaileysLogger } from './baileys-logger.ts';

export interface WaSocket {
  /** Baileys' buffered event emitter; only `process` is used. */
  ev: Pick<WASocket['ev'], 'process'>;
  sendMessage: WASocket['sendMessage'];
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Asks the sender's phone to re-upload expired media (downloadMediaMessage `reuploadRequest`). */
  updateMediaMessage: WASocket['updateMediaMessage'];
  /** Closes the socket; Baileys then emits `connection.update` `close`. */
  end(error: Error | undefined): Promise<void> | void;
}

export interface SocketFactoryInput {
  account: string;
  /** The Redis auth state (its key store is already wrapped by makeCacheableSignalKeyStore). */
  auth: AuthenticationState;
  /** Serves what we sent, for recipients' decrypt retries. */
  getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined>;
  logger: Logger;
}

export type SocketFactory = (input: SocketFactoryInput) => WaSocket;

/** makeWASocket with our auth state, `getMessage`, an adapted logger, and not shown online. */
export const baileysSocketFactory: SocketFactory = (input) => {
  const logger = toBaileysLogger(input.logger);
  return makeWASocket({
    auth: input.auth,
    getMessage: input.getMessage,
    logger,
    markOnlineOnConnect: false,
    browser: Browsers.macOS('Chrome'),
    // history is not imported into 1C; Baileys still syncs what it needs (lid mappings)
    syncFullHistory: false,
  });
};

/**
 * Media of an inbound message, downloaded when it arrives (Baileys downloadMediaMessage as
 * a stream, with `reuploadRequest` = sock.updateMediaMessage for expired media) into the
 * injected MediaStore. A failure never loses the message: it flows with a note.
 */
import { downloadMediaMessage, type WAMessage, type proto } from '@whiskeysockets/baileys';
import { ConnectorError, describeError, type Logger, type MediaRef, type MediaStore } from '../../core/index.ts';
import { toBaileysLogger } from './baileys-logger.ts';
import type { MediaPart } from './inbound-normalize.ts';
import type { WaSocket } from './socket-factory.ts';

export interface StoredMedia {
  media: MediaRef[];
  /** Set when the attachment could not be stored; goes into the message text. */
  note: string | null;
}

export type MediaDownloader = (
  msg: WAMessage,
  reupload: (m: WAMessage) => Promise<WAMessage>,
  logger: Logger,
) => Promise<AsyncIterable<Uint8Array>>;

export const baileysDownloader: MediaDownloader = async (msg, reupload, logger) =>
  downloadMediaMessage(msg, 'stream', {}, { reuploadRequest: reupload, logger: toBaileysLogger(logger) });

export async function storeInboundMedia(args: {
  msg: WAMessage;
  /** The unwrapped content (deviceSent / ephemeral / view-once removed). */
  content: proto.IMessage;
  part: MediaPart;
  chatKey: string;
  mediaStore: MediaStore;
  socket: WaSocket | null;
  logger: Logger;
  download?: MediaDownloader;
}): Promise<StoredMedia> {
  const { msg, part } = args;
  const nativeId = part.sha256 ?? msg.key.id ?? 'unknown';
  const download = args.download ?? baileysDownloader;
  const target: WAMessage = { key: msg.key, message: args.content, messageTimestamp: msg.messageTimestamp };
  const reupload = async (m: WAMessage): Promise<WAMessage> => {
    if (!args.socket) throw new Error('not connected, cannot ask for a re-upload');
    return args.socket.updateMediaMessage(m);
  };
  try {
    const ref = await args.mediaStore.save(args.chatKey, {
      nativeId,
      mime: part.mime,
      fileName: part.fileName,
      declaredSize: part.size,
      open: () => download(target, reupload, args.logger),
    });
    return { media: [ref], note: null };
  } catch (err) {
    const tooLarge = err instanceof ConnectorError && err.code === 'media_too_large';
    args.logger.error(
      { waId: msg.key.id, chatKey: args.chatKey, mime: part.mime, size: part.size, err: describeError(err) },
      tooLarge
        ? 'WhatsApp attachment exceeds the media size limit; the message is forwarded without it'
        : 'WhatsApp attachment could not be downloaded; the message is forwarded without it',
    );
    const what = `${part.type}${part.fileName ? ` "${part.fileName}"` : ''}`;
    return {
      media: [],
      note: tooLarge
        ? `attachment not stored: the ${what} is larger than the connector's size limit${part.size ? ` (${part.size} bytes)` : ''}`
        : `attachment not stored: the ${what} could not be downloaded from WhatsApp`,
    };
  }
}

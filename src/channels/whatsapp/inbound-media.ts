/**
 * Media of an inbound message, downloaded when it arrives into the injected MediaStore.
 *
 * rc14's downloadMediaMessage only asks for a re-upload when the error has `status`
 * 404/410, but its fetch throws a Boom with `output.statusCode`, so expired media never
 * came back. We detect expiry ourselves and call `sock.updateMediaMessage` (the sender's
 * phone re-uploads the file), each step bounded by a timeout. Baileys' media fetch takes no
 * abort signal (Utils/messages-media.js getHttpStream), so a timeout abandons the fetch and
 * destroys the stream; the body stream also has an idle timeout.
 *
 * The first attempt runs in the account's ordered inbound chain. When it cannot finish
 * (expired, timed out, network), the message is forwarded at once with the media marked
 * pending, and recoverInboundMedia runs outside the chain (a sender whose phone is offline
 * must not freeze every other chat); its result reaches 1C as an `edit` of the message
 * with the file, or with a sentence saying why the file is lost — never silently.
 */
import { downloadMediaMessage, type WAMessage, type proto } from '@whiskeysockets/baileys';
import type { Readable } from 'node:stream';
import { ConnectorError, describeError, type Logger, type MediaRef, type MediaStore } from '../../core/index.ts';
import type { MediaPart } from './inbound-normalize.ts';
import type { WaSocket } from './socket-factory.ts';

export interface StoredMedia {
  media: MediaRef[];
  /** Set when the attachment could not be stored; goes into the message text. */
  note: string | null;
  /** True when the file may still come (recoverInboundMedia should run). */
  pending?: boolean;
}

export type MediaDownloader = (msg: WAMessage, logger: Logger) => Promise<AsyncIterable<Uint8Array>>;

/** Baileys' downloader without its (broken in rc14) re-upload path: we handle expiry. */
export const baileysDownloader: MediaDownloader = async (msg, logger) => {
  logger.debug({ waId: msg.key.id }, 'downloading WhatsApp media');
  return downloadMediaMessage(msg, 'stream', {});
};

export class MediaTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`);
  }
}

/** 404 / 410 from WhatsApp's media servers: the file expired there; the sender's phone can re-upload it. */
export function isExpiredMedia(err: unknown): boolean {
  const e = err as { status?: unknown; output?: { statusCode?: unknown } } | null;
  const code = e?.output?.statusCode ?? e?.status;
  return code === 404 || code === 410;
}

function permanent(err: unknown): boolean {
  return err instanceof ConnectorError; // media_too_large and the store's own refusals
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new MediaTimeoutError(what, ms));
      }, ms);
      if (signal) {
        onAbort = () => {
          onTimeout?.();
          reject(new Error('the connector stopped'));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    }),
  ]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

/** The body, failing when no chunk arrives for `idleMs` (the stream is destroyed). */
async function* idleBounded(source: AsyncIterable<Uint8Array>, idleMs: number): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await withTimeout(it.next(), idleMs, 'a media chunk', () => (source as Partial<Readable>).destroy?.());
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.().catch(() => undefined);
  }
}

interface MediaArgs {
  msg: WAMessage;
  /** The unwrapped content (deviceSent / ephemeral / view-once removed). */
  content: proto.IMessage;
  part: MediaPart;
  chatKey: string;
  mediaStore: MediaStore;
  logger: Logger;
  download?: MediaDownloader;
  /** Bound of one download (until the stream opens, and between two chunks) and of a re-upload request (default 60 000 ms). */
  timeoutMs?: number;
}

function describe(part: MediaPart): string {
  return `${part.type}${part.fileName ? ` "${part.fileName}"` : ''}`;
}

async function saveOnce(args: MediaArgs, target: WAMessage): Promise<MediaRef> {
  const download = args.download ?? baileysDownloader;
  const ms = args.timeoutMs ?? 60_000;
  return args.mediaStore.save(args.chatKey, {
    nativeId: args.part.sha256 ?? args.msg.key.id ?? 'unknown',
    mime: args.part.mime,
    fileName: args.part.fileName,
    declaredSize: args.part.size,
    open: async () => idleBounded(await withTimeout(download(target, args.logger), ms, 'opening the media download'), ms),
  });
}

function targetOf(args: MediaArgs): WAMessage {
  return { key: args.msg.key, message: args.content, messageTimestamp: args.msg.messageTimestamp };
}

function failureNote(args: MediaArgs, err: unknown): StoredMedia {
  const tooLarge = err instanceof ConnectorError && err.code === 'media_too_large';
  const what = describe(args.part);
  return {
    media: [],
    note: tooLarge
      ? `attachment not stored: the ${what} is larger than the connector's size limit${args.part.size ? ` (${args.part.size} bytes)` : ''}`
      : `attachment not stored: the ${what} could not be downloaded from WhatsApp (${describeError(err)})`,
  };
}

/** The sentence in a message whose file follows as an edit. */
export function pendingNote(part: MediaPart): string {
  return `attachment pending: the ${describe(part)} is being fetched again from WhatsApp and follows as an edit of this message`;
}

/** First attempt, in the ordered chain: stored, failed for good (note), or pending. */
export async function storeInboundMedia(args: MediaArgs): Promise<StoredMedia> {
  try {
    return { media: [await saveOnce(args, targetOf(args))], note: null };
  } catch (err) {
    if (permanent(err)) {
      args.logger.error(
        { waId: args.msg.key.id, chatKey: args.chatKey, mime: args.part.mime, size: args.part.size, err: describeError(err) },
        'WhatsApp attachment cannot be stored; the message is forwarded without it',
      );
      return failureNote(args, err);
    }
    args.logger.warn(
      { waId: args.msg.key.id, chatKey: args.chatKey, expired: isExpiredMedia(err), err: describeError(err) },
      'WhatsApp attachment not downloaded yet; the message is forwarded now and the file follows',
    );
    return { media: [], note: pendingNote(args.part), pending: true };
  }
}

/**
 * Outside the chain: download again; on expiry (404/410) ask the sender's phone to
 * re-upload (updateMediaMessage, bounded) and download the new copy. At most three tries.
 */
export async function recoverInboundMedia(args: MediaArgs & { socket: () => WaSocket | null; signal?: AbortSignal }): Promise<StoredMedia> {
  let target = targetOf(args);
  let reuploaded = false;
  let lastErr: unknown = null;
  const ms = args.timeoutMs ?? 60_000;
  for (let attempt = 0; attempt < 3 && !args.signal?.aborted; attempt++) {
    try {
      if (attempt > 0 && isExpiredMedia(lastErr) && !reuploaded) {
        const sock = args.socket();
        if (!sock) throw new Error('not connected to WhatsApp, cannot ask for a re-upload');
        target = await withTimeout(sock.updateMediaMessage(target), ms, "the sender's phone re-uploading the file", undefined, args.signal);
        reuploaded = true;
      }
      return { media: [await withTimeout(saveOnce(args, target), 4 * ms, 'storing the file', undefined, args.signal)], note: null };
    } catch (err) {
      lastErr = err;
      if (permanent(err)) break;
      if (attempt > 0 && !isExpiredMedia(err) && reuploaded) break;
    }
  }
  if (args.signal?.aborted && !lastErr) lastErr = new Error('the connector stopped');
  args.logger.error(
    { waId: args.msg.key.id, chatKey: args.chatKey, reuploaded, err: describeError(lastErr) },
    'WhatsApp attachment could not be recovered; 1C is told',
  );
  return failureNote(args, lastErr);
}

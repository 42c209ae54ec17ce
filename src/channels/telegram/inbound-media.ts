/**
 * Downloads the files of inbound messages (getFile + the file URL) into the MediaStore.
 *
 * A file that cannot be stored never loses its message: the message goes on with the
 * media that did get stored, and one line is appended to its `text` (on a line of its own,
 * in square brackets) saying which file is missing and why, e.g.
 * `[The photo was not stored: The file is 25.0 MB, above the 20.0 MB limit for media.]`.
 * Transient failures (network, 5xx) are tried `attempts` times first.
 */
import { Readable } from 'node:stream';
import type { Api } from 'grammy';
import { GrammyError } from 'grammy';
import { ConnectorError, describeError, type Logger, type MediaRef, type MediaStore, type NewInboundMessage } from '../../core/index.ts';
import type { PendingMedia } from './inbound-normalize.ts';

export interface MediaDownloadContext {
  api: Api;
  token: string;
  apiRoot: string;
  store: MediaStore;
  logger: Logger;
  /** Tries per file for transient failures (default 3). */
  attempts?: number;
  signal?: AbortSignal;
}

/** Removes the token from a text (URLs in low-level errors). */
export function redact(text: string, token: string): string {
  return token ? text.split(token).join('<token>') : text;
}

/** grammY types its signal with the abort-controller package; Node's AbortSignal is what it accepts at run time. */
export type GrammySignal = Parameters<Api['getUpdates']>[1];
export function grammySignal(signal: AbortSignal | undefined): GrammySignal {
  return signal as unknown as GrammySignal;
}

class DownloadError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

async function fetchOne(ctx: MediaDownloadContext, chatKey: string, p: PendingMedia): Promise<MediaRef> {
  let file;
  try {
    file = await ctx.api.getFile(p.fileId, grammySignal(ctx.signal));
  } catch (err) {
    if (err instanceof GrammyError) {
      if (/file is too big/i.test(err.description)) {
        throw new DownloadError('Telegram does not let bots download files above 20 MB.', false);
      }
      throw new DownloadError(`Telegram refused the file (${err.description}).`, err.error_code >= 500 || err.error_code === 429);
    }
    throw new DownloadError('Telegram could not be reached to fetch the file.', true);
  }
  if (!file.file_path) throw new DownloadError('Telegram gave no path for the file.', false);
  const url = `${ctx.apiRoot}/file/bot${ctx.token}/${file.file_path}`;
  return ctx.store.save(chatKey, {
    nativeId: p.fileUniqueId,
    mime: p.mime,
    fileName: p.fileName,
    declaredSize: file.file_size ?? p.size,
    open: async () => {
      let res: Response;
      try {
        res = await fetch(url, { signal: ctx.signal });
      } catch (err) {
        throw new DownloadError(`The file download failed (${redact(describeError(err), ctx.token)}).`, true);
      }
      if (!res.ok || !res.body) throw new DownloadError(`The file download answered HTTP ${res.status}.`, res.status >= 500);
      return Readable.fromWeb(res.body) as AsyncIterable<Uint8Array>;
    },
  });
}

const KIND_WORD: Record<string, string> = {
  photo: 'photo',
  video: 'video',
  voice: 'voice message',
  audio: 'audio file',
  document: 'document',
  sticker: 'sticker',
};

/**
 * Downloads every pending file and puts the MediaRefs (or the notes) on their messages.
 * Returns the messages in the same order. Throws only when `signal` aborted.
 */
export async function attachMedia(
  ctx: MediaDownloadContext,
  messages: NewInboundMessage[],
  pending: PendingMedia[],
): Promise<NewInboundMessage[]> {
  if (pending.length === 0) return messages;
  const byId = new Map(messages.map((m) => [m.id, { ...m, media: [...m.media] }]));
  const attempts = ctx.attempts ?? 3;
  for (const p of pending) {
    const msg = byId.get(p.messageId);
    if (!msg) continue;
    let note: string | null = null;
    for (let attempt = 1; ; attempt += 1) {
      try {
        msg.media.push(await fetchOne(ctx, msg.chatId, p));
        break;
      } catch (err) {
        if (ctx.signal?.aborted) throw err;
        const transient = err instanceof DownloadError ? err.transient : !(err instanceof ConnectorError) || err.retryable;
        if (transient && attempt < attempts) {
          await new Promise((r) => setTimeout(r, 200 * attempt));
          continue;
        }
        note = err instanceof DownloadError || err instanceof ConnectorError ? err.message : redact(describeError(err), ctx.token);
        ctx.logger.warn({ messageId: msg.id, reason: note }, 'an inbound file was not stored; the message goes on without it');
        break;
      }
    }
    if (note !== null) {
      const line = `[The ${KIND_WORD[msg.kind] ?? 'file'} was not stored: ${note}]`;
      msg.text = msg.text ? `${msg.text}\n${line}` : line;
    }
  }
  return messages.map((m) => byId.get(m.id) ?? m);
}

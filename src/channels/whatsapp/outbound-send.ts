/**
 * OutboundMessage → Baileys sendMessage. Text alone is one message; each media item is
 * one message (the text becomes the caption of the first, or is sent first when the first
 * item cannot carry a caption); a reply quotes the stored WhatsApp message of `replyTo`
 * (sent without a quote when it is no longer known).
 */
import type { AnyMessageContent, MiscMessageGenerationOptions, WAMessage } from '@whiskeysockets/baileys';
import { createReadStream } from 'node:fs';
import {
  ConnectorError,
  RemoteRefusedError,
  UnreachableError,
  describeError,
  type MediaStore,
  type OutboundMedia,
  type OutboundMessage,
} from '../../core/index.ts';

export type OutboundKind = 'photo' | 'document' | 'voice' | 'audio' | 'video';

/** `kind` when given, else from the mime type (audio/ogg is a voice note, as WhatsApp records them). */
export function inferKind(m: OutboundMedia): OutboundKind {
  if (m.kind) return m.kind;
  const mime = (m.mime ?? '').toLowerCase();
  if (mime.startsWith('image/') && mime !== 'image/svg+xml') return 'photo';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/ogg') || mime.startsWith('audio/opus')) return 'voice';
  if (mime.startsWith('audio/')) return 'audio';
  return 'document';
}

type Upload = Buffer | { url: string } | { stream: NodeJS.ReadableStream };

async function uploadOf(
  m: OutboundMedia,
  mediaStore: MediaStore,
): Promise<{ upload: Upload; mime: string | undefined; fileName: string | undefined }> {
  if (m.base64) return { upload: Buffer.from(m.base64, 'base64'), mime: m.mime, fileName: m.fileName };
  if (m.mediaId) {
    const found = await mediaStore.open(m.mediaId);
    if (!found) throw new RemoteRefusedError('media_not_found', `Media item ${m.mediaId} is no longer stored.`, { httpStatus: 404 });
    return {
      upload: { stream: createReadStream(found.path) },
      mime: m.mime ?? found.ref.mime,
      fileName: m.fileName ?? found.ref.fileName ?? undefined,
    };
  }
  if (m.url) {
    // Baileys would read any non-http url as a local file path: only http(s) is allowed
    if (!/^https?:\/\//i.test(m.url))
      throw new RemoteRefusedError('invalid_media_url', 'A media url must be http or https.', { httpStatus: 400 });
    // Never `{ url }` to Baileys: it would fetch from this host unchecked (SSRF, issue 11 item 8).
    if (!mediaStore.fetchUrl)
      throw new RemoteRefusedError('invalid_media_url', 'Media urls are not fetched by this connector.', { httpStatus: 400 });
    const fetched = await mediaStore.fetchUrl(m.url);
    return { upload: fetched.bytes, mime: m.mime ?? fetched.mime ?? undefined, fileName: m.fileName };
  }
  throw new RemoteRefusedError('invalid_media', 'A media item needs url, base64 or mediaId.', { httpStatus: 400 });
}

/** The Baileys contents to send, in order. */
export async function buildContents(message: OutboundMessage, mediaStore: MediaStore): Promise<AnyMessageContent[]> {
  const out: AnyMessageContent[] = [];
  let caption: string | undefined = message.text ?? undefined;
  for (const m of message.media) {
    const kind = inferKind(m);
    const { upload, mime, fileName } = await uploadOf(m, mediaStore);
    const takesCaption = kind === 'photo' || kind === 'video' || kind === 'document';
    if (caption && !takesCaption && out.length === 0) {
      out.push({ text: caption });
      caption = undefined;
    }
    const cap = takesCaption ? caption : undefined;
    if (cap) caption = undefined;
    switch (kind) {
      case 'photo':
        out.push({ image: upload as Buffer, caption: cap, ...(mime ? { mimetype: mime } : {}) });
        break;
      case 'video':
        out.push({ video: upload as Buffer, caption: cap, ...(mime ? { mimetype: mime } : {}) });
        break;
      case 'voice':
        out.push({ audio: upload as Buffer, ptt: true, mimetype: mime ?? 'audio/ogg; codecs=opus' });
        break;
      case 'audio':
        out.push({ audio: upload as Buffer, ptt: false, ...(mime ? { mimetype: mime } : {}) });
        break;
      case 'document':
        out.push({ document: upload as Buffer, mimetype: mime ?? 'application/octet-stream', fileName: fileName ?? 'file', caption: cap });
        break;
    }
  }
  if (caption) out.push({ text: caption });
  if (out.length === 0) throw new RemoteRefusedError('empty_message', 'An outbound message needs text or media.', { httpStatus: 400 });
  return out;
}

/** Baileys throws Boom errors (`output.statusCode`); everything is mapped to our errors. */
export function classifySendError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const status = (err as { output?: { statusCode?: number } } | null)?.output?.statusCode;
  const message = describeError(err);
  if (status === undefined) {
    return new UnreachableError('whatsapp_send_failed', `WhatsApp send failed: ${message}.`, { cause: err });
  }
  // 428 connection closed, 408 timed out / lost, 440 replaced, 5xx: the socket or server, not the message
  if (status === 408 || status === 428 || status === 440 || status === 429 || status >= 500) {
    return new UnreachableError('whatsapp_unreachable', `WhatsApp did not take the message (${status}: ${message}).`, {
      cause: err,
      ...(status === 429 ? { retryAfterMs: 30_000 } : {}),
    });
  }
  return new RemoteRefusedError('whatsapp_refused', `WhatsApp refused the message (${status}: ${message}).`, {
    cause: err,
    httpStatus: 502,
    retryable: false,
  });
}

export interface SendDeps {
  sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined>;
  quoted(messageId: string): Promise<WAMessage | null>;
  mediaStore: MediaStore;
  /** Waits for the pacing slot of one WhatsApp message. */
  pace(): Promise<void>;
}

/** Sends every part; returns what WhatsApp accepted, in order. */
export async function sendContents(jid: string, message: OutboundMessage, deps: SendDeps): Promise<WAMessage[]> {
  const contents = await buildContents(message, deps.mediaStore);
  const quoted = message.replyTo ? await deps.quoted(message.replyTo) : null;
  const sent: WAMessage[] = [];
  for (const [i, content] of contents.entries()) {
    await deps.pace();
    let result: WAMessage | undefined;
    try {
      result = await deps.sendMessage(jid, content, i === 0 && quoted ? { quoted } : undefined);
    } catch (err) {
      const e = classifySendError(err);
      if (sent.length > 0) {
        // a part already went out: a retry would repeat it, so the rest is reported, not retried
        throw new RemoteRefusedError(
          'whatsapp_partially_sent',
          `${sent.length} of ${contents.length} parts were sent; then: ${e.message}`,
          { cause: err, retryable: false, httpStatus: 502 },
        );
      }
      throw e;
    }
    if (result) sent.push(result);
  }
  return sent;
}

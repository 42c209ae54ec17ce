/**
 * WAMessage (as Baileys emits it in `messages.upsert`) → NewInboundMessage. Pure: the chat
 * key, the sender and the stored media are resolved by the caller and passed in `ctx`.
 * Never throws: what cannot be understood becomes `service` (unknown content) or
 * `malformed` (no key / no id).
 */
import { isJidBroadcast, isJidGroup, isJidNewsletter, proto, toNumber, type WAMessage } from '@whiskeysockets/baileys';
import {
  describeError,
  serviceTexts,
  type PollVoteProblem,
  type ChatType,
  type Contact,
  type MediaRef,
  type NewInboundMessage,
  type Sender,
  type ServiceTexts,
} from '../../core/index.ts';

type IMessage = proto.IMessage;

export interface NormalizeContext {
  account: string;
  /** `wa:<account>:<stable jid>` (see inbound-identity.ts). */
  chatKey: string;
  chatType: ChatType;
  chatTitle: string | null;
  sender: Sender;
  /** Media already stored for this message (empty when none or when storing failed). */
  media: MediaRef[];
  /** Why an attachment is missing (too large, download failed); appended to `text`. */
  mediaNote: string | null;
  /** ISO time the connector took the message over. */
  receivedAt: string;
  /** For a poll vote: what the caller decrypted (inbound-poll.ts). */
  pollVote?: PollVoteOutcome | null;
  /** The `service` texts in the account's language (core/service-texts.ts; default `ru`). */
  texts?: ServiceTexts;
}

export interface PollVote {
  question: string;
  /** The chosen options (empty: the vote was withdrawn). */
  options: string[];
  /** Our id of the poll's creation message. */
  target: string;
}

/** Why a vote could not be read (the `service` note names it in the account's language). */
export type PollVoteOutcome = { vote: PollVote } | { unknown: PollVoteProblem; detail?: string };

export type NormalizeOutcome =
  { action: 'ingest'; message: NewInboundMessage } | { action: 'skip'; reason: string } | { action: 'malformed'; reason: string };

const WRAPPERS = [
  'ephemeralMessage',
  'viewOnceMessage',
  'viewOnceMessageV2',
  'viewOnceMessageV2Extension',
  'documentWithCaptionMessage',
  'editedMessage',
  'associatedChildMessage',
  'groupStatusMessage',
  'groupStatusMessageV2',
  'lottieStickerMessage',
] as const;

/**
 * Removes the wrappers Baileys' normalizeMessageContent removes (FutureProofMessage:
 * ephemeral, view-once v1/v2/v2Extension, documentWithCaption, edited, …) plus
 * `deviceSentMessage` (a message our phone sent, mirrored to this device).
 */
export function unwrapContent(content: IMessage | null | undefined): IMessage | undefined {
  let current = content ?? undefined;
  for (let i = 0; i < 8 && current; i++) {
    const device = current.deviceSentMessage?.message;
    if (device) {
      current = device;
      continue;
    }
    let inner: IMessage | null | undefined;
    for (const w of WRAPPERS) {
      const wrapped = (current as Record<string, { message?: IMessage | null } | null | undefined>)[w];
      if (wrapped?.message) {
        inner = wrapped.message;
        break;
      }
    }
    if (!inner) break;
    current = inner;
  }
  return current;
}

export type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export interface MediaPart {
  type: MediaType;
  mime: string;
  fileName: string | null;
  size: number | null;
  /** A stable name for the file (sha256 of the plaintext, base64url), null if unknown. */
  sha256: string | null;
}

const DEFAULT_MIME: Record<MediaType, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

/** The downloadable part of an (unwrapped) message, if any. */
export function findMediaPart(content: IMessage | undefined): MediaPart | null {
  if (!content) return null;
  const pick = (
    type: MediaType,
    m: { mimetype?: string | null; fileLength?: unknown; fileSha256?: Uint8Array | null; fileName?: string | null } | null | undefined,
  ): MediaPart | null => {
    if (!m) return null;
    const size = m.fileLength === null || m.fileLength === undefined ? null : toNumber(m.fileLength as number);
    return {
      type,
      mime: m.mimetype || DEFAULT_MIME[type],
      fileName: m.fileName ?? null,
      size: size && size > 0 ? size : null,
      sha256: m.fileSha256 && m.fileSha256.length ? Buffer.from(m.fileSha256).toString('base64url') : null,
    };
  };
  return (
    pick('image', content.imageMessage) ??
    pick('video', content.videoMessage ?? content.ptvMessage) ??
    pick('audio', content.audioMessage) ??
    pick('document', content.documentMessage) ??
    pick('sticker', content.stickerMessage)
  );
}

/** Why a message is not a customer message to forward (null: forward it). */
export function skipReason(msg: WAMessage): string | null {
  const jid = msg.key?.remoteJid;
  if (!jid) return null; // malformed, reported by normalize
  if (msg.key.fromMe) return 'from_me';
  if (jid === 'status@broadcast' || isJidBroadcast(jid)) return 'broadcast';
  if (isJidNewsletter(jid)) return 'newsletter';
  const content = unwrapContent(msg.message);
  if (!content) {
    if (msg.messageStubType === proto.WebMessageInfo.StubType.CIPHERTEXT) return 'undecryptable';
    if (!msg.messageStubType) return 'empty';
    return null; // a group/system stub: forwarded as `service`
  }
  const proto_ = content.protocolMessage;
  if (proto_) {
    const t = proto_.type;
    if (t !== proto.Message.ProtocolMessage.Type.REVOKE && t !== proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) return 'protocol';
    return null;
  }
  const keys = Object.keys(content).filter((k) => {
    const v = (content as Record<string, unknown>)[k];
    return v !== null && v !== undefined && k !== 'messageContextInfo' && k !== 'senderKeyDistributionMessage';
  });
  if (keys.length === 0) return 'key_distribution';
  return null;
}

function timestampIso(msg: WAMessage, fallback: string): string {
  const t = msg.messageTimestamp === null || msg.messageTimestamp === undefined ? 0 : toNumber(msg.messageTimestamp);
  return t > 0 ? new Date(t * 1000).toISOString() : fallback;
}

function phoneFromVcard(vcard: string | null | undefined): string | null {
  if (!vcard) return null;
  const waid = /waid=(\d+)/i.exec(vcard);
  if (waid) return `+${waid[1]}`;
  const tel = /^TEL[^:]*:(.+)$/im.exec(vcard);
  if (!tel) return null;
  const digits = tel[1].replace(/[^\d+]/g, '');
  return digits || null;
}

function contactOf(c: proto.Message.IContactMessage | null | undefined): Contact {
  return { name: c?.displayName ?? null, phone: phoneFromVcard(c?.vcard) };
}

function contextInfoOf(content: IMessage): proto.IContextInfo | null {
  for (const v of Object.values(content)) {
    if (v && typeof v === 'object' && 'contextInfo' in v) {
      const ci = (v as { contextInfo?: proto.IContextInfo | null }).contextInfo;
      if (ci) return ci;
    }
  }
  return null;
}

function textOf(content: IMessage | null | undefined): string | null {
  if (!content) return null;
  return (
    content.conversation ??
    content.extendedTextMessage?.text ??
    content.imageMessage?.caption ??
    content.videoMessage?.caption ??
    content.documentMessage?.caption ??
    null
  );
}

function stubName(type: number | null | undefined): string {
  if (type === null || type === undefined) return 'unknown';
  return proto.WebMessageInfo.StubType[type] ?? String(type);
}

function withNote(text: string | null, note: string | null): string | null {
  if (!note) return text;
  return text ? `${text}\n[${note}]` : `[${note}]`;
}

export function normalizeWaMessage(msg: WAMessage, ctx: NormalizeContext): NormalizeOutcome {
  try {
    return normalizeUnsafe(msg, ctx);
  } catch (err) {
    return { action: 'malformed', reason: describeError(err) };
  }
}

function normalizeUnsafe(msg: WAMessage, ctx: NormalizeContext): NormalizeOutcome {
  const nativeId = msg.key?.id;
  if (!msg.key?.remoteJid || !nativeId) return { action: 'malformed', reason: 'message key without remoteJid or id' };
  const skip = skipReason(msg);
  if (skip) return { action: 'skip', reason: skip };

  const content = unwrapContent(msg.message);
  const texts = ctx.texts ?? serviceTexts(null);
  const idOf = (id: string): string => `${ctx.chatKey}:${id}`;
  const ci = content ? contextInfoOf(content) : null;
  const base = {
    id: idOf(nativeId),
    chatId: ctx.chatKey,
    channel: 'whatsapp' as const,
    account: ctx.account,
    chat: { type: ctx.chatType, title: ctx.chatTitle },
    sender: ctx.sender,
    text: null as string | null,
    media: ctx.media,
    replyTo: ci?.stanzaId ? idOf(ci.stanzaId) : null,
    target: null as string | null,
    sentAt: timestampIso(msg, ctx.receivedAt),
    receivedAt: ctx.receivedAt,
  };
  const plain = (
    kind: Exclude<NewInboundMessage['kind'], 'location' | 'contact' | 'poll' | 'reaction' | 'edit' | 'delete'>,
    text: string | null,
  ): NormalizeOutcome => ({ action: 'ingest', message: { ...base, kind, text: withNote(text, ctx.mediaNote) } });

  if (!content) {
    const params = Array.isArray(msg.messageStubParameters) ? (msg.messageStubParameters as unknown[]).map(String).join(', ') : '';
    return plain('service', `${stubName(msg.messageStubType)}${params ? `: ${params}` : ''}`);
  }

  const pm = content.protocolMessage;
  if (pm) {
    const targetId = pm.key?.id;
    if (!targetId) return { action: 'malformed', reason: 'protocol message without the key of its target' };
    if (pm.type === proto.Message.ProtocolMessage.Type.REVOKE) {
      return { action: 'ingest', message: { ...base, replyTo: null, kind: 'delete', target: idOf(targetId) } };
    }
    const edited = unwrapContent(pm.editedMessage);
    return { action: 'ingest', message: { ...base, replyTo: null, kind: 'edit', text: textOf(edited), target: idOf(targetId) } };
  }

  if (content.pollUpdateMessage) {
    const v = ctx.pollVote;
    if (v && 'vote' in v) {
      const { question, options, target } = v.vote;
      return { action: 'ingest', message: { ...base, replyTo: null, kind: 'poll', text: question, target, poll: { question, options } } };
    }
    return plain(
      'service',
      texts.pollVoteUnreadable(v && 'unknown' in v ? v.unknown : 'unknown_poll', v && 'detail' in v ? v.detail : undefined),
    );
  }

  if (content.reactionMessage) {
    const r = content.reactionMessage;
    if (!r.key?.id) return { action: 'malformed', reason: 'reaction without the key of its target' };
    // an empty text means the reaction was removed
    return { action: 'ingest', message: { ...base, replyTo: null, kind: 'reaction', text: r.text || null, target: idOf(r.key.id) } };
  }

  if (typeof content.conversation === 'string') return plain('text', content.conversation);
  if (content.extendedTextMessage) return plain('text', content.extendedTextMessage.text ?? '');
  if (content.imageMessage) return plain('photo', content.imageMessage.caption ?? null);
  if (content.videoMessage) return plain('video', content.videoMessage.caption ?? null);
  if (content.ptvMessage) return plain('video', content.ptvMessage.caption ?? null);
  if (content.audioMessage) return plain(content.audioMessage.ptt ? 'voice' : 'audio', null);
  if (content.documentMessage) return plain('document', content.documentMessage.caption ?? null);
  if (content.stickerMessage) return plain('sticker', null);

  const loc = content.locationMessage ?? content.liveLocationMessage;
  if (loc) {
    const named = content.locationMessage ? (content.locationMessage.name ?? content.locationMessage.address ?? null) : null;
    return {
      action: 'ingest',
      message: {
        ...base,
        kind: 'location',
        text: content.liveLocationMessage?.caption ?? content.locationMessage?.comment ?? null,
        location: { lat: loc.degreesLatitude ?? 0, lon: loc.degreesLongitude ?? 0, name: named },
      },
    };
  }

  if (content.contactMessage) {
    return { action: 'ingest', message: { ...base, kind: 'contact', text: null, contact: contactOf(content.contactMessage) } };
  }
  if (content.contactsArrayMessage) {
    const all = content.contactsArrayMessage.contacts ?? [];
    // the model carries one contact: the first; the text lists every name
    const names = all.map((c) => c.displayName ?? '?').join(', ');
    return {
      action: 'ingest',
      message: {
        ...base,
        kind: 'contact',
        text: all.length > 1 ? names : (content.contactsArrayMessage.displayName ?? null),
        contact: contactOf(all[0]),
      },
    };
  }

  const poll =
    content.pollCreationMessage ?? content.pollCreationMessageV2 ?? content.pollCreationMessageV3 ?? content.pollCreationMessageV5;
  if (poll) {
    const question = poll.name ?? '';
    return {
      action: 'ingest',
      message: { ...base, kind: 'poll', text: question, poll: { question, options: (poll.options ?? []).map((o) => o.optionName ?? '') } },
    };
  }

  const choice = choiceReplyOf(content);
  if (choice) return plain('text', choice);

  const type =
    Object.keys(content).find(
      (k) => k !== 'messageContextInfo' && k !== 'senderKeyDistributionMessage' && (content as Record<string, unknown>)[k] != null,
    ) ?? 'unknown';
  return plain('service', texts.unsupported(type));
}

/**
 * A reply to buttons, a list, a template or an interactive (native flow) message: the text
 * the customer chose, then the id of the choice in brackets when it differs (the normalized
 * model has no field of its own for it; 1C can read it from the last line).
 */
export function choiceReplyOf(content: IMessage): string | null {
  const fmt = (text: string | null | undefined, id: string | null | undefined): string | null => {
    const t = text?.trim() || null;
    const i = id?.trim() || null;
    if (!t && !i) return null;
    if (!t) return `[choice: ${i}]`;
    return i && i !== t ? `${t}\n[choice: ${i}]` : t;
  };
  const b = content.buttonsResponseMessage;
  if (b) return fmt(b.selectedDisplayText, b.selectedButtonId) ?? '[button reply]';
  const l = content.listResponseMessage;
  if (l) return fmt(l.title ?? l.description, l.singleSelectReply?.selectedRowId) ?? '[list reply]';
  const t = content.templateButtonReplyMessage;
  if (t) return fmt(t.selectedDisplayText, t.selectedId) ?? '[template reply]';
  const ir = content.interactiveResponseMessage;
  if (ir) {
    let id: string | null = ir.nativeFlowResponseMessage?.name ?? null;
    const params = ir.nativeFlowResponseMessage?.paramsJson;
    if (params) {
      try {
        const parsed = JSON.parse(params) as { id?: unknown };
        if (typeof parsed.id === 'string' || typeof parsed.id === 'number') id = String(parsed.id);
      } catch {
        // not JSON: keep the flow name as the id
      }
    }
    return fmt(ir.body?.text, id) ?? '[interactive reply]';
  }
  return null;
}

/** `true` for group chats (sender is the participant). */
export function isGroupJid(jid: string): boolean {
  return isJidGroup(jid) === true;
}

/**
 * `messages.upsert` → InboundSink, in order, without losing anything.
 *
 * Baileys acks a message to WhatsApp before it emits `messages.upsert` (Socket/
 * messages-recv.js: sendReceipt, then upsertMessage), for live messages (`notify`) and for
 * those that queued while we were offline (`append`), so WhatsApp will not deliver it
 * again: once an upsert reaches us, we are its only copy. Hence: both types are handled;
 * events are processed one after the other (Baileys does not await its listeners); an
 * ingest that fails is retried with backoff until it succeeds (only a stop that outlasts
 * `stopGraceMs` ends the retries, and then every message is logged in full as an error).
 */
import { isLidUser, isPnUser, type WAMessage, type proto } from '@whiskeysockets/baileys';
import {
  buildChatKey,
  describeError,
  languageOrDefault,
  serviceTexts,
  type AccountLanguage,
  type InboundSink,
  type Logger,
  type MediaStore,
  type NewInboundMessage,
  type ServiceTexts,
} from '../../core/index.ts';
import { backoffDelay } from './connection-policy.ts';
import type { ChatIdentity, ChatMerge } from './inbound-identity.ts';
import { pendingNote, recoverInboundMedia, storeInboundMedia, type MediaDownloader } from './inbound-media.ts';
import type { MediaPart } from './inbound-normalize.ts';
import { findMediaPart, isGroupJid, normalizeWaMessage, skipReason, unwrapContent } from './inbound-normalize.ts';
import { decodePollVote } from './inbound-poll.ts';
import type { WaMessageStore } from './message-store.ts';
import type { WaSocket } from './socket-factory.ts';

export interface InboundProcessorOptions {
  account: string;
  sink: InboundSink;
  identity: ChatIdentity;
  store: WaMessageStore;
  mediaStore: MediaStore;
  logger: Logger;
  /** The current socket (for media re-upload requests). */
  socket(): WaSocket | null;
  /** Our own jid (creds.me.id), for decrypting poll votes. */
  meId?(): string | null;
  /** First retry delay of a failed ingest (default 200 ms), doubling up to `retryMaxMs` (default 30 000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** After stop(), how long retries go on before giving up (default 10 000 ms). */
  stopGraceMs?: number;
  download?: MediaDownloader;
  /** How long one media download (and a re-upload request) may take (default 60 000 ms). */
  mediaTimeoutMs?: number;
  now?: () => Date;
  /** The account's language for the connector's own `service` texts (account settings; default `ru`). */
  language?: AccountLanguage;
}

/** A message forwarded with its media pending: the file follows as an edit (inbound-media.ts). */
interface PendingMedia {
  msg: WAMessage;
  content: proto.IMessage;
  part: MediaPart;
  chatKey: string;
  original: NewInboundMessage;
}

export class InboundProcessor {
  private chain: Promise<void> = Promise.resolve();
  /** Media recoveries run here, outside the ordered chain, one after the other. */
  private followUps: Promise<void> = Promise.resolve();
  private followUpCount = 0;
  private readonly abort = new AbortController();
  private pending: PendingMedia[] = [];
  /** Messages to store before the next prepared one (chat merges). */
  private notices: NewInboundMessage[] = [];
  private stopDeadline: number | null = null;
  private wake: (() => void) | null = null;
  /** The `service` texts in the account's language, asked again for every upsert (a settings change applies at once). */
  private texts: ServiceTexts = serviceTexts(null);

  constructor(private readonly o: InboundProcessorOptions) {}

  /** Queues one `messages.upsert` event; handled after every earlier one. */
  enqueue(upsert: { messages: WAMessage[]; type: string }): void {
    this.chain = this.chain
      .then(() => this.handle(upsert.messages, upsert.type))
      .catch((err) => {
        this.o.logger.error({ err: describeError(err) }, 'unexpected error in WhatsApp inbound handling');
      });
  }

  /** Resolves when everything queued so far is stored (or, after a stop, given up). */
  drain(): Promise<void> {
    return this.chain;
  }

  /** Resolves when every pending media recovery has reported to 1C (file or sentence). */
  async drainFollowUps(): Promise<void> {
    await this.chain;
    await this.followUps;
  }

  /** How many media recoveries are running or queued. */
  pendingMedia(): number {
    return this.followUpCount;
  }

  /** From now on, retries end `stopGraceMs` later; media recoveries end now (1C is told). */
  stopping(): void {
    this.stopDeadline = Date.now() + (this.o.stopGraceMs ?? 10_000);
    this.abort.abort();
    this.wake?.();
  }

  resume(): void {
    this.stopDeadline = null;
  }

  private async refreshTexts(): Promise<void> {
    this.texts = serviceTexts(await languageOrDefault(this.o.language, this.o.account));
  }

  private async handle(messages: WAMessage[], type: string): Promise<void> {
    await this.refreshTexts();
    const prepared: NewInboundMessage[] = [];
    for (const msg of messages) {
      const m = await this.retrying(() => this.prepare(msg), `prepare ${msg.key?.id}`);
      prepared.push(...this.notices.splice(0));
      if (m === 'gave_up') {
        this.o.logger.error({ waMessage: msg }, 'WhatsApp message could not be prepared before stop; logged here so it is not lost');
        continue;
      }
      if (m) prepared.push(m);
    }
    const pending = this.pending;
    this.pending = [];
    if (prepared.length === 0) return;
    const r = await this.retrying(() => this.o.sink.ingest(prepared), `ingest ${prepared.length} message(s)`);
    if (r === 'gave_up') {
      this.o.logger.error({ messages: prepared }, 'WhatsApp messages could not be stored before stop; logged here so they are not lost');
      return;
    }
    // only after the message itself is stored: its edit must come after it
    for (const p of pending) this.recoverLater(p);
    this.o.logger.debug({ type, ids: prepared.map((p) => p.id) }, 'WhatsApp messages ingested');
  }

  private async prepare(msg: WAMessage): Promise<NewInboundMessage | null> {
    const { account, logger } = this.o;
    const receivedAt = (this.o.now?.() ?? new Date()).toISOString();
    const skip = skipReason(msg);
    if (skip && skip !== 'undecryptable') {
      logger.debug({ waId: msg.key?.id, remoteJid: msg.key?.remoteJid, reason: skip }, 'WhatsApp message not forwarded');
      return null;
    }
    const remoteJid = msg.key?.remoteJid;
    if (!remoteJid || !msg.key.id) {
      logger.warn({ account, nativeId: msg.key?.id ?? '?', reason: 'message key without remoteJid or id' }, 'malformed WhatsApp update');
      return null;
    }
    const group = isGroupJid(remoteJid);
    const chat = group ? await this.o.identity.resolve(remoteJid) : await this.o.identity.resolve(remoteJid, msg.key.remoteJidAlt);
    const senderJid = group ? msg.key.participant || msg.participant || '' : remoteJid;
    const senderAlt = group ? msg.key.participantAlt : msg.key.remoteJidAlt;
    const sender = group && senderJid ? await this.o.identity.resolve(senderJid, senderAlt) : chat;
    const chatKey = buildChatKey('whatsapp', account, chat.stableJid);
    if (chat.merged) this.notices.push(this.mergeNotice(chat.merged, receivedAt));

    const senderInfo = {
      id: `wa:${sender.stableJid}`,
      name: msg.pushName ?? null,
      username: null,
      phone: sender.phone ?? (isPnUser(sender.stableJid) && !isLidUser(sender.stableJid) ? `+${sender.stableJid.split('@')[0]}` : null),
    };
    if (skip === 'undecryptable') {
      // Not silently dropped: 1C gets a `service` message under an id of its own, so that a
      // later successful retry of the real message (same WhatsApp id) is not a duplicate.
      logger.warn(
        { waId: msg.key.id, remoteJid, why: msg.messageStubParameters as unknown },
        'WhatsApp message could not be decrypted; Baileys asks the sender to resend it; 1C is told',
      );
      return {
        id: `${chatKey}:${msg.key.id}:undecryptable`,
        chatId: chatKey,
        channel: 'whatsapp',
        account,
        chat: { type: group ? 'group' : 'private', title: group ? null : (msg.pushName ?? null) },
        sender: senderInfo,
        kind: 'service',
        text: this.texts.undecryptable,
        media: [],
        replyTo: null,
        target: null,
        sentAt: msg.messageTimestamp ? new Date(Number(msg.messageTimestamp) * 1000).toISOString() : receivedAt,
        receivedAt,
      };
    }

    const content = unwrapContent(msg.message);
    const pollVote = content?.pollUpdateMessage
      ? await decodePollVote(msg, content.pollUpdateMessage, {
          chatKey,
          meId: this.o.meId?.() ?? '',
          lookup: (id) => this.o.store.quoted(id),
        })
      : null;
    const part = findMediaPart(content);
    let media: { media: NewInboundMessage['media']; note: string | null; pending?: boolean } = { media: [], note: null };
    if (part && content) {
      media = await storeInboundMedia({
        msg,
        content,
        part,
        chatKey,
        mediaStore: this.o.mediaStore,
        logger,
        download: this.o.download,
        timeoutMs: this.o.mediaTimeoutMs,
      });
    }
    const outcome = normalizeWaMessage(msg, {
      account,
      chatKey,
      chatType: group ? 'group' : 'private',
      chatTitle: group ? null : (msg.pushName ?? null),
      sender: senderInfo,
      media: media.media,
      mediaNote: media.note,
      receivedAt,
      pollVote,
      texts: this.texts,
    });
    if (outcome.action === 'skip') return null;
    if (outcome.action === 'malformed') {
      logger.warn({ account, nativeId: msg.key.id, reason: outcome.reason }, 'malformed WhatsApp update');
      return null;
    }
    if (part && content && 'pending' in media && media.pending) {
      this.pending.push({ msg, content, part, chatKey, original: outcome.message });
    }
    if (msg.message) {
      await this.o.store
        .rememberQuotable(outcome.message.id, msg)
        .catch((err) => logger.warn({ err: describeError(err), id: outcome.message.id }, 'could not keep the WhatsApp message quotable'));
    }
    return outcome.message;
  }

  /**
   * A PN↔LID mapping became known outside a message (`lid-mapping.update`): merge the two
   * chat keys of the person if there are two, and tell 1C — in the inbound order.
   */
  linkMapping(pn: string, lid: string): void {
    this.chain = this.chain
      .then(async () => {
        const merged = await this.retrying(() => this.o.identity.link(pn, lid), 'link a PN and a LID');
        if (!merged || merged === 'gave_up') return;
        await this.refreshTexts();
        const notice = this.mergeNotice(merged, (this.o.now?.() ?? new Date()).toISOString());
        await this.retrying(() => this.o.sink.ingest([notice]), 'ingest a chat-merge notice');
      })
      .catch((err) => this.o.logger.error({ err: describeError(err) }, 'could not link a WhatsApp PN and LID'));
  }

  /** One `service` message in the surviving chat; its id is fixed per merge, so it is stored once. */
  private mergeNotice(m: ChatMerge, at: string): NewInboundMessage {
    const into = buildChatKey('whatsapp', this.o.account, m.into);
    const from = buildChatKey('whatsapp', this.o.account, m.from);
    this.o.logger.info({ from, into }, 'two WhatsApp chat keys of one person were merged');
    return {
      id: `${into}:merged:${m.from}`,
      chatId: into,
      channel: 'whatsapp',
      account: this.o.account,
      chat: { type: 'private', title: null },
      sender: { id: `wa:${m.into}`, name: null, username: null, phone: isPnUser(m.into) ? `+${m.into.split('@')[0]}` : null },
      kind: 'service',
      text: this.texts.chatsMerged(from),
      media: [],
      replyTo: null,
      target: null,
      sentAt: at,
      receivedAt: at,
    };
  }

  private recoverLater(p: PendingMedia): void {
    this.followUpCount += 1;
    this.followUps = this.followUps
      .then(async () => {
        const result = await recoverInboundMedia({
          msg: p.msg,
          content: p.content,
          part: p.part,
          chatKey: p.chatKey,
          mediaStore: this.o.mediaStore,
          logger: this.o.logger,
          download: this.o.download,
          timeoutMs: this.o.mediaTimeoutMs,
          socket: () => this.o.socket(),
          signal: this.abort.signal,
        });
        const note = `[${pendingNote(p.part)}]`;
        const caption = p.original.text?.replace(`\n${note}`, '').replace(note, '') || null;
        const followUp: NewInboundMessage = {
          ...p.original,
          id: `${p.original.id}:media`,
          kind: 'edit',
          target: p.original.id,
          replyTo: null,
          text: result.note ? (caption ? `${caption}\n[${result.note}]` : `[${result.note}]`) : caption,
          media: result.media,
          receivedAt: (this.o.now?.() ?? new Date()).toISOString(),
        };
        const r = await this.retrying(() => this.o.sink.ingest([followUp]), 'ingest a media follow-up');
        if (r === 'gave_up')
          this.o.logger.error(
            { message: followUp },
            'WhatsApp media follow-up could not be stored before stop; logged here so it is not lost',
          );
      })
      .catch((err) => this.o.logger.error({ err: describeError(err), id: p.original.id }, 'WhatsApp media follow-up failed'))
      .finally(() => {
        this.followUpCount -= 1;
      });
  }

  private async retrying<T>(fn: () => Promise<T>, what: string): Promise<T | 'gave_up'> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this.stopDeadline !== null && Date.now() >= this.stopDeadline) return 'gave_up';
        const wait = backoffDelay(attempt, { baseMs: this.o.retryBaseMs ?? 200, maxMs: this.o.retryMaxMs ?? 30_000, jitterRatio: 0.2 });
        this.o.logger.warn(
          { err: describeError(err), attempt: attempt + 1, retryInMs: wait },
          `WhatsApp inbound: ${what} failed; retrying`,
        );
        await this.sleep(this.stopDeadline === null ? wait : Math.min(wait, Math.max(0, this.stopDeadline - Date.now())));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

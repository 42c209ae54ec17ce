/**
 * Test doubles around Baileys' real pieces: a socket whose `ev` is Baileys' own event
 * buffer (makeEventBuffer) and which closes the way Baileys' `end()` does; in-memory
 * sinks and a media store.
 */
import { makeEventBuffer, proto, type AnyMessageContent, type MiscMessageGenerationOptions, type WAMessage } from '@whiskeysockets/baileys';
import { createHash, randomBytes } from 'node:crypto';
import {
  ConnectorError,
  silentLogger,
  type IncomingFile,
  type IngestResult,
  type InboundSink,
  type MediaRef,
  type MediaStore,
  type NewInboundMessage,
  type StatusEvent,
  type StatusSink,
} from '../../../src/core/index.ts';
import { toBaileysLogger } from '../../../src/channels/whatsapp/baileys-logger.ts';
import type { SocketFactory, SocketFactoryInput, WaSocket } from '../../../src/channels/whatsapp/socket-factory.ts';

/** An Error shaped like Baileys' Boom (what `lastDisconnect.error` is). */
export function boom(statusCode: number, message = `status ${statusCode}`): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode, payload: {} } });
}

export class FakeSocket implements WaSocket {
  readonly ev = makeEventBuffer(toBaileysLogger(silentLogger));
  readonly sent: { jid: string; content: AnyMessageContent; options?: MiscMessageGenerationOptions }[] = [];
  ended = false;
  failNextSend: Error | null = null;
  private n = 0;

  constructor(readonly input: SocketFactoryInput) {
    // as Baileys' socket does (Socket/socket.js): creds.update is merged into the auth creds
    this.ev.on('creds.update', (update) => {
      Object.assign(input.auth.creds, update);
    });
  }

  async sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined> {
    if (this.failNextSend) {
      const e = this.failNextSend;
      this.failNextSend = null;
      throw e;
    }
    this.sent.push({ jid, content, options });
    const id = `3EB0${randomBytes(8).toString('hex').toUpperCase()}${++this.n}`;
    const message =
      'text' in content
        ? proto.Message.fromObject({ extendedTextMessage: { text: content.text } })
        : proto.Message.fromObject({ documentMessage: { fileName: 'x', mimetype: 'application/octet-stream' } });
    return { key: { remoteJid: jid, fromMe: true, id }, message, messageTimestamp: Math.floor(Date.now() / 1000) };
  }

  async requestPairingCode(phone: string): Promise<string> {
    return `C${phone.slice(-7)}`;
  }

  async updateMediaMessage(m: WAMessage): Promise<WAMessage> {
    return m;
  }

  /** As Baileys' end(): emits connection.update close with the error, then destroys the buffer. */
  async end(error: Error | undefined): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.ev.removeAllListeners('connection.update');
    this.ev.destroy();
  }

  open(): void {
    this.ev.emit('connection.update', { connection: 'open' });
  }
  qr(code: string): void {
    this.ev.emit('connection.update', { qr: code });
  }
  upsert(messages: WAMessage[], type: 'notify' | 'append'): void {
    this.ev.emit('messages.upsert', { messages, type });
  }
}

export class FakeSocketFactory {
  readonly sockets: FakeSocket[] = [];
  private waiters: { n: number; resolve: (s: FakeSocket) => void }[] = [];

  readonly factory: SocketFactory = (input) => {
    const s = new FakeSocket(input);
    this.sockets.push(s);
    this.waiters = this.waiters.filter((w) => (this.sockets.length >= w.n ? (w.resolve(this.sockets[w.n - 1]), false) : true));
    return s;
  };

  /** Resolves with the n-th socket (1-based) once it is created. */
  nth(n: number): Promise<FakeSocket> {
    if (this.sockets.length >= n) return Promise.resolve(this.sockets[n - 1]);
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  get last(): FakeSocket {
    return this.sockets[this.sockets.length - 1];
  }
}

/** Dedupe by id and seq per chat, as the pipeline does; can fail on demand. */
export class MemorySink implements InboundSink {
  readonly stored: NewInboundMessage[] = [];
  readonly calls: string[][] = [];
  failures = 0;
  private readonly seqs = new Map<string, number>();
  private readonly seen = new Map<string, IngestResult>();
  private waiters: { n: number; resolve: () => void }[] = [];

  async ingest(messages: NewInboundMessage[]): Promise<IngestResult[]> {
    this.calls.push(messages.map((m) => m.id));
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('redis down (simulated)');
    }
    const out = messages.map((m) => {
      const prev = this.seen.get(m.id);
      if (prev) return { ...prev, duplicate: true };
      const seq = (this.seqs.get(m.chatId) ?? 0) + 1;
      this.seqs.set(m.chatId, seq);
      const r = { id: m.id, seq, duplicate: false };
      this.seen.set(m.id, r);
      this.stored.push(m);
      return r;
    });
    this.waiters = this.waiters.filter((w) => (this.stored.length >= w.n ? (w.resolve(), false) : true));
    return out;
  }

  waitFor(n: number): Promise<void> {
    if (this.stored.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

export class MemoryStatusSink implements StatusSink {
  readonly events: StatusEvent[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  async report(events: StatusEvent[]): Promise<void> {
    this.events.push(...events);
    this.waiters = this.waiters.filter((w) => (this.events.length >= w.n ? (w.resolve(), false) : true));
  }
  waitFor(n: number): Promise<void> {
    if (this.events.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** Keeps bytes in memory; refuses files above `maxBytes` with `media_too_large` like the real store. */
export class MemoryMediaStore implements MediaStore {
  readonly files = new Map<string, { ref: MediaRef; bytes: Buffer }>();
  constructor(private readonly maxBytes = 1024 * 1024) {}
  async save(chatKey: string, file: IncomingFile): Promise<MediaRef> {
    if (file.declaredSize !== null && file.declaredSize > this.maxBytes) {
      throw new ConnectorError('media_too_large', `The file is larger than ${this.maxBytes} bytes.`, { httpStatus: 413 });
    }
    const chunks: Buffer[] = [];
    for await (const c of await file.open()) chunks.push(Buffer.from(c));
    const bytes = Buffer.concat(chunks);
    const id = createHash('sha256').update(`${chatKey}|${file.nativeId}`).digest('hex').slice(0, 32);
    const ref: MediaRef = {
      id,
      mime: file.mime,
      fileName: file.fileName,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      url: `http://127.0.0.1/api/v1/media/${id}`,
    };
    this.files.set(id, { ref, bytes });
    return ref;
  }
  async open(): Promise<null> {
    return null;
  }
  /** URLs the sender asked to fetch (the real store fetches through media-fetch.ts). */
  readonly fetched: string[] = [];
  async fetchUrl(url: string): Promise<{ bytes: Buffer; mime: string | null }> {
    this.fetched.push(url);
    return { bytes: Buffer.from(`bytes of ${url}`), mime: null };
  }
}

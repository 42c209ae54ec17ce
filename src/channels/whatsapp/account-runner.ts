/**
 * One WhatsApp account: a Baileys socket, its Redis auth state, the connection policy
 * (connection-policy.ts), pairing (QR / pairing code), inbound and receipts.
 * The composition root holds the cross-instance lease and calls start()/stop(); after
 * stop() the runner never reconnects until start() is called again.
 */
import type { Redis } from 'ioredis';
import QRCode from 'qrcode';
import {
  ConnectorError,
  RemoteRefusedError,
  ValidationError,
  describeError,
  type AccountConnectionState,
  type AccountRunner,
  type AccountState,
  type InboundSink,
  type Logger,
  type MediaStore,
  type StatusSink,
} from '../../core/index.ts';
import { useRedisAuthState, type RedisAuthState } from './auth-state-redis.ts';
import { backoffDelay, closeStatusCode, decideOnClose, type BackoffOptions } from './connection-policy.ts';
import { InboundProcessor, type InboundProcessorOptions } from './inbound-handler.ts';
import { ChatIdentity, lidMappingFromKeys } from './inbound-identity.ts';
import type { WaMessageStore } from './message-store.ts';
import { classifySendError } from './outbound-send.ts';
import { receiptCandidates, toStatusEvents } from './outbound-receipts.ts';
import { baileysSocketFactory, type SocketFactory, type WaSocket } from './socket-factory.ts';

/** What the HTTP routes and the CLI need of a runner. */
export interface WhatsappRunnerLike {
  state(): AccountState;
  currentQr(): string | null;
  qrPng(): Promise<Buffer | null>;
  requestPairingCode(phone: string): Promise<string>;
}

export interface WhatsappRunnerOptions {
  account: string;
  redis: Redis;
  /** Key prefix shared by the connector (e.g. `chats`). */
  prefix: string;
  mediaStore: MediaStore;
  store: WaMessageStore;
  logger: Logger;
  statusSink?: StatusSink;
  /** Default: Baileys makeWASocket (socket-factory.ts). */
  socketFactory?: SocketFactory;
  /** Reconnect backoff (default 1 s doubling to 60 s, ±20 %). */
  backoff?: BackoffOptions;
  /** An open connection that lasted this long resets the backoff (default 60 000 ms). */
  stableOpenMs?: number;
  /** How long requestPairingCode waits for the socket to reach the pairing stage (default 20 000 ms). */
  pairingWaitMs?: number;
  inbound?: Pick<InboundProcessorOptions, 'retryBaseMs' | 'retryMaxMs' | 'stopGraceMs' | 'download'>;
  now?: () => number;
  random?: () => number;
}

type Listener = (state: AccountState, qr: string | null) => void;

export class WhatsappAccountRunner implements AccountRunner, WhatsappRunnerLike {
  readonly channel = 'whatsapp' as const;
  readonly leaseKey: string;
  private readonly log: Logger;
  private st: AccountState;
  private qr: string | null = null;
  private sock: WaSocket | null = null;
  private gen = 0;
  private running = false;
  private stopping = false;
  private attempts = 0;
  private openedAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private auth: RedisAuthState | null = null;
  private processor: InboundProcessor | null = null;
  private receiptChain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly o: WhatsappRunnerOptions) {
    this.leaseKey = `wa:${o.account}`;
    this.log = o.logger.child({ account: o.account });
    this.st = { channel: 'whatsapp', account: o.account, state: 'stopped', since: new Date(this.now()).toISOString(), lastError: null };
  }

  get account(): string {
    return this.o.account;
  }

  state(): AccountState {
    return { ...this.st };
  }

  currentQr(): string | null {
    return this.qr;
  }

  async qrPng(): Promise<Buffer | null> {
    const qr = this.qr;
    return qr ? QRCode.toBuffer(qr, { type: 'png', margin: 2, width: 400 }) : null;
  }

  /** The open socket, or null (outbound uses it). */
  openSocket(): WaSocket | null {
    return this.st.state === 'open' ? this.sock : null;
  }

  /** For health output and tests: is a reconnect scheduled, and how many attempts since the last stable open. */
  diagnostics(): { reconnectPending: boolean; attempts: number; running: boolean } {
    return { reconnectPending: this.timer !== null, attempts: this.attempts, running: this.running };
  }

  /** Called on every state or QR change; returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async start(sink: InboundSink): Promise<void> {
    if (this.running && (this.sock || this.timer)) return;
    this.running = true;
    this.stopping = false;
    this.attempts = 0;
    // fresh from Redis each start: creds may have been paired (or cleared) elsewhere
    this.auth = await useRedisAuthState({ redis: this.o.redis, prefix: this.o.prefix, account: this.o.account, logger: this.log });
    const identity = new ChatIdentity(this.o.redis, this.o.prefix, this.o.account, lidMappingFromKeys(this.auth.rawKeys));
    this.processor = new InboundProcessor({
      account: this.o.account,
      sink,
      identity,
      store: this.o.store,
      mediaStore: this.o.mediaStore,
      logger: this.log,
      socket: () => this.sock,
      ...this.o.inbound,
    });
    if (!this.running || this.stopping) return; // stop() came while loading
    this.connect();
  }

  async stop(): Promise<void> {
    if (!this.running && !this.sock) return;
    this.stopping = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.processor?.stopping();
    const sock = this.sock;
    this.sock = null;
    this.gen += 1; // the close event of this socket is ours, not a disconnect
    this.qr = null;
    if (sock) {
      try {
        await sock.end(undefined);
      } catch (err) {
        this.log.debug({ err: describeError(err) }, 'error while closing the WhatsApp socket');
      }
    }
    await this.processor?.drain();
    await this.receiptChain;
    await this.auth?.flush().catch(() => undefined);
    if (this.st.state !== 'logged_out' && this.st.state !== 'replaced') this.setState('stopped', this.st.lastError);
  }

  async requestPairingCode(phone: string): Promise<string> {
    const digits = String(phone ?? '').replace(/[\s()+-]/g, '');
    if (!/^\d{7,15}$/.test(digits)) throw new ValidationError('phone must be the international number in digits, e.g. 79991234567.');
    if (this.st.state === 'open')
      throw new ConnectorError('already_paired', `WhatsApp account ${this.o.account} is already paired.`, { httpStatus: 409 });
    if (!this.running)
      throw new ConnectorError('account_not_running', `WhatsApp account ${this.o.account} is not running on this instance.`, {
        httpStatus: 409,
        retryable: true,
      });
    const sock = await this.waitForPairingSocket();
    try {
      return await sock.requestPairingCode(digits);
    } catch (err) {
      throw classifySendError(err);
    }
  }

  private waitForPairingSocket(): Promise<WaSocket> {
    if (this.sock && this.qr) return Promise.resolve(this.sock);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new RemoteRefusedError('pairing_unavailable', 'WhatsApp did not offer pairing in time; try again.', {
            httpStatus: 503,
            retryable: true,
          }),
        );
      }, this.o.pairingWaitMs ?? 20_000);
      const off = this.onChange((state, qr) => {
        if (qr && this.sock) {
          clearTimeout(timer);
          off();
          resolve(this.sock);
        } else if (state.state === 'open' || state.state === 'logged_out' || state.state === 'replaced' || state.state === 'stopped') {
          clearTimeout(timer);
          off();
          reject(
            new ConnectorError('pairing_unavailable', `WhatsApp account ${this.o.account} is ${state.state}, not pairing.`, {
              httpStatus: 409,
            }),
          );
        }
      });
    });
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private setState(state: AccountConnectionState, lastError: string | null = this.st.lastError): void {
    if (this.st.state !== state || this.st.lastError !== lastError) {
      this.st = { ...this.st, state, lastError, since: this.st.state === state ? this.st.since : new Date(this.now()).toISOString() };
    }
    for (const l of this.listeners) l(this.state(), this.qr);
  }

  private paired(): boolean {
    const creds = this.auth?.state.creds;
    return !!(creds?.me?.id && creds.account);
  }

  private connect(): void {
    if (!this.running || this.stopping || !this.auth) return;
    this.timer = null;
    const gen = ++this.gen;
    const auth = this.auth;
    const factory = this.o.socketFactory ?? baileysSocketFactory;
    let sock: WaSocket;
    try {
      sock = factory({
        account: this.o.account,
        auth: auth.state,
        getMessage: (key) => this.o.store.getMessage(key),
        logger: this.log.child({ component: 'baileys' }),
      });
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'could not create the WhatsApp socket');
      this.scheduleReconnect(describeError(err));
      return;
    }
    this.sock = sock;
    this.qr = null;
    this.setState(this.paired() ? 'connecting' : 'pairing');
    sock.ev.process(async (events) => {
      if (gen !== this.gen) return;
      try {
        if (events['creds.update']) {
          auth.saveCreds().catch((err) => this.log.error({ err: describeError(err) }, 'could not save WhatsApp credentials to Redis'));
        }
        const upsert = events['messages.upsert'];
        if (upsert) this.processor?.enqueue(upsert);
        if (events['messages.update'] || events['message-receipt.update']) {
          this.handleReceipts(events['messages.update'], events['message-receipt.update']);
        }
        const cu = events['connection.update'];
        if (cu) await this.onConnectionUpdate(gen, cu);
      } catch (err) {
        this.log.error({ err: describeError(err) }, 'error handling WhatsApp events');
      }
    });
  }

  private async onConnectionUpdate(
    gen: number,
    cu: { connection?: string; qr?: string; lastDisconnect?: { error: Error | undefined } },
  ): Promise<void> {
    if (cu.qr) {
      this.qr = cu.qr;
      this.setState('pairing');
    }
    if (cu.connection === 'open') {
      this.qr = null;
      this.openedAt = this.now();
      this.setState('open', null);
      this.log.info('WhatsApp connection open');
      return;
    }
    if (cu.connection !== 'close' || gen !== this.gen) return;
    this.sock = null;
    this.qr = null;
    const code = closeStatusCode(cu.lastDisconnect?.error);
    const reason = cu.lastDisconnect?.error ? describeError(cu.lastDisconnect.error) : 'connection closed';
    const decision = decideOnClose(code);
    if (this.openedAt !== null && this.now() - this.openedAt >= (this.o.stableOpenMs ?? 60_000)) this.attempts = 0;
    this.openedAt = null;
    switch (decision) {
      case 'restart':
        this.log.info({ code }, 'WhatsApp asked for a restart (after pairing); reconnecting now');
        await this.auth?.flush().catch(() => undefined);
        this.connect();
        return;
      case 'logged_out':
        this.running = false;
        try {
          await this.auth?.clear();
        } catch (err) {
          this.log.error({ err: describeError(err) }, 'could not clear the WhatsApp auth state');
        }
        this.setState('logged_out', `logged out by WhatsApp (${code}): ${reason}`);
        this.log.error(
          { code },
          `WhatsApp account "${this.o.account}" was logged out (unlinked on the phone or revoked). Its session was deleted; ` +
            `pair it again: \`chat-connector whatsapp pair ${this.o.account}\` or GET /api/v1/whatsapp/${this.o.account}/qr.`,
        );
        return;
      case 'replaced':
        this.running = false;
        this.setState('replaced', `connection replaced by another client (${code})`);
        this.log.error(
          { code },
          `WhatsApp account "${this.o.account}": another client took over this session (connection replaced). Not reconnecting, to avoid a fight; ` +
            'make sure only one connector instance (or WhatsApp Web session with these credentials) runs, then restart the account.',
        );
        return;
      case 'reconnect_backoff':
        this.scheduleReconnect(`${reason}${code ? ` (${code})` : ''}`);
        return;
    }
  }

  private scheduleReconnect(lastError: string): void {
    if (!this.running || this.stopping) return;
    const delay = backoffDelay(this.attempts, this.o.backoff, this.o.random);
    this.attempts += 1;
    this.log.warn({ attempt: this.attempts, delayMs: delay, lastError }, 'WhatsApp connection closed; reconnecting');
    this.setState(this.paired() ? 'connecting' : 'pairing', lastError);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private handleReceipts(updates: Parameters<typeof receiptCandidates>[0], receipts: Parameters<typeof receiptCandidates>[1]): void {
    const sink = this.o.statusSink;
    if (!sink) return;
    const candidates = receiptCandidates(updates, receipts, new Date(this.now()).toISOString());
    if (candidates.length === 0) return;
    this.receiptChain = this.receiptChain
      .then(async () => {
        const events = await toStatusEvents(candidates, (id) => this.o.store.outboundIdOf(id));
        if (events.length) await sink.report(events);
      })
      .catch((err) => this.log.warn({ err: describeError(err) }, 'could not report WhatsApp receipts'));
  }
}

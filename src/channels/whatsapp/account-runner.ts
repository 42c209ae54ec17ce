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
import { accountKeys } from './redis-keys.ts';
import { baileysSocketFactory, type SocketFactory, type WaSocket } from './socket-factory.ts';
import { TtlCache, resolveWaVersion, type VersionFetcher } from './socket-options.ts';
import type { GroupMetadata, WAVersion } from '@whiskeysockets/baileys';

/** What the HTTP routes and the CLI need of a runner. */
export interface WhatsappRunnerLike {
  state(): AccountState;
  currentQr(): string | null;
  qrPng(): Promise<Buffer | null>;
  /**
   * The QR as PNG, starting a new pairing round first when the account is idle on this
   * instance (logged out, QR rounds used up, replaced, refused): waits up to the pairing
   * wait for WhatsApp to offer one. Null when the account is paired (or opens instead).
   */
  qrPngWhenReady(): Promise<Buffer | null>;
  requestPairingCode(phone: string): Promise<string>;
}

/** States in which the runner holds no socket and waits for a person (a QR request resumes it). */
const IDLE_STATES: ReadonlySet<AccountConnectionState> = new Set<AccountConnectionState>([
  'logged_out',
  'replaced',
  'waiting_for_pairing',
  'outdated_version',
  'forbidden',
  'error',
]);

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
  inbound?: Pick<InboundProcessorOptions, 'retryBaseMs' | 'retryMaxMs' | 'stopGraceMs' | 'download' | 'mediaTimeoutMs' | 'language'>;
  /** QR rounds (sockets that showed QR codes nobody scanned) before waiting for a person (default 3). */
  maxQrRounds?: number;
  /** A 401 this soon after a 515 restart is retried once before the creds are deleted (default 15 000 ms). */
  falseLogoutWindowMs?: number;
  /** WHATSAPP_VERSION: connect with this protocol version instead of fetching the current one. */
  version?: WAVersion | null;
  /**
   * How the current version is fetched (production: webVersionFetcher, WhatsApp Web's sw.js),
   * and how long it may take (default 5000 ms). Without a fetcher and a pin: Baileys' bundled version.
   */
  versionFetcher?: VersionFetcher;
  versionTimeoutMs?: number;
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
  private sink: InboundSink | null = null;
  /** QR codes seen on the current socket / sockets that ended with unscanned QR codes. */
  private qrSeenOnSocket = false;
  private qrRounds = 0;
  /** When the last 515 restart happened (a 401 right after it is a known false logout). */
  private lastRestartAt: number | null = null;
  private nextRetryAt: number | null = null;
  private falseLogoutRetried = false;
  private version: WAVersion | undefined;
  /** Kept across reconnects of this account (see socket-options.ts). */
  private readonly retryCounters = new TtlCache(60 * 60_000);
  private readonly groups = new TtlCache(5 * 60_000, 2000);

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
  diagnostics(): { reconnectPending: boolean; attempts: number; running: boolean; retryInMs: number | null } {
    return {
      reconnectPending: this.timer !== null,
      attempts: this.attempts,
      running: this.running,
      retryInMs: this.timer !== null && this.nextRetryAt !== null ? Math.max(0, this.nextRetryAt - this.now()) : null,
    };
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
    this.sink = sink;
    await this.load();
    if (!this.running || this.stopping) return; // stop() came while loading
    this.connect();
  }

  /** Fresh auth state from Redis (creds may have been paired or cleared elsewhere), version, processor. */
  private async load(): Promise<void> {
    this.attempts = 0;
    this.qrRounds = 0;
    this.falseLogoutRetried = false;
    this.auth = await useRedisAuthState({ redis: this.o.redis, prefix: this.o.prefix, account: this.o.account, logger: this.log });
    if (!this.o.version && !this.o.versionFetcher)
      this.version = undefined; // Baileys' bundled version
    else if (!this.version || this.o.version) {
      const v = await resolveWaVersion({ pinned: this.o.version, fetcher: this.o.versionFetcher, timeoutMs: this.o.versionTimeoutMs });
      this.version = v.version;
      if (v.source === 'bundled')
        this.log.warn(
          { version: v.version.join('.'), why: v.error },
          'could not fetch the current WhatsApp Web version; using the one bundled in Baileys',
        );
      else this.log.info({ version: v.version.join('.'), source: v.source }, 'WhatsApp Web protocol version');
    }
    const identity = new ChatIdentity(this.o.redis, this.o.prefix, this.o.account, lidMappingFromKeys(this.auth.rawKeys));
    this.processor = new InboundProcessor({
      account: this.o.account,
      sink: this.sink!,
      identity,
      store: this.o.store,
      mediaStore: this.o.mediaStore,
      logger: this.log,
      socket: () => this.sock,
      meId: () => this.auth?.state.creds.me?.id ?? null,
      ...this.o.inbound,
    });
  }

  /** Is this runner waiting for a person (no socket, no reconnect scheduled) while it holds the account? */
  idle(): boolean {
    return this.running && !this.stopping && !this.sock && !this.timer && IDLE_STATES.has(this.st.state);
  }

  /**
   * Starts a new pairing / connection round after the runner went idle (logged out, QR
   * rounds used up, replaced, refused). Returns false when the account is not idle here.
   */
  async resume(why: string): Promise<boolean> {
    if (!this.idle()) return false;
    this.log.info({ why }, 'WhatsApp account resumes on request');
    this.timer = setTimeout(() => undefined, 0); // marks "connecting" for concurrent callers until connect()
    try {
      await this.processor?.drain();
      await this.load();
    } finally {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.running || this.stopping) return false;
    this.connect();
    return true;
  }

  async qrPngWhenReady(): Promise<Buffer | null> {
    // only a round started by this request is waited for; otherwise the answer is immediate
    if (!this.qr && this.idle() && (await this.resume('a QR code was requested'))) {
      await this.waitForPairingSocket().catch(() => undefined);
    }
    return this.qrPng();
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
    await this.processor?.drainFollowUps(); // aborted above: each reports its file as lost, quickly
    await this.receiptChain;
    await this.auth?.flush().catch(() => undefined);
    // a state that needs a person stays visible after a stop
    if (!IDLE_STATES.has(this.st.state)) this.setState('stopped', this.st.lastError);
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
    if (this.idle()) await this.resume('a pairing code was requested');
    const sock = await this.waitForPairingSocket();
    try {
      return await sock.requestPairingCode(digits);
    } catch (err) {
      throw classifySendError(err);
    }
  }

  private waitForPairingSocket(): Promise<WaSocket> {
    if (this.sock && this.qr) return Promise.resolve(this.sock);
    const now = this.st.state;
    if (now === 'open' || now === 'stopped' || IDLE_STATES.has(now))
      return Promise.reject(
        new ConnectorError(
          now === 'open' ? 'already_paired' : 'pairing_unavailable',
          `WhatsApp account ${this.o.account} is ${now}, not pairing.`,
          { httpStatus: 409 },
        ),
      );
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
        } else if (state.state === 'open' || state.state === 'stopped' || IDLE_STATES.has(state.state)) {
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
    const st = this.state();
    // for `doctor` (another process): the last state of the account, wherever it runs
    this.o.redis.set(accountKeys(this.o.prefix, this.o.account).state, JSON.stringify(st), 'EX', 7 * 24 * 3600).catch(() => undefined);
    for (const l of this.listeners) l(st, this.qr);
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
        version: this.version,
        msgRetryCounterCache: this.retryCounters,
        cachedGroupMetadata: (jid) => this.groupMetadata(jid),
      });
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'could not create the WhatsApp socket');
      this.scheduleReconnect(describeError(err));
      return;
    }
    this.sock = sock;
    this.qr = null;
    this.qrSeenOnSocket = false;
    this.setState(this.paired() ? 'connecting' : 'pairing');
    sock.ev.process(async (events) => {
      if (gen !== this.gen) return;
      try {
        if (events['creds.update']) {
          auth.saveCreds().catch((err) => this.log.error({ err: describeError(err) }, 'could not save WhatsApp credentials to Redis'));
        }
        const mapping = events['lid-mapping.update'];
        if (mapping?.pn && mapping.lid) this.processor?.linkMapping(mapping.pn, mapping.lid);
        const upsert = events['messages.upsert'];
        if (upsert) this.processor?.enqueue(upsert);
        if (events['groups.update'] || events['group-participants.update']) {
          for (const g of events['groups.update'] ?? []) if (g.id) this.groups.del(g.id);
          const gp = events['group-participants.update'];
          if (gp) this.groups.del(gp.id);
        }
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

  private async groupMetadata(jid: string): Promise<GroupMetadata | undefined> {
    const cached = this.groups.get<GroupMetadata>(jid);
    if (cached) return cached;
    const sock = this.sock;
    if (!sock?.groupMetadata) return undefined;
    const fetched = await sock.groupMetadata(jid);
    this.groups.set(jid, fetched);
    return fetched;
  }

  private async onConnectionUpdate(
    gen: number,
    cu: { connection?: string; qr?: string; lastDisconnect?: { error: Error | undefined } },
  ): Promise<void> {
    if (cu.qr) {
      this.qr = cu.qr;
      this.qrSeenOnSocket = true;
      this.setState('pairing');
    }
    if (cu.connection === 'open') {
      this.qr = null;
      this.qrRounds = 0;
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
    const name = this.o.account;
    const pairHint = `request a new QR code (GET /api/v1/whatsapp/${name}/qr) or a pairing code (POST /api/v1/whatsapp/${name}/pairing-code)`;
    switch (decision) {
      case 'restart': {
        this.lastRestartAt = this.now();
        await this.auth?.flush().catch(() => undefined);
        // the first restart (after pairing) is immediate; a run of them goes through the backoff
        if (this.attempts === 0) {
          this.attempts += 1;
          this.log.info({ code }, 'WhatsApp asked for a restart (after pairing); reconnecting now');
          this.connect();
        } else this.scheduleReconnect(`restart required (${code})`);
        return;
      }
      case 'logged_out': {
        const window = this.o.falseLogoutWindowMs ?? 15_000;
        if (!this.falseLogoutRetried && this.lastRestartAt !== null && this.now() - this.lastRestartAt <= window) {
          // a 401 right after the 515 that follows pairing is often not a real logout: retry once
          this.falseLogoutRetried = true;
          this.log.warn({ code }, 'WhatsApp said "logged out" right after a restart; retrying once before deleting the session');
          this.scheduleReconnect(`logged out right after a restart (${code}); retrying once`);
          return;
        }
        try {
          await this.auth?.clear();
        } catch (err) {
          this.log.error({ err: describeError(err) }, 'could not clear the WhatsApp auth state');
        }
        this.setState('logged_out', `logged out by WhatsApp (${code}): ${reason}`);
        this.log.error(
          { code },
          `WhatsApp account "${name}" was logged out (unlinked on the phone or revoked). Its session was deleted; ` +
            `pair it again: ${pairHint}.`,
        );
        return;
      }
      case 'replaced':
        this.setState('replaced', `connection replaced by another client (${code})`);
        this.log.error(
          { code },
          `WhatsApp account "${name}": another client took over this session (connection replaced). Not reconnecting, to avoid a fight; ` +
            `make sure only one connector instance (or WhatsApp Web session with these credentials) runs, then ${pairHint} to reconnect it.`,
        );
        return;
      case 'forbidden':
        this.setState('forbidden', `WhatsApp refused this number (${code}): ${reason}`);
        this.log.error(
          { code },
          `WhatsApp account "${name}": WhatsApp refuses this number (403: banned or restricted). Not reconnecting; ` +
            `check the phone (WhatsApp shows why), then ${pairHint}.`,
        );
        return;
      case 'mismatch':
        this.setState('error', `multi-device mismatch (${code}): the phone and this linked device disagree; re-pair`);
        this.log.error(
          { code },
          `WhatsApp account "${name}": multi-device mismatch (411). Not reconnecting; unlink the device on the phone, then ${pairHint}.`,
        );
        return;
      case 'outdated_version':
        this.setState(
          'outdated_version',
          `WhatsApp refused protocol version ${this.version?.join('.') ?? '?'} (${code}); set WHATSAPP_VERSION or upgrade the connector`,
        );
        this.log.error(
          { code, version: this.version?.join('.') },
          `WhatsApp account "${name}": WhatsApp refuses the protocol version (405). Set WHATSAPP_VERSION to the current WhatsApp Web ` +
            `version (or unset it to fetch the current one), or upgrade the connector; then ${pairHint}.`,
        );
        return;
      case 'reconnect_backoff':
        if (!this.paired() && this.qrSeenOnSocket) {
          this.qrRounds += 1;
          if (this.qrRounds >= (this.o.maxQrRounds ?? 3)) {
            this.setState('waiting_for_pairing', `no QR code was scanned in ${this.qrRounds} rounds`);
            this.log.warn(`WhatsApp account "${name}" is not paired and nobody scanned its QR codes; waiting: ${pairHint}.`);
            return;
          }
        }
        this.scheduleReconnect(`${reason}${code ? ` (${code})` : ''}`);
        return;
    }
  }

  private scheduleReconnect(lastError: string): void {
    if (!this.running || this.stopping) return;
    const delay = backoffDelay(this.attempts, this.o.backoff, this.o.random);
    this.attempts += 1;
    this.log.warn({ attempt: this.attempts, delayMs: delay, lastError }, 'WhatsApp connection closed; reconnecting');
    this.timer = setTimeout(() => {
      this.nextRetryAt = null;
      this.connect();
    }, delay);
    this.nextRetryAt = this.now() + delay;
    // listeners (the pairing CLI) see the timer and the delay
    this.setState(this.paired() ? 'connecting' : 'pairing', lastError);
  }

  /** `+<digits>` of the linked WhatsApp number once paired, else null. */
  linkedPhone(): string | null {
    const id = this.auth?.state.creds.me?.id;
    const digits = id ? /^(\d+)/.exec(id)?.[1] : undefined;
    return digits ? `+${digits}` : null;
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

/**
 * The chat module's license gate (licensing.md, rule 1): feature 42 granted to this host.
 *
 * Checks at construction (synchronously, so `state()` is right from the first call), and
 * again — with no restart — when the document changes (fs.watch on its directory, since
 * editors replace files by rename, plus a periodic poll as a fallback for filesystems where
 * watching does not work), and exactly when the clock alone changes the answer (the
 * document's `expiresAt`, or the moment a not-yet-valid document becomes valid).
 *
 * ```ts
 * const gate = new LicenseGate({ file, hostId, logger }); // trusts the package's keys/license/*.pem
 * if (gate.state().chatsLicensed) start();
 * gate.on('change', (s) => (s.chatsLicensed ? start() : stop(s.reason)));
 * await gate.close();
 * ```
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { silentLogger, type Logger } from '../core/index.ts';
import { featureLabel } from './features.ts';
import { checkLicenseFile, DEFAULT_CLOCK_SKEW_MS, nextTimeBoundary, type LicenseCheck } from './license-document.ts';
import { loadTrustedKeys, type TrustedKeys } from './trusted-keys.ts';

export interface LicenseGateOptions {
  /** LICENSE_FILE; null when not set (then the chat module is not licensed). */
  file: string | null;
  /**
   * Where the trusted vendor keys are (default: the package's `keys/license/`). Code only —
   * the demo, tests, bench and soak pass a throwaway key's directory; configuration never.
   */
  trustedKeysDir?: string;
  /** Trusted keys given directly by code (tests); wins over `trustedKeysDir`. */
  trustedKeys?: TrustedKeys;
  /** This host's id (computeHostId()). */
  hostId: string;
  /** Default: silent. */
  logger?: Logger;
  /** Clock; default `() => new Date()`. */
  now?: () => Date;
  /** Fallback re-check interval in ms (default 5000; 0 disables polling). */
  pollIntervalMs?: number;
  /** Tolerance for an `issuedAt` in the future (default 5 minutes). */
  clockSkewMs?: number;
}

export interface LicenseGateState {
  /** Feature 42 is granted to this host by a valid document. */
  chatsLicensed: boolean;
  /** Why not (one human sentence); null when licensed. */
  reason: string | null;
  /** The failure code (`license_*`, or `license_feature_missing`); null when licensed. */
  code: string | null;
  /** The full document check: payload and every feature's state. */
  document: LicenseCheck;
}

export interface LicenseGateEvents {
  change: [LicenseGateState];
}

/** setTimeout's ceiling; longer waits re-arm. */
const MAX_TIMER_MS = 2_147_000_000;

export class LicenseGate extends EventEmitter<LicenseGateEvents> {
  private readonly opts: LicenseGateOptions;
  private readonly log: Logger;
  private readonly now: () => Date;
  /** Read once: the keys ship with the package and do not change while it runs. */
  private readonly trusted: TrustedKeys;
  private current: LicenseGateState;
  private watcher: FSWatcher | null = null;
  private poller: NodeJS.Timeout | null = null;
  private boundaryTimer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(opts: LicenseGateOptions) {
    super();
    this.opts = { ...opts, file: opts.file ? resolve(opts.file) : null };
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.trusted = opts.trustedKeys ?? loadTrustedKeys(opts.trustedKeysDir);
    for (const sentence of this.trusted.refused) this.log.error({ dir: this.trusted.dir }, sentence);
    this.current = this.evaluate();
    this.logState(this.current);
    this.armBoundary();
    this.startWatching();
  }

  /** The current answer. Cheap; call it as often as needed. */
  state(): LicenseGateState {
    return this.current;
  }

  /**
   * Checks the document again now (the gate does this by itself on changes and at the
   * expiry moment; call it after changing an injected clock). Emits `change` when
   * `chatsLicensed` or the reason changed.
   */
  recheck(): LicenseGateState {
    if (this.closed) return this.current;
    const next = this.evaluate();
    const prev = this.current;
    this.current = next;
    this.armBoundary();
    if (prev.chatsLicensed !== next.chatsLicensed || prev.reason !== next.reason) {
      this.logState(next);
      this.emit('change', next);
    }
    return next;
  }

  /** Stops watching and timers. */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    for (const t of [this.poller, this.boundaryTimer, this.debounce]) if (t) clearTimeout(t);
    this.poller = this.boundaryTimer = this.debounce = null;
  }

  private evaluate(): LicenseGateState {
    const document = checkLicenseFile(this.opts.file, {
      trustedKeys: this.trusted,
      hostId: this.opts.hostId,
      now: this.now(),
      clockSkewMs: this.opts.clockSkewMs,
    });
    if (!document.valid) {
      return { chatsLicensed: false, reason: document.reason, code: document.code, document };
    }
    const f42 = document.features[42];
    if (f42.state !== 'granted') {
      return {
        chatsLicensed: false,
        code: 'license_feature_missing',
        document,
        reason: `License ${document.payload?.id ?? ''} does not grant feature ${featureLabel(42)} to this host (${this.opts.hostId}).`,
      };
    }
    return { chatsLicensed: true, reason: null, code: null, document };
  }

  private logState(s: LicenseGateState): void {
    const ctx = { licenseId: s.document.payload?.id ?? null, code: s.code, hostId: this.opts.hostId };
    if (s.chatsLicensed) this.log.info(ctx, 'chat module licensed: starting');
    else this.log.error(ctx, `chat module not licensed: ${(s.reason ?? 'no reason').replace(/\.$/, '')}; stopping`);
  }

  private scheduleRecheck(delayMs: number): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.recheck();
    }, delayMs);
    this.debounce.unref();
  }

  private armBoundary(): void {
    if (this.boundaryTimer) clearTimeout(this.boundaryTimer);
    this.boundaryTimer = null;
    if (this.closed) return;
    const now = this.now();
    const at = nextTimeBoundary(this.current.document, now, this.opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS);
    if (at === null) return;
    const delay = Math.min(Math.max(at - now.getTime(), 0) + 1, MAX_TIMER_MS);
    this.boundaryTimer = setTimeout(() => {
      this.boundaryTimer = null;
      this.recheck();
      // recheck() re-arms; when the timer fired a hair early, the same boundary is armed again.
    }, delay);
    this.boundaryTimer.unref();
  }

  private startWatching(): void {
    const file = this.opts.file;
    if (!file) return;
    const name = basename(file);
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed.toString() === name) this.scheduleRecheck(30);
      });
      this.watcher.on('error', (err) => {
        this.log.warn({ err: err.message }, 'license file watch failed; relying on the periodic check');
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (e) {
      this.log.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'cannot watch the license file directory; relying on the periodic check',
      );
    }
    const every = this.opts.pollIntervalMs ?? 5_000;
    if (every > 0) {
      this.poller = setInterval(() => this.recheck(), every);
      this.poller.unref();
    }
  }
}

/**
 * Infobase sessions and client licenses as the 1C platform handles them: every open
 * session holds a license from start to end; a session ends when finished or after
 * `sessionMaxAge` without requests; requests of one session run one at a time.
 */
import { randomBytes } from 'node:crypto';

export interface EmuSession {
  readonly id: string;
  readonly login: string;
  ended: boolean;
  /** Requests queued or running in this session. */
  pending: number;
  chain: Promise<void>;
  timer: NodeJS.Timeout | null;
}

export class EmulatorSessions {
  private readonly sessions = new Map<string, EmuSession>();
  takenByOthers = 0;
  refused = 0;
  pendingRefusals = 0;
  opened = 0;
  finished = 0;
  expired = 0;
  peakOpen = 0;
  /** Most requests of one session that were in the emulator at once (queued or running). */
  peakQueued = 0;
  /** Most requests of one session that ran at once (1 unless serialization is broken). */
  peakRunning = 0;
  private running = new Map<EmuSession, number>();

  constructor(
    public licenseTotal: number,
    public maxAgeMs: number,
  ) {}

  get open(): number {
    return this.sessions.size;
  }

  get used(): number {
    return this.sessions.size + this.takenByOthers;
  }

  get free(): number {
    return Math.max(0, this.licenseTotal - this.used);
  }

  /** Opens a session for `login`, or answers 'refused' when no license is free. */
  start(login: string): EmuSession | 'refused' {
    if (this.pendingRefusals > 0 || this.free === 0) {
      if (this.pendingRefusals > 0) this.pendingRefusals--;
      this.refused++;
      return 'refused';
    }
    const s: EmuSession = { id: randomBytes(12).toString('hex'), login, ended: false, pending: 0, chain: Promise.resolve(), timer: null };
    this.sessions.set(s.id, s);
    this.opened++;
    this.peakOpen = Math.max(this.peakOpen, this.sessions.size);
    this.arm(s);
    return s;
  }

  get(id: string): EmuSession | undefined {
    return this.sessions.get(id);
  }

  finish(s: EmuSession): void {
    if (this.end(s)) this.finished++;
  }

  expireAll(): number {
    let n = 0;
    for (const s of [...this.sessions.values()])
      if (this.end(s)) {
        this.expired++;
        n++;
      }
    return n;
  }

  /** Ends every session without counting it (emulator reset / stop). */
  clear(): void {
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  /** Runs `fn` inside the session after every earlier request of it has finished. */
  async run<T>(s: EmuSession, fn: () => Promise<T>): Promise<T> {
    s.pending++;
    this.peakQueued = Math.max(this.peakQueued, s.pending);
    if (s.timer) {
      clearTimeout(s.timer);
      s.timer = null;
    }
    const prev = s.chain;
    let release!: () => void;
    s.chain = new Promise<void>((r) => {
      release = r;
    });
    await prev;
    const running = (this.running.get(s) ?? 0) + 1;
    this.running.set(s, running);
    this.peakRunning = Math.max(this.peakRunning, running);
    try {
      return await fn();
    } finally {
      if (running === 1) this.running.delete(s);
      else this.running.set(s, running - 1);
      s.pending--;
      release();
      if (s.pending === 0) this.arm(s);
    }
  }

  takeLicenses(n: number): number {
    const taken = Math.max(0, Math.min(Math.floor(n), this.free));
    this.takenByOthers += taken;
    return taken;
  }

  returnLicenses(n: number): number {
    const back = Math.max(0, Math.min(Math.floor(n), this.takenByOthers));
    this.takenByOthers -= back;
    return back;
  }

  private arm(s: EmuSession): void {
    if (s.ended) return;
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      if (s.pending === 0 && this.end(s)) this.expired++;
    }, this.maxAgeMs);
    s.timer.unref();
  }

  private end(s: EmuSession): boolean {
    if (s.ended) return false;
    s.ended = true;
    if (s.timer) {
      clearTimeout(s.timer);
      s.timer = null;
    }
    this.sessions.delete(s.id);
    return true;
  }
}

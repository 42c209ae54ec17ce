/**
 * The routing sessions of the 1C client: at most `maxSessions`, each opened only under a
 * permit, reused while there is traffic, finished after `idleFinishMs` without it (so no
 * license is held while idle), and never used by two requests at once.
 */
import { abortReason, ConnectorError, describeError, type Logger } from '../core/index.ts';
import { OnecLicenseRefusedError, OnecSessionGoneError } from './onec-errors.ts';
import { type OnecCredentials, type OnecResponse, type OnecTransport } from './onec-transport.ts';
import type { SessionPermit, SessionPermits } from './session-permits.ts';
import type { OnecObserver } from './onec-types.ts';

export interface PooledSession {
  /** The 1C session id (cookie `ibsession`), null until 1C opened one. */
  id: string | null;
  readonly permit: SessionPermit;
  idleTimer: NodeJS.Timeout | null;
  /** Another instance waits for a permit: finish this session at its next release. */
  yieldRequested?: boolean;
  yieldTimer?: NodeJS.Timeout | null;
  /** 1C may still hold a session we lost track of (a finish or a start without an answer). */
  maybeOpen?: boolean;
}

export interface SessionPoolOptions {
  transport: OnecTransport;
  credentials: OnecCredentials;
  maxSessions: number;
  idleFinishMs: number;
  /**
   * 1C's session lifetime without requests (ONEC_SESSION_MAX_AGE_S in ms, default 20 000).
   * When a finish is not confirmed (no answer, or a 5xx), or a start got no answer, the
   * session may live on in 1C: its permit is kept this long, so ONEC_MAX_SESSIONS holds.
   */
  sessionMaxAgeMs?: number;
  permits: SessionPermits;
  logger: Logger;
  observer?: OnecObserver;
  /** How often a busy session asks whether another instance waits for a permit (default 1000 ms). */
  yieldCheckMs?: number;
}

interface Waiter {
  resolve: (s: PooledSession) => void;
  reject: (e: unknown) => void;
}

export class OnecClosedError extends ConnectorError {
  constructor() {
    super('onec_client_closed', 'The 1C client is closed.', { httpStatus: 503, retryable: true });
  }
}

export class OnecSessionPool {
  private readonly idle: PooledSession[] = [];
  private readonly waiters: Waiter[] = [];
  /** Sessions holding a permit: busy, idle or finishing. */
  private total = 0;
  private pendingPermits = 0;
  private openCount = 0;
  private closed = false;
  private readonly closeCtl = new AbortController();
  private drained: (() => void) | null = null;

  constructor(private readonly o: SessionPoolOptions) {}

  /**
   * Every session this pool may hold is taken and none is idle: a request made now waits
   * for a call in flight to end (the batchers' linger looks at this).
   */
  get saturated(): boolean {
    return this.idle.length === 0 && this.total >= this.o.maxSessions;
  }

  /** Sessions 1C has open for this pool right now. */
  get open(): number {
    return this.openCount;
  }

  /** Runs `fn` with a session of its own; the session goes back to the pool afterwards. */
  async run<T>(fn: (s: PooledSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const s = await this.acquire(signal);
    try {
      return await fn(s);
    } finally {
      this.release(s);
    }
  }

  acquire(signal?: AbortSignal): Promise<PooledSession> {
    if (this.closed) return Promise.reject(new OnecClosedError());
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const s = this.idle.pop();
    if (s) {
      if (s.idleTimer) clearTimeout(s.idleTimer);
      s.idleTimer = null;
      return Promise.resolve(s);
    }
    return new Promise<PooledSession>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter: Waiter = {
        resolve: (x) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(x);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the opener's own failure, passed on as given
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Gives a session back: to the next waiter, to the idle list, or (if 1C lost it) away. */
  release(s: PooledSession): void {
    if (s.id === null) {
      void this.retire(s);
      return;
    }
    // Under steady traffic a session never idles; when another connector instance waits
    // for the deployment-wide permit, hand it over instead of keeping it forever.
    if (this.closed || s.yieldRequested) {
      void this.finish(s);
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      w.resolve(s);
      return;
    }
    this.idle.push(s);
    s.idleTimer = setTimeout(() => {
      const i = this.idle.indexOf(s);
      if (i < 0) return;
      this.idle.splice(i, 1);
      s.idleTimer = null;
      void this.finish(s);
    }, this.o.idleFinishMs);
    s.idleTimer.unref();
  }

  /**
   * One request inside the session: opens it (`IBSession: start`) when it has no id yet;
   * when 1C says the session is gone, reopens it once and repeats the request, then fails.
   */
  async call(
    s: PooledSession,
    req: { method: 'GET' | 'POST'; path: string; body?: unknown; json?: string; signal?: AbortSignal },
  ): Promise<OnecResponse> {
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      const session = s.id === null ? { mode: 'start' as const } : { mode: 'use' as const, id: s.id };
      let res: OnecResponse;
      let answered = false;
      try {
        res = await this.o.transport.send({ ...req, credentials: this.o.credentials, session });
        answered = true;
        if (res.sessionId && s.id === null) this.opened(s, res.sessionId);
        this.o.transport.check(res, req.path);
      } catch (err) {
        // A start that got no answer may have opened a session whose cookie we never saw.
        if (!answered && session.mode === 'start') s.maybeOpen = true;
        if (err instanceof OnecSessionGoneError && session.mode === 'use' && attempt === 0) {
          this.o.logger.info({ path: req.path }, '1C session ended on the 1C side; reopening it once');
          this.lost(s);
          continue;
        }
        if (err instanceof OnecSessionGoneError && session.mode === 'use') this.lost(s);
        if (err instanceof OnecLicenseRefusedError) this.o.observer?.onLicenseRefused?.();
        this.o.observer?.onCall?.(req.path.slice(1), err instanceof ConnectorError ? err.code : 'aborted', Date.now() - started);
        throw err;
      }
      this.o.observer?.onCall?.(req.path.slice(1), 'ok', Date.now() - started);
      return res;
    }
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.closeCtl.abort(new OnecClosedError());
      for (const w of this.waiters.splice(0)) w.reject(new OnecClosedError());
      for (const s of this.idle.splice(0)) {
        if (s.idleTimer) clearTimeout(s.idleTimer);
        void this.finish(s);
      }
    }
    if (this.total === 0 && this.pendingPermits === 0) return;
    await new Promise<void>((resolve) => {
      const prev = this.drained;
      this.drained = () => {
        prev?.();
        resolve();
      };
    });
  }

  private pump(): void {
    if (this.closed) return;
    while (this.waiters.length > 0 && this.idle.length > 0) {
      const s = this.idle.pop() as PooledSession;
      if (s.idleTimer) clearTimeout(s.idleTimer);
      s.idleTimer = null;
      (this.waiters.shift() as Waiter).resolve(s);
    }
    while (this.waiters.length > this.pendingPermits && this.total + this.pendingPermits < this.o.maxSessions) {
      this.pendingPermits++;
      this.o.permits.acquire(this.closeCtl.signal).then(
        (permit) => {
          this.pendingPermits--;
          const w = this.closed ? undefined : this.waiters.shift();
          if (!w) {
            void permit.release();
            this.checkDrained();
            return;
          }
          this.total++;
          w.resolve({ id: null, permit, idleTimer: null });
        },
        (err: unknown) => {
          this.pendingPermits--;
          if (!this.closed) {
            this.o.logger.warn({ err: describeError(err) }, 'could not acquire a 1C session permit');
            this.waiters.shift()?.reject(err);
          }
          this.checkDrained();
        },
      );
    }
  }

  private opened(s: PooledSession, id: string): void {
    s.id = id;
    this.openCount++;
    const contended = s.permit.contended?.bind(s.permit);
    if (contended) {
      s.yieldTimer = setInterval(() => {
        contended().then(
          (c) => {
            s.yieldRequested = c;
          },
          () => undefined,
        );
      }, this.o.yieldCheckMs ?? 1_000);
      s.yieldTimer.unref();
    }
    this.o.logger.debug({ open: this.openCount }, '1C routing session opened');
    this.o.observer?.onSessionsOpen?.(this.openCount);
  }

  private lost(s: PooledSession): void {
    if (s.yieldTimer) {
      clearInterval(s.yieldTimer);
      s.yieldTimer = null;
    }
    s.yieldRequested = false;
    if (s.id === null) return;
    s.id = null;
    this.openCount--;
    this.o.observer?.onSessionsOpen?.(this.openCount);
  }

  /** Finishes the 1C session (`IBSession: finish`), then gives its permit back. */
  private async finish(s: PooledSession): Promise<void> {
    const id = s.id;
    if (id !== null) {
      try {
        const res = await this.o.transport.send({
          method: 'GET',
          path: '/licenses',
          credentials: this.o.credentials,
          session: { mode: 'finish', id },
        });
        if (res.status >= 400 && res.status !== 400)
          this.o.logger.warn({ status: res.status }, 'finishing a 1C session got an error answer');
        // 400 = the session is gone already; a 5xx (an error page of the web server) proves nothing.
        if (res.status >= 500) s.maybeOpen = true;
      } catch (err) {
        s.maybeOpen = true;
        this.o.logger.warn({ err: describeError(err) }, 'could not finish a 1C session; 1C will end it after sessionMaxAge');
      }
      this.lost(s);
      this.o.logger.debug({ open: this.openCount }, '1C routing session finished');
    }
    await this.retire(s);
  }

  private async retire(s: PooledSession): Promise<void> {
    this.lost(s);
    if (s.maybeOpen) {
      // The session may live on in 1C until sessionMaxAge: its license stays taken, and so
      // must its permit (a session opened elsewhere now would exceed ONEC_MAX_SESSIONS).
      s.maybeOpen = false;
      const abandon = s.permit.abandon?.bind(s.permit);
      if (abandon) {
        this.o.logger.info('a 1C session may still be open; its permit falls free only after sessionMaxAge');
        await abandon().catch(() => undefined);
        this.total--;
        this.pump();
        this.checkDrained();
        return;
      }
      if (!this.closed) {
        const holdMs = this.o.sessionMaxAgeMs ?? 20_000;
        this.o.logger.info({ holdMs }, 'a 1C session may still be open; its permit is kept until 1C ends it');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, holdMs);
          t.unref();
          // A closing client gives its in-process permits back at once (they die with it).
          this.closeCtl.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
    this.total--;
    try {
      await s.permit.release();
    } catch (err) {
      this.o.logger.warn({ err: describeError(err) }, 'could not release a 1C session permit');
    }
    this.pump();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.closed && this.total === 0 && this.pendingPermits === 0 && this.drained) {
      const d = this.drained;
      this.drained = null;
      d();
    }
  }
}

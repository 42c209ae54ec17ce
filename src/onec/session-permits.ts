/**
 * The right to hold one 1C routing session (and so one 1C client license). The client
 * acquires a permit before it opens a session and releases it after the session is
 * finished. The composition root can pass a Redis-backed implementation to make the
 * limit deployment-wide; `LocalSessionPermits` limits one process.
 */
import { abortReason } from '../core/index.ts';

export interface SessionPermit {
  release(): Promise<void>;
  /** Optional: true when someone elsewhere waits for a permit (a busy holder then hands over). */
  contended?(): Promise<boolean>;
  /**
   * Optional: give the permit up without freeing it now — it falls free by itself once its
   * hold time (above 1C's sessionMaxAge) has passed. For a session 1C may still hold.
   */
  abandon?(): Promise<void>;
}

export interface SessionPermits {
  /** Resolves when a permit is free; rejects with the signal's reason when aborted. */
  acquire(signal?: AbortSignal): Promise<SessionPermit>;
}

/** At most `max` permits in this process, granted first come, first served. */
export class LocalSessionPermits implements SessionPermits {
  private inUse = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`LocalSessionPermits needs max >= 1, got ${max}`);
  }

  get used(): number {
    return this.inUse;
  }

  acquire(signal?: AbortSignal): Promise<SessionPermit> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.inUse < this.max) {
      this.inUse++;
      return Promise.resolve(this.permit());
    }
    return new Promise<SessionPermit>((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.inUse++;
          resolve(this.permit());
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private permit(): SessionPermit {
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.inUse--;
        this.waiters.shift()?.grant();
      },
    };
  }
}

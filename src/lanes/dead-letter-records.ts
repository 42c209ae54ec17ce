/**
 * The lane's own record of the dead letters it created (issue 11 item 6). A job in
 * `<lane>-dead` is only a request to put an item back; whoever can add or edit jobs there
 * (the dashboard, a script with the queue's name) could otherwise make the lane send any
 * body to any chat. So the lane writes a fingerprint of each dead letter it creates, under
 * its own key, before adding the job; a retried job is re-queued only when its data matches
 * that fingerprint, and the fingerprint is spent by the re-queue (a second retry of the same
 * job, e.g. of the completed one, is refused too).
 *
 *   <prefix>:lane:<lane>:dead:<job id>  →  sha256 of [key, seq, id, body]
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface DeadLetterFacts {
  key: string;
  seq: number;
  id: string;
  body: unknown;
}

export function deadLetterFingerprint(d: DeadLetterFacts): string {
  return createHash('sha256')
    .update(JSON.stringify([d.key, d.seq, d.id, d.body]))
    .digest('hex');
}

export class DeadLetterRecords {
  constructor(
    private readonly redis: Redis,
    /** The lane's key base, `<prefix>:lane:<lane>:`. */
    private readonly base: string,
  ) {}

  private keyOf(jobId: string): string {
    return `${this.base}dead:${jobId}`;
  }

  async record(jobId: string, d: DeadLetterFacts): Promise<void> {
    await this.redis.set(this.keyOf(jobId), deadLetterFingerprint(d));
  }

  /** Is this job a dead letter the lane created, with its data unchanged? */
  async matches(jobId: string, d: DeadLetterFacts): Promise<boolean> {
    const want = await this.redis.get(this.keyOf(jobId));
    return want !== null && want === deadLetterFingerprint(d);
  }

  async spend(jobId: string): Promise<void> {
    await this.redis.del(this.keyOf(jobId));
  }

  /**
   * Once per lane: records the dead letters that already wait in the failed list (created
   * before the lane kept records), so an upgrade does not make them unretryable. Marked done
   * with a key of its own; several instances doing it at once write the same values.
   */
  async adoptExisting(failed: () => AsyncIterable<{ id: string; data: DeadLetterFacts }>): Promise<number> {
    const marker = `${this.base}dead-records-adopted`;
    if ((await this.redis.exists(marker)) === 1) return 0;
    let n = 0;
    for await (const j of failed()) {
      if ((await this.redis.exists(this.keyOf(j.id))) === 0) {
        await this.record(j.id, j.data);
        n++;
      }
    }
    await this.redis.set(marker, String(Date.now()));
    return n;
  }
}

/**
 * Queue administration for the CLI (`chat-connector queues …`): counts, the failed list,
 * retry and remove. Works on any queue of the product through BullMQ, so it needs only
 * Redis — not a running connector. A retried dead letter is put back at its own `seq` by
 * the lane's dead-letter worker, i.e. once a connector runs the lane.
 */
import type { Job } from 'bullmq';
import { describeError } from '../core/index.ts';
import { chatOfJob, messageIdOfJob, readableJobName, type JobDataScrubber } from './job-view.ts';
import { JOB_STATES } from './metrics.ts';
import { isDeadLetterQueue, laneOfQueue, type QueueCatalog } from './queue-catalog.ts';

export interface QueueStats {
  queue: string;
  lane: string;
  deadLetters: boolean;
  counts: Record<(typeof JOB_STATES)[number], number>;
  /** For lanes: chats with waiting items and the age of the oldest, seconds (null when none). */
  pendingChats: number | null;
  oldestPendingS: number | null;
}

export interface FailedJob {
  id: string;
  name: string;
  chat: string | null;
  messageId: string | null;
  attempts: number;
  error: string;
  /** ISO time it failed. */
  at: string | null;
}

export class QueueAdminError extends Error {}

export class QueueAdmin {
  constructor(
    private readonly catalog: QueueCatalog,
    private readonly scrubber: JobDataScrubber,
    private readonly now: () => number = Date.now,
  ) {}

  async stats(): Promise<QueueStats[]> {
    const out: QueueStats[] = [];
    for (const name of await this.catalog.names()) {
      const counts = (await this.catalog.queue(name).getJobCounts(...JOB_STATES)) as QueueStats['counts'];
      const dead = isDeadLetterQueue(name);
      let pendingChats: number | null = null;
      let oldestPendingS: number | null = null;
      if (!dead) {
        pendingChats = await this.catalog.pendingChats(name);
        const since = await this.catalog.oldestPendingMs(name);
        oldestPendingS = since === null ? null : Math.max(0, Math.round((this.now() - since) / 1000));
      }
      out.push({ queue: name, lane: laneOfQueue(name), deadLetters: dead, counts, pendingChats, oldestPendingS });
    }
    return out;
  }

  /** Throws QueueAdminError naming the queues when `name` is none of them. */
  async queueNamed(name: string): Promise<void> {
    const names = await this.catalog.names();
    if (!names.includes(name)) throw new QueueAdminError(`No queue "${name}"; the queues are ${names.join(', ')}.`);
  }

  async failed(queue: string, limit = 20): Promise<FailedJob[]> {
    await this.queueNamed(queue);
    const jobs = await this.catalog.queue(queue).getJobs(['failed'], 0, Math.max(1, limit) - 1);
    return jobs.filter((j): j is Job => !!j).map((j) => this.view(j));
  }

  private view(j: Job): FailedJob {
    return {
      id: String(j.id),
      name: readableJobName(j),
      chat: chatOfJob(j),
      messageId: messageIdOfJob(j),
      attempts: j.attemptsMade,
      error: this.scrubber.string(j.failedReason ?? ''),
      at: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    };
  }

  private async failedJob(queue: string, id: string): Promise<Job> {
    await this.queueNamed(queue);
    const job = await this.catalog.queue(queue).getJob(id);
    if (!job) throw new QueueAdminError(`No job "${id}" in ${queue}.`);
    const state = await job.getState();
    if (state !== 'failed') throw new QueueAdminError(`Job "${id}" in ${queue} is ${state}, not failed.`);
    return job;
  }

  /** Retries failed jobs: one by id, or all. Returns the ids retried. */
  async retry(queue: string, target: { all: true } | { id: string }): Promise<string[]> {
    const jobs = 'id' in target ? [await this.failedJob(queue, target.id)] : await this.allFailed(queue);
    const done: string[] = [];
    for (const j of jobs) {
      try {
        await j.retry('failed');
        done.push(String(j.id));
      } catch (err) {
        if ('id' in target) throw new QueueAdminError(`Job "${target.id}" could not be retried: ${describeError(err)}`);
      }
    }
    return done;
  }

  /** Removes failed jobs (a removed dead letter never reaches its destination). Returns the ids removed. */
  async remove(queue: string, target: { all: true } | { id: string }): Promise<string[]> {
    const jobs = 'id' in target ? [await this.failedJob(queue, target.id)] : await this.allFailed(queue);
    const done: string[] = [];
    for (const j of jobs) {
      try {
        await j.remove();
        done.push(String(j.id));
      } catch (err) {
        if ('id' in target) throw new QueueAdminError(`Job "${target.id}" could not be removed: ${describeError(err)}`);
      }
    }
    return done;
  }

  private async allFailed(queue: string): Promise<Job[]> {
    await this.queueNamed(queue);
    const out: Job[] = [];
    const q = this.catalog.queue(queue);
    for (let start = 0; ; start += 500) {
      const page = (await q.getJobs(['failed'], start, start + 499)).filter((j): j is Job => !!j);
      out.push(...page);
      if (page.length < 500) return out;
    }
  }
}

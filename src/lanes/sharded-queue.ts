/**
 * One BullMQ queue name over QUEUE_SHARDS shards (lane-keys.ts) seen as one queue: counts are
 * summed, lists merged (newest first, as BullMQ lists them), and a job is looked up in every
 * shard. This is what the administrator sees of a sharded lane — the dashboard, the queue
 * CLI, the metrics and `lane.deadQueue` — so that no view shows shard 0 only.
 *
 * A job found here is the real BullMQ job of its shard: retrying or removing it acts on the
 * shard that holds it. Job ids do not collide across shards: the lanes derive them from the
 * chat key or the message id (ordered-lane.ts `encodeJobId`), and a chat lives in one shard.
 *
 * With one shard, callers use the shard's Queue itself (`mergedQueue`), so nothing changes.
 */
import type { Job, JobType, Queue } from 'bullmq';

/** What the views read and do on a queue; a BullMQ Queue is one, and so is a ShardedQueue. */
export interface QueueView {
  readonly name: string;
  getJobCounts(...types: JobType[]): Promise<Record<string, number>>;
  getJobCountByTypes(...types: JobType[]): Promise<number>;
  getFailedCount(): Promise<number>;
  getWaitingCount(): Promise<number>;
  getDelayedCount(): Promise<number>;
  getActiveCount(): Promise<number>;
  getCompletedCount(): Promise<number>;
  getFailed(start?: number, end?: number): Promise<Job[]>;
  getJobs(types?: JobType[] | JobType, start?: number, end?: number, asc?: boolean): Promise<Job[]>;
  getJob(id: string): Promise<Job | undefined>;
}

/** The time a job is listed by in a merged list: when it finished, else started, else was created. */
function listTime(j: Job): number {
  return j.finishedOn ?? j.processedOn ?? j.timestamp;
}

export class ShardedQueue implements QueueView {
  readonly name: string;

  constructor(readonly shards: readonly Queue[]) {
    if (shards.length === 0) throw new Error('ShardedQueue needs at least one shard');
    this.name = shards[0].name;
  }

  async getJobCounts(...types: JobType[]): Promise<Record<string, number>> {
    const per = await Promise.all(this.shards.map((q) => q.getJobCounts(...types)));
    const out: Record<string, number> = {};
    for (const counts of per) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + (Number(v) || 0);
    return out;
  }

  async getJobCountByTypes(...types: JobType[]): Promise<number> {
    const per = await Promise.all(this.shards.map((q) => q.getJobCountByTypes(...types)));
    return per.reduce((a, b) => a + b, 0);
  }

  getFailedCount(): Promise<number> {
    return this.getJobCountByTypes('failed');
  }
  getWaitingCount(): Promise<number> {
    return this.getJobCountByTypes('waiting');
  }
  getDelayedCount(): Promise<number> {
    return this.getJobCountByTypes('delayed');
  }
  getActiveCount(): Promise<number> {
    return this.getJobCountByTypes('active');
  }
  getCompletedCount(): Promise<number> {
    return this.getJobCountByTypes('completed');
  }

  getFailed(start = 0, end = -1): Promise<Job[]> {
    return this.getJobs(['failed'], start, end);
  }

  /**
   * Jobs of the given states over every shard, merged by time (newest first unless `asc`),
   * then `start`…`end` of the merged list (inclusive, `-1` for all — BullMQ's convention).
   * Each shard is asked for its first `end + 1` jobs, which holds the merged page.
   */
  async getJobs(types?: JobType[] | JobType, start = 0, end = -1, asc = false): Promise<Job[]> {
    const per = await Promise.all(this.shards.map((q) => q.getJobs(types, 0, end, asc)));
    const all = per.flat().filter((j): j is Job => !!j);
    all.sort((a, b) => (asc ? listTime(a) - listTime(b) : listTime(b) - listTime(a)));
    return all.slice(Math.max(0, start), end < 0 ? undefined : end + 1);
  }

  /** The job with this id in whichever shard holds it. */
  async getJob(id: string): Promise<Job | undefined> {
    const found = await Promise.all(this.shards.map((q) => q.getJob(id)));
    return found.find((j): j is Job => !!j);
  }

  /** Cleans every shard; the ids removed. */
  async clean(grace: number, limit: number, type?: Parameters<Queue['clean']>[2]): Promise<string[]> {
    return (await Promise.all(this.shards.map((q) => q.clean(grace, limit, type)))).flat();
  }
}

/** One view of a queue's shards: the queue itself when there is one shard. */
export function mergedQueue(shards: readonly Queue[]): QueueView {
  return shards.length === 1 ? shards[0] : new ShardedQueue(shards);
}

/**
 * `chat-connector queues stats | failed <queue> [--limit N] | retry <queue> (--all | <jobId>)
 * | remove <queue> (--all | <jobId>)`, each with `--json`.
 *
 * Exit codes: 0 done, 1 the operation failed (no such job, Redis unreachable), 2 bad arguments.
 */
import type { Config } from '../config/config.ts';
import { describeError } from '../core/index.ts';
import { JobDataScrubber } from '../ops/job-view.ts';
import { secretsOf } from '../config/secrets.ts';
import { QueueAdmin, QueueAdminError, type FailedJob, type QueueStats } from '../ops/queue-admin.ts';
import { QueueCatalog } from '../ops/queue-catalog.ts';
import { describeRedisTarget, pingRedisTarget } from '../redis/redis-connection.js';

export interface QueuesIo {
  out(line: string): void;
  err(line: string): void;
}

const stdio: QueuesIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

const USAGE =
  'usage: chat-connector queues stats | failed <queue> [--limit N] | retry <queue> (--all | <jobId>) | remove <queue> (--all | <jobId>)  [--json]';

class UsageError extends Error {}

interface Parsed {
  sub: string;
  positional: string[];
  json: boolean;
  all: boolean;
  limit: number;
}

function parse(args: string[]): Parsed {
  const positional: string[] = [];
  let json = false;
  let all = false;
  let limit = 20;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--all') all = true;
    else if (a === '--limit') {
      const v = args[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10_000)
        throw new UsageError(`--limit needs a whole number from 1 to 10000${v === undefined ? '' : `, got "${v}"`}.`);
      limit = Number(v);
    } else if (a.startsWith('--')) throw new UsageError(`Unknown option "${a}".`);
    else positional.push(a);
  }
  const [sub, ...rest] = positional;
  if (!sub) throw new UsageError('Name a subcommand: stats, failed, retry or remove.');
  if (!['stats', 'failed', 'retry', 'remove'].includes(sub))
    throw new UsageError(`Unknown subcommand "${sub}"; use stats, failed, retry or remove.`);
  const want = sub === 'stats' ? 0 : sub === 'failed' ? 1 : all ? 1 : 2;
  if (sub !== 'stats' && rest.length === 0) throw new UsageError(`"queues ${sub}" needs a queue name (see "queues stats").`);
  if ((sub === 'retry' || sub === 'remove') && !all && rest.length < 2)
    throw new UsageError(`"queues ${sub} ${rest[0]}" needs --all or a job id (see "queues failed ${rest[0]}").`);
  if ((sub === 'retry' || sub === 'remove') && all && rest.length > 1)
    throw new UsageError(`"queues ${sub}" takes --all or a job id, not both.`);
  if (rest.length > want) throw new UsageError(`Unexpected argument "${rest[want]}".`);
  if (all && sub !== 'retry' && sub !== 'remove') throw new UsageError('--all goes with retry or remove.');
  return { sub, positional: rest, json, all, limit };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function renderStats(stats: QueueStats[]): string[] {
  const lines = [
    `${pad('queue', 16)} ${pad('waiting', 8)} ${pad('active', 7)} ${pad('delayed', 8)} ${pad('failed', 7)} ${pad('completed', 10)} pending chats (oldest)`,
  ];
  for (const s of stats) {
    const c = s.counts;
    const pending = s.pendingChats === null ? '' : `${s.pendingChats}${s.oldestPendingS === null ? '' : ` (${s.oldestPendingS} s)`}`;
    lines.push(
      `${pad(s.queue, 16)} ${pad(String(c.waiting + c.prioritized), 8)} ${pad(String(c.active), 7)} ${pad(String(c.delayed), 8)} ${pad(String(c.failed), 7)} ${pad(String(c.completed), 10)} ${pending}`,
    );
  }
  return lines;
}

function renderFailed(queue: string, jobs: FailedJob[]): string[] {
  if (jobs.length === 0) return [`No failed jobs in ${queue}.`];
  const lines: string[] = [];
  for (const j of jobs) {
    lines.push(`${j.id}  ${j.at ?? '-'}  attempts ${j.attempts}  chat ${j.chat ?? '-'}${j.messageId ? `  message ${j.messageId}` : ''}`);
    lines.push(`    ${j.error || '(no reason recorded)'}`);
  }
  return lines;
}

export async function runQueuesCommand(args: string[], config: Readonly<Config>, io: QueuesIo = stdio): Promise<number> {
  let p: Parsed;
  try {
    p = parse(args);
  } catch (e) {
    io.err(`queues: ${describeError(e)}`);
    io.err(USAGE);
    return 2;
  }
  if (!(await pingRedisTarget(config.redis, 2000))) {
    io.err(`queues: Redis does not answer at ${describeRedisTarget(config.redis)}; start it or fix REDIS_URL.`);
    return 1;
  }
  const catalog = new QueueCatalog({ redisUrl: config.redis, prefix: config.queuePrefix, shards: config.queueShards });
  const admin = new QueueAdmin(catalog, new JobDataScrubber(secretsOf(config)));
  const emit = (value: unknown, text: string[]) => {
    if (p.json) io.out(JSON.stringify(value, null, 2));
    else for (const l of text) io.out(l);
  };
  try {
    const [queue, id] = p.positional;
    switch (p.sub) {
      case 'stats': {
        const stats = await admin.stats();
        emit({ queues: stats }, renderStats(stats));
        return 0;
      }
      case 'failed': {
        const jobs = await admin.failed(queue, p.limit);
        emit({ queue, jobs }, renderFailed(queue, jobs));
        return 0;
      }
      default: {
        const target = p.all ? { all: true as const } : { id };
        const ids = p.sub === 'retry' ? await admin.retry(queue, target) : await admin.remove(queue, target);
        const verb = p.sub === 'retry' ? 'Retried' : 'Removed';
        const note =
          p.sub === 'retry' && queue.endsWith('-dead') && ids.length
            ? ' A running connector puts each message back at its own place in its chat.'
            : '';
        emit({ queue, [p.sub === 'retry' ? 'retried' : 'removed']: ids }, [
          `${verb} ${ids.length} job${ids.length === 1 ? '' : 's'} in ${queue}.${note}`,
        ]);
        return 0;
      }
    }
  } catch (e) {
    io.err(`queues: ${e instanceof QueueAdminError ? e.message : `failed: ${describeError(e)}`}`);
    return 1;
  } finally {
    await catalog.close();
  }
}

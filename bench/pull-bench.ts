/**
 * Pull mode's backlog drain (issue 13): inbound messages already queued in the lanes, a
 * real connector in pull mode (`worker inbound` hands them off into the update log,
 * `worker http` serves it), and the emulated 1C job draining `GET /api/v1/onec/updates`
 * + `POST /ack` in pages, storing each page at the same cost push mode's drain pays per
 * `POST /messages` (`perCallMs` per store call + `perMessageMs` per message).
 *
 * Two ways to run it, each measuring one precise thing:
 * - `phased`: the lanes hand the whole backlog off into the update log first, with no
 *   poller (`handoffSeconds`: first update in the log → every message in it); then the
 *   1C job drains the log (`drainSeconds`: the job's first GET → its last ack).
 * - `overlapped`: the same, but the job polls while the lanes hand off, as in production
 *   (`drainSeconds`: first update in the log → every message stored in 1C and acked).
 *
 * The job stores serially, as a real 1C job (one background job) does: fetch, store,
 * ack, fetch… With `prefetch` it fetches the next page while it stores the current one
 * (a real 1C job cannot overlap an HTTP call with its own writes); reported separately.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { EmulatorPullPoller } from '../src/onec/emulator/index.ts';
import { InboundPipeline } from '../src/lanes/inbound-pipeline.js';
import { cleanup, queueBacklog, REDIS_URL, startCommand } from './inbound-bench.ts';

export interface PullDrainOptions {
  chats: number;
  perChat: number;
  /** Updates per GET /updates (1–500). */
  pageSize: number;
  perCallMs: number;
  perMessageMs: number;
  /** `phased` (handoff, then drain) or `overlapped` (the job polls while the lanes hand off). */
  mode?: 'phased' | 'overlapped';
  /** The job fetches the next page while it stores the current one (default false). */
  prefetch?: boolean;
  /** One line per few seconds on what runs (bench progress). */
  progress?: (line: string) => void;
}

export interface PullDrainResult {
  mode: 'phased' | 'overlapped';
  messages: number;
  /** Updates served (messages plus the routing events of new chats). */
  updates: number;
  /** Phased only: first update in the log → every message in it (no poller running). */
  handoffSeconds: number | null;
  /** Phased: the job's first GET → its last ack. Overlapped: first update in the log → last ack. */
  drainSeconds: number;
  pages: number;
  /** The emulated 1C's store time (store calls × perCallMs + updates × perMessageMs): the floor. */
  onecBusySeconds: number;
  onecBusyFraction: number;
  /** Peak RSS of the two connector processes (inbound, http), MB. */
  inboundPeakRssMb: number;
  httpPeakRssMb: number;
  /** Where the job's wall time went, ms per page: waiting for GET /updates, storing, waiting for the ack. */
  perPageMs: { fetch: number; store: number; ack: number };
  orderKept: boolean;
  waitingAfter: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function child(bin: string, env: Record<string, string>, role: string): ChildProcess {
  // BENCH_CHILD_NODE_ARGS: extra node flags for the connector processes (e.g. `--cpu-prof`).
  const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return spawn(process.execPath, [...startCommand().nodeFlags, ...extra, bin, 'worker', role], {
    env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: process.env.BENCH_CHILD_LOG ?? 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGTERM');
  await new Promise((r) => c.once('exit', r));
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchPullDrain(o: PullDrainOptions): Promise<PullDrainResult> {
  const mode = o.mode ?? 'phased';
  const say = o.progress ?? (() => undefined);
  const { startLocalStack } = await import('../src/infra/local-stack.ts');
  const total = o.chats * o.perChat;
  const port = await freePort();
  const stack = await startLocalStack({
    redisUrl: REDIS_URL,
    onec: { latency: { perCallMs: o.perCallMs, perMessageMs: o.perMessageMs } },
    env: { ONEC_MODE: 'pull', ONEC_BATCH_MAX: '500' },
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = stack.config.queuePrefix;
  const children: ChildProcess[] = [];
  try {
    const loader = new InboundPipeline({
      redis,
      bullConnection: { url: REDIS_URL },
      prefix,
      deliverer: { deliverMessages: async () => [] },
    });
    await queueBacklog(loader, o.chats, o.perChat);
    await loader.close();
    say(`${total} messages queued in the lanes`);

    const bin = stack.packageCopy().bin;
    const stream = `${prefix}:updates:stream`;
    const meta = `${prefix}:updates:meta`;
    const deadline = Date.now() + 600_000;
    const peak = { inbound: 0, http: 0 };
    let inbound: ChildProcess | null = null;
    let http: ChildProcess | null = null;
    const sampler = setInterval(() => {
      if (inbound) peak.inbound = Math.max(peak.inbound, rssMb(inbound.pid));
      if (http) peak.http = Math.max(peak.http, rssMb(http.pid));
    }, 50);
    // The handoff has begun when the log has a last id (it stays when entries are trimmed).
    let firstUpdateAt = 0;
    const watch = setInterval(() => {
      if (firstUpdateAt) return;
      void redis.hexists(meta, 'last').then((x) => {
        if (x && !firstUpdateAt) firstUpdateAt = performance.now();
      });
    }, 10);

    const startHttp = async (): Promise<string> => {
      http = child(bin, { ...stack.env, HTTP_PORT: String(port) }, 'http');
      children.push(http);
      const url = `http://127.0.0.1:${port}`;
      while (
        !(await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error('the http worker did not start');
        await pause(50);
      }
      return url;
    };

    let handoffSeconds: number | null = null;
    let url: string;
    if (mode === 'phased') {
      inbound = child(bin, { ...stack.env, HTTP_PORT: '0' }, 'inbound');
      children.push(inbound);
      let last = performance.now();
      // Done when every message is in the log and no lane key has anything pending.
      const lanesEmpty = async () =>
        (await redis.zcard(`${prefix}:lane:inbound:active`)) + (await redis.zcard(`${prefix}:lane:routing:active`)) === 0;
      while ((await redis.xlen(stream)) < total || !(await lanesEmpty())) {
        if (Date.now() > deadline) throw new Error('the handoff did not finish');
        if (performance.now() - last > 3000) {
          say(
            firstUpdateAt
              ? `handoff: ${await redis.xlen(stream)} updates in the log`
              : 'waiting for the inbound worker to start handing off',
          );
          last = performance.now();
        }
        await pause(20);
      }
      // From the stream ids (Redis's clock): the first entry's and the last one's.
      const first = (await redis.xrange(stream, '-', '+', 'COUNT', 1))[0][0];
      const lastId = (await redis.hget(meta, 'last')) ?? first;
      handoffSeconds = (Number(lastId.split('-')[0]) - Number(first.split('-')[0])) / 1000;
      say(`handoff done in ${handoffSeconds.toFixed(1)} s; draining the log`);
      url = await startHttp();
    } else {
      url = await startHttp();
    }

    const job = new EmulatorPullPoller(stack.onec, {
      connectorUrl: () => url,
      apiToken: stack.env.API_TOKEN,
      pageSize: o.pageSize,
      waitS: mode === 'phased' ? 0 : 1,
      prefetch: o.prefetch ?? false,
    });
    if (mode === 'overlapped') {
      inbound = child(bin, { ...stack.env, HTTP_PORT: '0' }, 'inbound');
      children.push(inbound);
    }
    const t1 = performance.now();
    let last = t1;
    while (stack.onec.progress().messagesStored < total) {
      if (Date.now() > deadline) throw new Error(`the drain did not finish (${stack.onec.progress().messagesStored} of ${total} stored)`);
      await job.pollOnce();
      if (performance.now() - last > 3000) {
        say(`drain: ${stack.onec.progress().messagesStored} of ${total} stored in 1C`);
        last = performance.now();
      }
    }
    const end = performance.now();
    await job.settle();
    clearInterval(sampler);
    clearInterval(watch);
    const drainSeconds = (end - (mode === 'phased' ? t1 : firstUpdateAt)) / 1000;

    const st = stack.onec.state();
    let orderKept = st.messages.stored === total;
    for (const refs of Object.values(st.messages.byChat))
      for (let i = 0; i < refs.length; i++) if (refs[i].seq !== i + 1) orderKept = false;
    const storeCalls = st.batches.messages.count + st.batches.statuses.count + st.batches.routing.count;
    const onecBusySeconds = (storeCalls * o.perCallMs + job.stats.updates * o.perMessageMs) / 1000;
    const waitingAfter = await redis.xlen(stream);
    return {
      mode,
      messages: total,
      updates: job.stats.updates,
      handoffSeconds,
      drainSeconds,
      pages: job.stats.pages,
      onecBusySeconds,
      onecBusyFraction: drainSeconds > 0 ? onecBusySeconds / drainSeconds : 0,
      inboundPeakRssMb: Math.round(peak.inbound),
      httpPeakRssMb: Math.round(peak.http),
      perPageMs: {
        fetch: job.stats.fetchMs / Math.max(1, job.stats.pages),
        store: job.stats.storeMs / Math.max(1, job.stats.pages),
        ack: job.stats.ackMs / Math.max(1, job.stats.pages),
      },
      orderKept,
      waitingAfter,
    };
  } finally {
    await Promise.all(children.map(stopChild));
    redis.disconnect();
    await cleanup(prefix);
    await stack.stop();
  }
}

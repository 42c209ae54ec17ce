/**
 * Pull mode's backlog drain (issue 13): 100 000 inbound messages queued, a real connector
 * in pull mode (`worker inbound` hands them off into the update log, `worker http` serves
 * it), and the emulated 1C job draining `GET /api/v1/onec/updates` + `POST /ack` in pages
 * of 500, storing each page at the same cost push mode's drain pays per `POST /messages`
 * (`perCallMs` + `perMessageMs` per message). Reported beside push mode's drain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { NewInboundMessage } from '../src/core/index.ts';
import { EmulatorPullPoller } from '../src/onec/emulator/index.ts';
import { InboundPipeline } from '../src/lanes/inbound-pipeline.js';
import { fakeMessage } from '../src/infra/fake-messages.ts';
import { cleanup, REDIS_URL } from './inbound-bench.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function child(env: Record<string, string>, role: string): ChildProcess {
  return spawn(process.execPath, ['--max-old-space-size=256', 'bin/chat-connector.js', 'worker', role], {
    env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'error' },
    stdio: 'ignore',
  });
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  c.kill('SIGTERM');
  await new Promise((r) => c.once('exit', r));
}

export async function benchPullDrain(o: {
  chats: number;
  perChat: number;
  pageSize: number;
  perCallMs: number;
  perMessageMs: number;
}): Promise<{ handoffSeconds: number; drainSeconds: number; pages: number; orderKept: boolean; waitingAfter: number }> {
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
  const loader = new InboundPipeline({ redis, bullConnection: { url: REDIS_URL }, prefix, deliverer: { deliverMessages: async () => [] } });
  let batch: NewInboundMessage[] = [];
  for (let n = 1; n <= o.perChat; n++) {
    for (let c = 0; c < o.chats; c++) {
      batch.push(fakeMessage(c, n));
      if (batch.length === 500) {
        await loader.ingest(batch);
        batch = [];
      }
    }
  }
  if (batch.length) await loader.ingest(batch);
  await loader.close();

  // Phase 1: the lanes hand the backlog off into the update log.
  const stream = `${prefix}:updates:stream`;
  const t0 = performance.now();
  const inbound = child({ ...stack.env, HTTP_PORT: '0' }, 'inbound');
  const deadline = Date.now() + 300_000;
  while ((await redis.xlen(stream)) < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const handoffSeconds = (performance.now() - t0) / 1000;

  // Phase 2: the 1C job drains the log through HTTP.
  const http = child({ ...stack.env, HTTP_PORT: String(port) }, 'http');
  const url = `http://127.0.0.1:${port}`;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    )) &&
    Date.now() < deadline
  )
    await new Promise((r) => setTimeout(r, 50));
  const job = new EmulatorPullPoller(stack.onec, {
    connectorUrl: () => url,
    apiToken: stack.env.API_TOKEN,
    pageSize: o.pageSize,
    waitS: 0,
  });
  const t1 = performance.now();
  while (stack.onec.state().messages.stored < total && Date.now() < deadline) await job.pollOnce(0);
  const drainSeconds = (performance.now() - t1) / 1000;

  const st = stack.onec.state();
  let orderKept = st.messages.stored === total;
  for (const refs of Object.values(st.messages.byChat)) for (let i = 0; i < refs.length; i++) if (refs[i].seq !== i + 1) orderKept = false;
  const waitingAfter = await redis.xlen(stream);
  await Promise.all([stopChild(inbound), stopChild(http)]);
  redis.disconnect();
  await cleanup(prefix);
  await stack.stop();
  return { handoffSeconds, drainSeconds, pages: job.stats.pages, orderKept, waitingAfter };
}

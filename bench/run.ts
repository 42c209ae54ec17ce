/**
 * `npm run bench`: every benchmark in one run on the same Redis; prints one JSON object.
 * Figures, not assertions: the targets are printed beside what was measured.
 * Run a part with `npm run bench -- inbound|pull|outbound|logins`.
 */
import { benchBareBullmq, benchDrainProcess, benchLatency, benchPipeline } from './inbound-bench.ts';

const only = process.argv[2];
const want = (part: string) => !only || only === part;
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
sampler.unref();

const out: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };

if (want('inbound')) {
  const bare = await benchBareBullmq(20_000);
  const pipe = await benchPipeline({ chats: 20, perChat: 1000, batchMax: 100, maxSessions: 1 });
  const perMessage = await benchPipeline({ chats: 20, perChat: 100, batchMax: 1, maxSessions: 1 });
  // The drain runs in a real connector process (`worker inbound`), so its RSS is the connector's own.
  const drain = await benchDrainProcess({ chats: 1000, perChat: 100, batchMax: 500, perCallMs: 20, perMessageMs: 0.1 });
  const drainDefaultBatch = await benchDrainProcess({ chats: 1000, perChat: 100, batchMax: 100, perCallMs: 20, perMessageMs: 0.1 });
  const latency = await benchLatency({ rate: 200, seconds: 10, chats: 20, onecCallMs: 5 });
  out.inbound = {
    bareBullmqJobsPerSec: round(bare, 0),
    pipelineMessagesPerSec: round(pipe.messagesPerSec, 0),
    pipelineToBaseline: round(pipe.messagesPerSec / bare, 2),
    pipelineOrderKept: pipe.orderKept,
    pipelineOnecCalls: pipe.onecCalls,
    oneCallPerMessageMessagesPerSec: round(perMessage.messagesPerSec, 0),
    pipelineToOneCallPerMessage: round(pipe.messagesPerSec / perMessage.messagesPerSec, 1),
    drain100kSeconds: round(drain.seconds),
    drain100kOnecCalls: drain.onecCalls,
    drain100kBatchMax: 500,
    drain100kSecondsBatch100: round(drainDefaultBatch.seconds),
    drainOrderKept: drain.orderKept && drainDefaultBatch.orderKept,
    connectorPeakRssMb: Math.max(drain.peakRssMb, drainDefaultBatch.peakRssMb),
    latencyAt200PerSec: {
      p50Ms: round(latency.p50Ms),
      p99Ms: round(latency.p99Ms),
      maxMs: round(latency.maxMs),
      messages: latency.messages,
    },
    peakOnecSessions: Math.max(pipe.peakSessions, perMessage.peakSessions, drain.peakSessions, drainDefaultBatch.peakSessions),
    targets: {
      pipelineToBaseline: '>= 0.6',
      drain100kSeconds: '<= 30',
      p99Ms: '<= 100',
      connectorPeakRssMb: '<= 200',
      peakOnecSessions: '<= ONEC_MAX_SESSIONS (1)',
    },
  };
}

if (want('pull')) {
  // Push and pull drains of the same 100 000-message backlog against the same 1C costs
  // (20 ms per call + 0.1 ms per message; push: POST /messages of 500; pull: a page of 500).
  const costs = { perCallMs: 20, perMessageMs: 0.1 };
  const { benchPullDrain } = await import('./pull-bench.ts');
  const push = await benchDrainProcess({ chats: 1000, perChat: 100, batchMax: 500, ...costs });
  const pull = await benchPullDrain({ chats: 1000, perChat: 100, pageSize: 500, ...costs });
  const free = await benchPullDrain({ chats: 1000, perChat: 100, pageSize: 500, perCallMs: 0, perMessageMs: 0 });
  out.pull = {
    pushDrain100kSeconds: round(push.seconds),
    pullDrain100kSeconds: round(pull.drainSeconds),
    pullHandoff100kSeconds: round(pull.handoffSeconds ?? Number.NaN),
    pullPages: pull.pages,
    pullDrain100kSecondsZeroOnecCost: round(free.drainSeconds),
    orderKept: push.orderKept && pull.orderKept && free.orderKept,
    updatesWaitingAfterDrain: pull.waitingAfter + free.waitingAfter,
    onecCosts: costs,
    targets: { pullDrain100kSeconds: '<= 10' },
  };
}

if (want('outbound')) {
  try {
    const { benchOutbound } = await import('./outbound-bench.ts');
    out.outbound = await benchOutbound({});
  } catch (e) {
    out.outbound = { error: e instanceof Error ? e.message : String(e) };
  }
}

if (want('logins')) {
  try {
    const { benchLogins } = await import('./login-bench.ts');
    out.logins = await benchLogins();
  } catch (e) {
    out.logins = { error: e instanceof Error ? e.message : String(e) };
  }
}

// The bench process itself also hosts the emulators (the 1C emulator keeps every message).
out.benchProcessPeakRssMb = round(peakRss / 1024 / 1024, 0);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);

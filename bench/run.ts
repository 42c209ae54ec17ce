/**
 * `npm run bench`: every benchmark in one run on the same Redis.
 *
 *   npm run bench                          all parts, full sizes; writes docs/img/bench-latency.svg
 *                                          and docs/bench-last-run.md (the figures as a table)
 *   npm run bench -- --only pull,outbound  some parts (inbound, latency, pull, outbound, logins)
 *   npm run bench -- --quick               reduced sizes (a smoke run: time targets are not judged)
 *   npm run bench -- --docs <dir>          where the chart and the table go (--docs none: nowhere)
 *
 * Progress goes to stderr (which part runs, a line every few seconds); stdout gets one JSON
 * object at the end. Figures, not assertions: each is `{value, target, met}`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { collectFigures, figure, lineChartSvg, markdownTable, type Figure, type Target } from '../src/infra/bench-report.ts';
import { benchBareBullmqProfiled, benchDrainProcess, benchLatency, benchPipeline, benchRedisMemory, benchShape } from './inbound-bench.ts';
import { Progress } from './progress.ts';

const PARTS = ['inbound', 'latency', 'shape', 'pull', 'outbound', 'logins', 'cluster'] as const;
type Part = (typeof PARTS)[number];

function parseArgs(argv: string[]): { only: Set<Part>; quick: boolean; docs: string | null } {
  let only: string[] = [];
  let quick = false;
  let docs: string | null | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--docs') docs = argv[++i] ?? null;
    else if (!a.startsWith('-'))
      only.push(a); // `npm run bench -- pull` (the old form)
    else throw new Error(`unknown option ${a} (use --only <part,…>, --quick, --docs <dir|none>)`);
  }
  for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`unknown part "${p}" (parts: ${PARTS.join(', ')})`);
  const dir = docs === undefined ? (quick ? null : 'docs') : docs === 'none' ? null : docs;
  return { only: new Set((only.length ? only : PARTS) as Part[]), quick, docs: dir };
}

const args = parseArgs(process.argv.slice(2));
const Q = args.quick;
const progress = new Progress();
const round = (n: number | null | undefined, d = 1) =>
  n === null || n === undefined || !Number.isFinite(n) ? null : Math.round(n * 10 ** d) / 10 ** d;
/** A figure; a time or rate that depends on the size is not judged in a --quick run. */
const fig = (value: number | boolean | null | undefined, t: Target, sizeDependent = false): Figure =>
  Q && sizeDependent ? { ...figure(value, t), target: `${figure(value, t).target} (full size)`, met: null } : figure(value, t);
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
sampler.unref();

const out: Record<string, unknown> = {
  machine: { cpus: cpus().length, node: process.version, loadAtStart: load() },
  quick: Q,
};

async function part(name: Part, what: string, run: () => Promise<Record<string, unknown>>): Promise<void> {
  if (!args.only.has(name)) return;
  progress.begin(name, what);
  try {
    out[name] = { ...(await run()), loadAfter: load() };
  } catch (e) {
    out[name] = { error: e instanceof Error ? e.message : String(e) };
    progress.say(`failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** 1C costs of every drain (push and pull): 20 ms per call + 0.1 ms per message. */
const COSTS = { perCallMs: 20, perMessageMs: 0.1 };
const DRAIN = Q ? { chats: 100, perChat: 20 } : { chats: 1000, perChat: 100 };
const DRAIN_N = DRAIN.chats * DRAIN.perChat;
/** The push drain at batch 500, shared by the inbound and pull parts. */
let pushDrain500: Awaited<ReturnType<typeof benchDrainProcess>> | null = null;
async function pushDrain(): Promise<NonNullable<typeof pushDrain500>> {
  if (!pushDrain500) {
    progress.start(`push drain of ${DRAIN_N} messages, batch 500`);
    pushDrain500 = await benchDrainProcess({ ...DRAIN, batchMax: 500, ...COSTS });
    progress.done(`${round(pushDrain500.seconds)} s`);
  }
  return pushDrain500;
}

await part('inbound', 'pipeline against bare BullMQ, backlog drains', async () => {
  progress.start('bare BullMQ');
  const bareRun = await benchBareBullmqProfiled(Q ? 2_000 : 20_000);
  const bare = bareRun.jobsPerSec;
  progress.done(`${round(bare, 0)} jobs/s`);
  progress.start('pipeline, 0-latency 1C');
  const pipe = await benchPipeline({ chats: 20, perChat: Q ? 100 : 1000, batchMax: 100, maxSessions: 1 });
  progress.done(`${round(pipe.messagesPerSec, 0)} msg/s`);
  progress.start('one 1C call per message');
  const perMessage = await benchPipeline({ chats: 20, perChat: Q ? 20 : 100, batchMax: 1, maxSessions: 1 });
  progress.done(`${round(perMessage.messagesPerSec, 0)} msg/s`);
  const drain = await pushDrain();
  progress.start(`push drain of ${DRAIN_N} messages, default settings (ONEC_BATCH_MAX unset = 100)`);
  const drain100 = await benchDrainProcess({ ...DRAIN, ...COSTS });
  progress.done(`${round(drain100.seconds)} s`);
  return {
    bareBullmqJobsPerSec: round(bare, 0),
    pipelineMessagesPerSec: round(pipe.messagesPerSec, 0),
    pipelineToBaseline: fig(round(pipe.messagesPerSec / bare, 2), { op: '>=', bound: 2 }),
    pipelineOrderKept: fig(pipe.orderKept, { op: '==', bound: true }),
    pipelineOnecCalls: pipe.onecCalls,
    // Issue 19 item 3: Redis round trips per message, by stage (counted by wrapping the clients).
    redisRoundTripsPerMessage: { pipeline: pipe.redis, bareBullmq: bareRun.redis },
    oneCallPerMessageMessagesPerSec: round(perMessage.messagesPerSec, 0),
    pipelineToOneCallPerMessage: round(pipe.messagesPerSec / perMessage.messagesPerSec, 1),
    drain: {
      messages: DRAIN_N,
      onecCosts: COSTS,
      floorSecondsBatch500: round((Math.ceil(DRAIN_N / 500) * COSTS.perCallMs + DRAIN_N * COSTS.perMessageMs) / 1000),
      // Issue 19 item 1: at the default settings (ONEC_BATCH_MAX 100), ≤ 17 s; round 1's ≤ 30 s at batch 500.
      secondsAtDefaults: fig(round(drain100.seconds), { op: '<=', bound: 17, unit: 's' }, true),
      secondsBatch500: fig(round(drain.seconds), { op: '<=', bound: 30, unit: 's' }, true),
      floorSecondsAtDefaults: round(drain100.floorSeconds),
      onecBusyFractionAtDefaults: round(drain100.onecBusyFraction, 2),
      onecBusyFractionBatch500: round(drain.onecBusyFraction, 2),
      avgBatchAtDefaults: round(drain100.avgBatch, 0),
      // The connector's own CPU in each drain: what a loaded machine stretches, and what must
      // fit under 1C's time for the drain to reach its floor.
      connectorCpuSecondsAtDefaults: drain100.connectorCpuSeconds === null ? null : round(drain100.connectorCpuSeconds),
      connectorCpuSecondsBatch500: drain.connectorCpuSeconds === null ? null : round(drain.connectorCpuSeconds),
      heapUsedAfterGcMb: round(drain.heapUsedAfterGcMb),
      rssAtGcMb: round(drain.rssAtGcMb),
      externalAtGcMb: round(drain.externalAtGcMb),
      baileysLoaded: drain.baileysLoaded,
      orderKept: fig(drain.orderKept && drain100.orderKept, { op: '==', bound: true }),
      connectorPeakRssMb: fig(Math.max(drain.peakRssMb, drain100.peakRssMb), { op: '<=', bound: 150, unit: 'MB' }, true),
      peakOnecSessions: fig(Math.max(drain.peakSessions, drain100.peakSessions, pipe.peakSessions), { op: '<=', bound: 1 }),
    },
  };
});

await part('latency', 'update → 1C latency per offered rate (through grammY)', async () => {
  const rates = Q ? [200, 1000] : [200, 500, 1000, 1500];
  const seconds = Q ? 2 : 10;
  const rows: { rate: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null; messages: number }[] = [];
  for (const rate of rates) {
    progress.start(`${rate} msg/s for ${seconds} s`);
    const r = await benchLatency({ rate, seconds, chats: 20, onecCallMs: 5 });
    rows.push({ rate, p50Ms: round(r.p50Ms), p99Ms: round(r.p99Ms), maxMs: round(r.maxMs), messages: r.messages });
    progress.done(`p50 ${round(r.p50Ms)} ms, p99 ${round(r.p99Ms)} ms`);
  }
  const at = (rate: number) => rows.find((r) => r.rate === rate);
  const crossing = rows.find((r) => (r.p99Ms ?? Infinity) > 100)?.rate ?? null;
  const result: Record<string, unknown> = {
    onecCallMs: 5,
    perRate: rows,
    p99At200Ms: fig(at(200)?.p99Ms, { op: '<=', bound: 100, unit: 'ms' }, true),
    p99At1000Ms: fig(at(1000)?.p99Ms, { op: '<=', bound: 50, unit: 'ms' }, true),
    firstRateWithP99Over100Ms: crossing,
  };
  if (args.docs) {
    const svg = lineChartSvg({
      title: `Update → 1C latency per offered rate (${cpus().length} cores, load ${loadavg()[0].toFixed(1)}${Q ? ', --quick sizes' : ''})`,
      xLabel: 'offered rate, messages per second',
      yLabel: 'latency, ms',
      series: [
        { name: 'p50', points: rows.map((r) => ({ x: r.rate, y: r.p50Ms ?? NaN })) },
        { name: 'p99', points: rows.map((r) => ({ x: r.rate, y: r.p99Ms ?? NaN })) },
        { name: 'max', points: rows.map((r) => ({ x: r.rate, y: r.maxMs ?? NaN })) },
      ],
      rules: [
        { y: 50, label: 'p99 ≤ 50 at 1000/s' },
        { y: 100, label: 'p99 ≤ 100 at 200/s' },
      ],
    });
    mkdirSync(join(args.docs, 'img'), { recursive: true });
    writeFileSync(join(args.docs, 'img', 'bench-latency.svg'), svg);
    result.chart = join(args.docs, 'img', 'bench-latency.svg');
  }
  return result;
});

await part('shape', 'cost as the work grows: many chats with few messages against few chats with many', async () => {
  const many = Q ? { manyChats: 2_000, manyPerChat: 3, fewChats: 20 } : { manyChats: 100_000, manyPerChat: 3, fewChats: 20 };
  progress.start(`${many.manyChats} chats × ${many.manyPerChat} against ${many.fewChats} chats, as a backlog`);
  const shape = await benchShape({ ...many, preload: true });
  progress.done(`ratio ${round(shape.throughputRatio, 2)}`);
  progress.start('Redis memory per pending message and per idle chat');
  const mem = await benchRedisMemory({ chats: Q ? 200 : 2_000, perChat: 3 });
  progress.done(`${mem.bytesPerPendingMessage} B per pending message`);
  return {
    manyChats: shape.manyChats,
    fewChats: shape.fewChats,
    throughputRatio: fig(round(shape.throughputRatio, 2), { op: '>=', bound: 0.8 }),
    manyChatsCallsToMinimum: fig(round(shape.manyChatsCallsToMinimum, 2), { op: '<=', bound: 1.2 }),
    fewChatsCallsToMinimum: fig(round(shape.fewChatsCallsToMinimum, 2), { op: '<=', bound: 1.2 }),
    batchMax: shape.batchMax,
    redisBytesPerPendingMessage: mem.bytesPerPendingMessage,
    redisBytesPerIdleChat: mem.bytesPerIdleChat,
    redisBytesPerDeliveredMessageDedupe: mem.bytesPerDeliveredMessageDedupe,
  };
});

await part('pull', `pull mode's drain of ${DRAIN_N} updates beside push mode's`, async () => {
  const { benchPullDrain } = await import('./pull-bench.ts');
  const push = await pushDrain();
  const base = { ...DRAIN, pageSize: 500, progress: (l: string) => progress.say(l) };
  progress.start('pull, phased: lanes → update log, then the 1C job drains the log');
  const phased = await benchPullDrain({ ...base, ...COSTS, mode: 'phased' });
  progress.done(`handoff ${round(phased.handoffSeconds)} s, drain ${round(phased.drainSeconds)} s`);
  progress.start('pull, overlapped: the 1C job polls while the lanes hand off (lane → 1C)');
  const overlapped = await benchPullDrain({ ...base, ...COSTS, mode: 'overlapped' });
  progress.done(`${round(overlapped.drainSeconds)} s`);
  progress.start('pull, phased, the job fetching the next page while it stores');
  const prefetch = await benchPullDrain({ ...base, ...COSTS, mode: 'phased', prefetch: true });
  progress.done(`${round(prefetch.drainSeconds)} s`);
  progress.start('pull, phased, a 1C that costs nothing (the connector alone)');
  const free = await benchPullDrain({ ...base, perCallMs: 0, perMessageMs: 0, mode: 'phased' });
  progress.done(`${round(free.drainSeconds)} s`);
  const pages = Math.ceil(phased.updates / 500);
  const floor = (pages * COSTS.perCallMs + phased.updates * COSTS.perMessageMs) / 1000;
  const perPage = (r: typeof phased) => ({
    fetch: round(r.perPageMs.fetch),
    store: round(r.perPageMs.store),
    ack: round(r.perPageMs.ack),
  });
  return {
    messages: DRAIN_N,
    updates: phased.updates,
    pageSize: 500,
    onecCosts: COSTS,
    pushDrainSeconds: round(push.seconds),
    // The 1C job stores serially: its own store time is the floor of any drain at these costs.
    onecStoreFloorSeconds: round(floor),
    drainFromLogSeconds: fig(round(phased.drainSeconds), { op: '<=', bound: 10, unit: 's' }, true),
    drainFromLogOnecBusyFraction: round(phased.onecBusyFraction, 2),
    drainFromLogPerPageMs: perPage(phased),
    handoffSeconds: round(phased.handoffSeconds),
    laneTo1cSeconds: fig(round(overlapped.drainSeconds), { op: '<=', bound: 10, unit: 's' }, true),
    laneTo1cOnecBusyFraction: round(overlapped.onecBusyFraction, 2),
    laneTo1cPages: overlapped.pages,
    drainFromLogPrefetchSeconds: round(prefetch.drainSeconds),
    drainFromLogPrefetchPerPageMs: perPage(prefetch),
    drainFromLogZeroOnecCostSeconds: fig(round(free.drainSeconds), { op: '<=', bound: 10, unit: 's' }, true),
    connectorPeakRssMb: { inbound: phased.inboundPeakRssMb, http: phased.httpPeakRssMb },
    orderKept: fig(push.orderKept && phased.orderKept && overlapped.orderKept && prefetch.orderKept && free.orderKept, {
      op: '==',
      bound: true,
    }),
    updatesWaitingAfter: fig(phased.waitingAfter + overlapped.waitingAfter + prefetch.waitingAfter + free.waitingAfter, {
      op: '==',
      bound: 0,
    }),
  };
});

await part('outbound', 'outbound to Telegram with its limits on, many bots', async () => {
  const { benchOutbound } = await import('./outbound-bench.ts');
  const o = Q ? { bots: 2, chats: 10, perChat: 3 } : { bots: 10, chats: 50, perChat: 8 };
  progress.start(`${o.bots} bots × ${o.chats} chats × ${o.perChat} messages`);
  const r = await benchOutbound({ ...o, progress: (l) => progress.say(l) });
  progress.done(`${r.total_steady_msgs_per_s} msg/s in total, slowest bot ${r.bot_steady_msgs_per_s_min} msg/s`);
  return {
    ...r,
    slowestBotSteadyMsgsPerSec: fig(r.bot_steady_msgs_per_s_min, { op: '>=', bound: 28, unit: 'msg/s' }, true),
    totalSteadyMsgsPerSec: fig(r.total_steady_msgs_per_s, { op: '>=', bound: 28 * o.bots, unit: 'msg/s' }, true),
    chatMaxInAny1s: fig(r.chat_max_in_any_1s, { op: '<=', bound: 1 }),
    telegram429s: fig(r.telegram_429s, { op: '==', bound: 0 }),
    allInOrder: fig(r.all_in_order === 1, { op: '==', bound: true }),
  };
});

await part('logins', '50 simultaneous operator logins, one 1C license', async () => {
  const { benchLogins } = await import('./login-bench.ts');
  progress.start('logins');
  const r = await benchLogins();
  progress.done(`${r.ratioToSerialMin}× the serial minimum`);
  return { ...r, ratioToSerialMinimum: fig(r.ratioToSerialMin, { op: '<=', bound: 1.3 }) };
});

await part('cluster', 'the pipeline on one Redis against a local 3+3 Redis Cluster', async () => {
  const { runClusterBench } = await import('./cluster-bench.ts');
  progress.start('one Redis, a Cluster with 1 shard, a Cluster with 16 shards');
  const r = await runClusterBench(Q ? { chats: 50, perChat: 20 } : { chats: 200, perChat: 100 });
  progress.done('');
  return r;
});

// The bench process itself also hosts the emulators (the 1C emulator keeps every message).
out.benchProcessPeakRssMb = round(peakRss / 1024 / 1024, 0);
out.loadAtEnd = load();
const figures = collectFigures(out);
out.summary = {
  figures: figures.length,
  met: figures.filter((f) => f.figure.met === true).length,
  notMet: figures.filter((f) => f.figure.met === false).map((f) => f.path),
  notJudged: figures.filter((f) => f.figure.met === null).length,
};
/** The latency per offered rate as a table (the chart's numbers). */
function latencyRows(): string[] {
  const rows = (out.latency as { perRate?: { rate: number; p50Ms: number; p99Ms: number; maxMs: number; messages: number }[] } | undefined)
    ?.perRate;
  if (!rows?.length) return [];
  return [
    '| offered msg/s | p50 ms | p99 ms | max ms | messages |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.rate} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.messages} |`),
    '',
  ];
}

if (args.docs) {
  mkdirSync(args.docs, { recursive: true });
  writeFileSync(
    join(args.docs, 'bench-last-run.md'),
    [
      '# Last `npm run bench`',
      '',
      `${new Date().toISOString()}, ${cpus().length} cores, Node ${process.version}, load average ${load()[0]} at the end${Q ? ', **--quick sizes** (time targets not judged)' : ''}.`,
      'Written by bench/run.ts; performance.md says what each figure measures and what limits it.',
      '',
      markdownTable(figures),
      '',
      ...latencyRows(),
    ].join('\n'),
  );
}
progress.stop();
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);

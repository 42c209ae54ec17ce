/**
 * Inbound benchmarks (issue "Foundation"): bare BullMQ as the baseline, the pipeline's
 * throughput, one-1C-call-per-message delivery for comparison, a 100 000-message backlog
 * drain against a 1C that costs 20 ms per call + 0.1 ms per message, and update→1C latency
 * through the real Telegram path at a steady offered rate.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { NewInboundMessage } from '../src/core/index.ts';
import { OnecClient } from '../src/onec/onec-client.ts';
import { OnecEmulator } from '../src/onec/emulator/index.ts';
import { InboundPipeline } from '../src/lanes/inbound-pipeline.js';
import { deleteKeysWithPrefix } from '../src/redis/redis-connection.js';
import { RetryPolicy } from '../src/lanes/retry-policy.js';
import { fakeMessage } from '../src/infra/fake-messages.ts';
import { installRedisProfile, resetRedisProfile, stopRedisProfile, type RedisProfile } from './redis-profile.ts';

// Counting is off until a bench resets it; the wrap must be in place before clients define scripts.
installRedisProfile();

/** Round trips per message, by stage of the pipeline (see redis-profile.ts for what counts as one). */
export interface RoundTripProfile {
  perMessage: number;
  commandsPerMessage: number;
  byStage: Record<string, number>;
  byCommand: Record<string, number>;
}

/** Which stage a command (or a pipeline named by its first command) belongs to. */
function stageOf(name: string): string {
  const n = name.replace(/^pipeline:/, '');
  if (/^laneAppend|^addStandardJob|^addJob|^addBulk/.test(n) || name === 'pipeline:set') return 'ingest';
  if (/^laneStart|^laneClaim|^del$|^set$/.test(n)) return 'lock';
  if (/^zrange/.test(n)) return 'headRead';
  if (/^laneAck/.test(n)) return 'ack';
  if (/^laneRelease|^lockRelease/.test(n)) return 'release';
  if (/^lockRenew|^get$/.test(n)) return 'lockCheck';
  if (/^route|^hget|^hmget|^hset/.test(n)) return 'routingStamp';
  if (/^moveTo|^bzpopmin|^extendLock|^moveStalled|^getCounts|^isFinished|^changePriority|^brpoplpush|^blmove|^retry|^promote/.test(n))
    return 'kick';
  return 'other';
}

function perMessage(p: RedisProfile, messages: number): RoundTripProfile {
  const r = (x: number) => Math.round((x / messages) * 1000) / 1000;
  const byStage: Record<string, number> = {};
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(p.roundTrips)) {
    const st = stageOf(name);
    byStage[st] = (byStage[st] ?? 0) + n;
    byCommand[name] = r(n);
  }
  for (const k of Object.keys(byStage)) byStage[k] = r(byStage[k]);
  return { perMessage: r(p.totalRoundTrips), commandsPerMessage: r(p.totalCommands), byStage, byCommand };
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function cleanup(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  await deleteKeysWithPrefix(r, `${prefix}:`);
  r.disconnect();
}

/** Bare BullMQ: addBulk of no-op jobs and a worker with concurrency 50. Jobs per second. */
export async function benchBareBullmq(n: number): Promise<number> {
  return (await benchBareBullmqProfiled(n)).jobsPerSec;
}

/** Bare BullMQ with the Redis round trips per job (same counting as the pipeline's). */
export async function benchBareBullmqProfiled(n: number): Promise<{ jobsPerSec: number; redis: RoundTripProfile }> {
  const prefix = `bench-bare-${randomBytes(3).toString('hex')}`;
  const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
  const queue = new Queue('bare', { connection, prefix });
  let done = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  const worker = new Worker(
    'bare',
    async () => {
      if (++done === n) resolve();
    },
    { connection, prefix, concurrency: 50, autorun: false },
  );
  await worker.waitUntilReady();
  resetRedisProfile();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })),
    );
  }
  void worker.run();
  await finished;
  const rate = n / ((performance.now() - t0) / 1000);
  const profile = stopRedisProfile();
  await worker.close();
  await queue.close();
  await cleanup(prefix);
  return { jobsPerSec: rate, redis: perMessage(profile, n) };
}

export interface PipelineRun {
  messagesPerSec: number;
  seconds: number;
  onecCalls: number;
  peakSessions: number;
  orderKept: boolean;
  duplicatesStored: number;
  /** Redis round trips per message from ingest to ack (this process: lane, BullMQ, ingest). */
  redis: RoundTripProfile;
}

/**
 * Pushes `chats × perChat` messages through ingest (in poller-sized calls of 100, chats
 * interleaved) and waits until 1C stored them all. Checks order per chat at the end.
 */
export async function benchPipeline(o: {
  chats: number;
  perChat: number;
  batchMax: number;
  maxSessions?: number;
  latency?: { perCallMs?: number; perMessageMs?: number; newSessionMs?: number };
  preload?: boolean;
}): Promise<PipelineRun> {
  const prefix = `bench-pipe-${randomBytes(3).toString('hex')}`;
  const total = o.chats * o.perChat;
  const onecEmu = new OnecEmulator({ latency: o.latency ?? {} });
  await onecEmu.start();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const onec = new OnecClient({
    baseUrl: onecEmu.url,
    user: 'service',
    password: 'service-pass',
    maxSessions: o.maxSessions ?? 1,
    batchMax: o.batchMax,
    idleFinishMs: 2000,
  });
  let delivered = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  const pipeline = new InboundPipeline({
    redis,
    bullConnection: { url: REDIS_URL },
    prefix,
    deliverer: onec,
    batchMax: o.batchMax,
    concurrency: 50,
    retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 500 }),
    observer: {
      delivered: (ms) => {
        delivered += ms.length;
        if (delivered >= total) resolve();
      },
    },
  });
  const feed = async () => {
    // Poller-sized calls (Telegram's getUpdates gives up to 100), chats interleaved.
    await queueBacklog(pipeline, o.chats, o.perChat, 100);
  };
  let t0: number;
  resetRedisProfile();
  if (o.preload) {
    await feed();
    t0 = performance.now();
    await pipeline.start();
  } else {
    await pipeline.start();
    t0 = performance.now();
    await feed();
  }
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const profile = stopRedisProfile();
  const st = onecEmu.state();
  let orderKept = st.messages.stored === total;
  for (const refs of Object.values(st.messages.byChat)) {
    for (let i = 0; i < refs.length; i++) if (refs[i].seq !== i + 1) orderKept = false;
  }
  await pipeline.close();
  await onec.close();
  const peakSessions = onecEmu.state().sessions.peakOpen;
  await onecEmu.stop();
  redis.disconnect();
  await cleanup(prefix);
  return {
    messagesPerSec: total / seconds,
    seconds,
    onecCalls: st.calls.messages,
    peakSessions,
    orderKept,
    redis: perMessage(profile, total),
    duplicatesStored:
      st.messages.stored -
      new Set(
        Object.values(st.messages.byChat)
          .flat()
          .map((r) => r.id),
      ).size,
  };
}

/**
 * Update→1C latency through the whole product path: the emulated Bot API, the real grammY
 * poller, ingest, the lane, the 1C client. Messages are offered at `rate`/s across `chats`
 * chats; latency runs from the moment the update exists at the Bot API to 1C's ack.
 */
export async function benchLatency(o: {
  rate: number;
  seconds: number;
  chats: number;
  onecCallMs: number;
}): Promise<{ p50Ms: number; p99Ms: number; maxMs: number; messages: number }> {
  const { startLocalStack } = await import('../src/infra/local-stack.ts');
  const { createConnector } = await import('../src/connector.ts');
  const { createLogger } = await import('../src/infra/logger.ts');
  const stack = await startLocalStack({ onec: { latency: { perCallMs: o.onecCallMs } }, redisUrl: REDIS_URL });
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  const connector = await createConnector(stack.config, {
    trustedKeysDir: stack.keysDir,
    logger: createLogger({ level: 'silent', format: 'json' }),
    inboundObserver: {
      delivered: (ms) => {
        const now = performance.now();
        for (const m of ms) {
          const t = sentAt.get(m.id);
          if (t !== undefined) {
            lat.push(now - t);
            sentAt.delete(m.id);
          }
        }
      },
    },
  });
  await connector.start();
  const bot = stack.bots[0];
  const chats = Array.from({ length: o.chats }, (_, i) => stack.telegram.chat(bot.token, { firstName: `L${i}` }));
  const total = Math.round(o.rate * o.seconds);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const c = chats[i % chats.length];
    const s = c.text(`latency ${i}`);
    sentAt.set(`tg:${bot.username}:${c.id}:${s.messageId}`, performance.now());
  }
  const deadline = performance.now() + 30_000;
  while (lat.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await connector.stop();
  await cleanup(stack.config.queuePrefix);
  await stack.stop();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { p50Ms: q(0.5), p99Ms: q(0.99), maxMs: lat[lat.length - 1] ?? NaN, messages: lat.length };
}

/** Resident memory of a process in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * What `npm start` sets for the connector process: the `NAME=value` words before `node` and
 * the node flags between `node` and the script, from package.json's `start` script.
 */
export function startCommand(): { env: Record<string, string>; nodeFlags: string[] } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[i]); i++) {
    const [k, ...v] = words[i].split('=');
    env[k] = v.join('=');
  }
  if (words[i] !== 'node') throw new Error(`package.json's start script does not run node: ${pkg.scripts.start}`);
  const nodeFlags: string[] = [];
  for (i++; i < words.length && words[i].startsWith('--'); i++) nodeFlags.push(words[i]);
  return { env, nodeFlags };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null when gone. */
function cpuSeconds(pid: number): number | null {
  try {
    // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * A probe loaded into the connector process (`node --expose-gc --import <probe>`): on
 * SIGUSR2 it forces a full GC and writes `process.memoryUsage()` and whether Baileys (the
 * WhatsApp library) was loaded to a file. Bench-only; the product has no such hook.
 */
const HEAP_PROBE = `
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
let baileys = false;
const { port1, port2 } = new MessageChannel();
port1.on('message', () => { baileys = true; });
port1.unref();
register(new URL('./hooks.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] });
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  writeFileSync(process.env.HEAP_PROBE_FILE, JSON.stringify({ ...m, baileys }));
});
`;
/** The probe's module hooks: tell the probe when anything of Baileys is resolved. */
const HEAP_PROBE_HOOKS = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  if (r.url.includes('baileys')) port.postMessage(r.url);
  return r;
}
`;

interface HeapSample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  baileys: boolean;
}

async function probeHeap(pid: number, file: string): Promise<HeapSample | null> {
  try {
    rmSync(file, { force: true });
    process.kill(pid, 'SIGUSR2');
  } catch {
    return null;
  }
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as HeapSample;
    } catch {
      // not written (completely) yet
    }
  }
  return null;
}

export interface DrainRun {
  /** From 1C's first call to its last message stored. */
  seconds: number;
  /** The connector process's peak RSS (sampled every 25 ms). */
  peakRssMb: number;
  /** Heap used after a forced full GC, half-way through the drain (the live set). */
  heapUsedAfterGcMb: number | null;
  /** RSS at that moment, and the heap V8 had reserved, and memory outside the JS heap. */
  rssAtGcMb: number | null;
  heapTotalAtGcMb: number | null;
  externalAtGcMb: number | null;
  /** Was the WhatsApp library loaded into the connector process (null: could not tell)? */
  baileysLoaded: boolean | null;
  /** CPU time (user + system) the connector process used during the drain: its own work, less load-sensitive than wall time. */
  connectorCpuSeconds: number | null;
  onecCalls: number;
  /** Every call 1C answered during the drain, by endpoint (routing events share the one session). */
  onecCallsByEndpoint: Record<string, number>;
  /** Share of the wall time 1C spent on calls of any endpoint: (calls × perCallMs + messages × perMessageMs) / seconds. */
  onecBusyFraction: number;
  /** The physical floor: one session busy all the time with batches of `floorBatch`. */
  floorSeconds: number;
  avgBatch: number;
  peakSessions: number;
  orderKept: boolean;
}

/** Ingests `chats` × `perChat` fake messages, chats interleaved (as a poller sees them), `per` per ingest call. */
export async function queueBacklog(into: Pick<InboundPipeline, 'ingest'>, chats: number, perChat: number, per = 500): Promise<void> {
  let batch: NewInboundMessage[] = [];
  for (let n = 1; n <= perChat; n++) {
    for (let c = 0; c < chats; c++) {
      batch.push(fakeMessage(c, n));
      if (batch.length === per) {
        await into.ingest(batch);
        batch = [];
      }
    }
  }
  if (batch.length) await into.ingest(batch);
}
/**
 * The backlog drain as production runs it: `chats × perChat` messages already queued, then
 * one real connector process (`chat-connector worker inbound`) delivers them to a 1C that
 * costs `perCallMs` + `perMessageMs` per message. `batchMax` unset = the default settings.
 * Reports the time from 1C's first call to the last message, how busy 1C was, the
 * process's peak RSS and its heap after a forced GC half-way, and whether order held.
 */
export async function benchDrainProcess(o: {
  chats: number;
  perChat: number;
  batchMax?: number;
  perCallMs: number;
  perMessageMs: number;
}): Promise<DrainRun> {
  const { startLocalStack } = await import('../src/infra/local-stack.ts');
  const total = o.chats * o.perChat;
  const stack = await startLocalStack({
    redisUrl: REDIS_URL,
    onec: { latency: { perCallMs: o.perCallMs, perMessageMs: o.perMessageMs } },
    env: o.batchMax === undefined ? {} : { ONEC_BATCH_MAX: String(o.batchMax) },
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = stack.config.queuePrefix;
  const loader = new InboundPipeline({ redis, bullConnection: { url: REDIS_URL }, prefix, deliverer: { deliverMessages: async () => [] } });
  await queueBacklog(loader, o.chats, o.perChat);
  await loader.close();
  const dir = mkdtempSync(join(tmpdir(), 'drain-probe-'));
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, HEAP_PROBE);
  writeFileSync(join(dir, 'hooks.mjs'), HEAP_PROBE_HOOKS);
  const probeOut = join(dir, 'heap.json');
  // As `npm start` runs it (its environment and node flags, read from package.json), so the
  // RSS figure is production's; plus the probe.
  const start = startCommand();
  const child = spawn(
    process.execPath,
    [
      ...start.nodeFlags,
      // Extra node flags for a look inside (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`); none by default.
      ...(process.env.BENCH_DRAIN_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--expose-gc',
      '--import',
      pathToFileURL(probe).href,
      stack.packageCopy().bin,
      'worker',
      'inbound',
    ],
    {
      env: { PATH: process.env.PATH ?? '', ...start.env, ...stack.env, LOG_LEVEL: 'error', HTTP_PORT: '0', HEAP_PROBE_FILE: probeOut },
      stdio: 'ignore',
    },
  );
  let peak = 0;
  let t0 = 0;
  let cpu0: number | null = null;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(child.pid ?? 0));
    if (!t0 && stack.onec.progress().messageCalls > 0) {
      t0 = performance.now();
      cpu0 = cpuSeconds(child.pid ?? 0);
    }
  }, 25);
  const deadline = Date.now() + 300_000;
  let heap: HeapSample | null = null;
  let probed = false;
  // progress(), not state(): state() copies every stored message, and polling it would slow
  // the emulator (in this process) down during the very drain it measures.
  while (stack.onec.progress().messagesStored < total && Date.now() < deadline) {
    if (!probed && stack.onec.progress().messagesStored >= total / 2) {
      probed = true;
      heap = await probeHeap(child.pid ?? 0, probeOut);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(child.pid ?? 0);
  clearInterval(sampler);
  const st = stack.onec.state();
  let orderKept = st.messages.stored === total;
  for (const refs of Object.values(st.messages.byChat)) for (let i = 0; i < refs.length; i++) if (refs[i].seq !== i + 1) orderKept = false;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  redis.disconnect();
  await cleanup(prefix);
  await stack.stop();
  const calls = st.calls.messages;
  const allCalls = st.calls.messages + st.calls.routing + st.calls.statuses;
  const mb = (b: number) => Math.round(b / 1024 / 104.8576) / 10;
  return {
    seconds,
    peakRssMb: Math.round(peak),
    heapUsedAfterGcMb: heap ? mb(heap.heapUsed) : null,
    rssAtGcMb: heap ? mb(heap.rss) : null,
    heapTotalAtGcMb: heap ? mb(heap.heapTotal) : null,
    externalAtGcMb: heap ? mb(heap.external) : null,
    baileysLoaded: heap ? heap.baileys : null,
    connectorCpuSeconds: cpu0 !== null && cpu1 !== null ? Math.round((cpu1 - cpu0) * 100) / 100 : null,
    onecCalls: calls,
    onecCallsByEndpoint: { ...st.calls },
    onecBusyFraction: Math.round(((allCalls * o.perCallMs + total * o.perMessageMs) / 1000 / seconds) * 1000) / 1000,
    floorSeconds: (Math.ceil(total / 500) * o.perCallMs + total * o.perMessageMs) / 1000,
    avgBatch: Math.round(total / Math.max(1, calls)),
    peakSessions: st.sessions.peakOpen,
    orderKept,
  };
}

/** Bytes of every key under `prefix:` by kind (MEMORY USAGE, SAMPLES 0 = exact), in one SCAN. */
async function memoryByKind(redis: Redis, prefix: string): Promise<Record<string, { keys: number; bytes: number }>> {
  const out: Record<string, { keys: number; bytes: number }> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipe = redis.pipeline();
    for (const k of keys) pipe.memory('USAGE', k, 'SAMPLES', 0);
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const rest = k.slice(prefix.length + 1);
      const kind = /^lane:inbound:q:/.test(rest)
        ? 'pending items (q:<chat>)'
        : /^lane:inbound:id:/.test(rest)
          ? 'dedupe ids (id:<msg>, 7 days)'
          : /^lane:inbound:seq$/.test(rest)
            ? 'seq counters (hash, a field per chat)'
            : /^lane:inbound:(kick|lock):/.test(rest)
              ? 'kick flags and locks'
              : /^lane:inbound:(active|ready)$/.test(rest)
                ? 'active and ready sets'
                : /^chats:known:/.test(rest)
                  ? 'known chats (chats:known:<chat>, 180 days)'
                  : /^inbound:/.test(rest)
                    ? 'BullMQ kick jobs'
                    : 'other';
      const e = (out[kind] ??= { keys: 0, bytes: 0 });
      e.keys++;
      e.bytes += Number(res[i]?.[1] ?? 0);
    });
  } while (cursor !== '0');
  return out;
}

export interface RedisMemoryRun {
  /** Redis bytes per pending message (everything the backlog holds, kicks included). */
  bytesPerPendingMessage: number;
  /** Redis bytes per known chat once everything is delivered, without the per-message dedupe ids. */
  bytesPerIdleChat: number;
  /** Bytes per delivered message kept for dedupe (its id, for the dedupe TTL of 7 days). */
  bytesPerDeliveredMessageDedupe: number;
  pending: Record<string, { keys: number; bytes: number }>;
  idle: Record<string, { keys: number; bytes: number }>;
}

/**
 * Redis memory of the inbound lane: `chats × perChat` messages queued (what a backlog
 * costs), then delivered by an instant 1C (what stays per chat and per message after).
 */
export async function benchRedisMemory(o: { chats: number; perChat: number }): Promise<RedisMemoryRun> {
  const prefix = `bench-mem-${randomBytes(3).toString('hex')}`;
  const total = o.chats * o.perChat;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let delivered = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  const pipeline = new InboundPipeline({
    redis,
    bullConnection: { url: REDIS_URL },
    prefix,
    batchMax: 500,
    deliverer: { deliverMessages: async (ms) => ms.map((m) => ({ id: m.id, status: 'accepted' })) },
    observer: {
      delivered: (ms) => {
        delivered += ms.length;
        if (delivered >= total) resolve();
      },
    },
  });
  await queueBacklog(pipeline, o.chats, o.perChat);
  const pending = await memoryByKind(redis, prefix);
  await pipeline.start();
  await finished;
  await pipeline.close();
  const idle = await memoryByKind(redis, prefix);
  redis.disconnect();
  await cleanup(prefix);
  const sum = (m: Record<string, { bytes: number }>, skip: string[] = []) =>
    Object.entries(m)
      .filter(([k]) => !skip.includes(k))
      .reduce((s, [, v]) => s + v.bytes, 0);
  const dedupe = 'dedupe ids (id:<msg>, 7 days)';
  const idleNoDedupe = sum(idle, [dedupe, 'BullMQ kick jobs']);
  return {
    bytesPerPendingMessage: Math.round((sum(pending) - idleNoDedupe) / total),
    bytesPerIdleChat: Math.round(idleNoDedupe / o.chats),
    bytesPerDeliveredMessageDedupe: Math.round((idle[dedupe]?.bytes ?? 0) / total),
    pending,
    idle,
  };
}

export interface ShapeRun {
  manyChats: { chats: number; perChat: number; messagesPerSec: number; onecCalls: number; orderKept: boolean };
  fewChats: { chats: number; perChat: number; messagesPerSec: number; onecCalls: number; orderKept: boolean };
  /** manyChats ÷ fewChats throughput (target within 20 %: ≥ 0.8). */
  throughputRatio: number;
  /** 1C calls ÷ the minimum (messages ÷ batch), for each shape (target ≤ 1.2). */
  manyChatsCallsToMinimum: number;
  fewChatsCallsToMinimum: number;
  batchMax: number;
  preload: boolean;
}

/**
 * Cost as the work grows (issue 19 item 7): the same number of messages as many chats with
 * a few each, and as few chats with many each, through benchPipeline (live feed in
 * poller-sized calls, one 1C session, 0-latency 1C, batch `batchMax`).
 */
export async function benchShape(o: {
  manyChats: number;
  manyPerChat: number;
  fewChats: number;
  batchMax?: number;
  /** Queue everything first, then start delivering (a backlog); default: a live feed. */
  preload?: boolean;
  latency?: { perCallMs?: number; perMessageMs?: number };
}): Promise<ShapeRun> {
  const batchMax = o.batchMax ?? 500;
  const total = o.manyChats * o.manyPerChat;
  const fewPerChat = Math.round(total / o.fewChats);
  const common = { batchMax, preload: o.preload, latency: o.latency };
  const many = await benchPipeline({ chats: o.manyChats, perChat: o.manyPerChat, ...common });
  const few = await benchPipeline({ chats: o.fewChats, perChat: fewPerChat, ...common });
  const min = Math.ceil(total / batchMax);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    manyChats: {
      chats: o.manyChats,
      perChat: o.manyPerChat,
      messagesPerSec: Math.round(many.messagesPerSec),
      onecCalls: many.onecCalls,
      orderKept: many.orderKept,
    },
    fewChats: {
      chats: o.fewChats,
      perChat: fewPerChat,
      messagesPerSec: Math.round(few.messagesPerSec),
      onecCalls: few.onecCalls,
      orderKept: few.orderKept,
    },
    throughputRatio: r(many.messagesPerSec / few.messagesPerSec),
    manyChatsCallsToMinimum: r(many.onecCalls / min),
    fewChatsCallsToMinimum: r(few.onecCalls / min),
    batchMax,
    preload: o.preload ?? false,
  };
}

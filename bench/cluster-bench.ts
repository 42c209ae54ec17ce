/**
 * The inbound pipeline on a Redis Cluster (3 primaries + 3 replicas, QUEUE_SHARDS shards)
 * against one Redis (one shard), in one run, on private servers started here (neither is
 * the shared REDIS_URL, so their CPU figures are the pipeline's alone).
 *
 * 1C is an in-process deliverer that accepts at once: the figure is the cost of the lanes
 * and BullMQ per message — wall time, the connector process's CPU and the Redis servers'
 * CPU (INFO cpu, summed over the primaries; replicas are not counted) — not 1C's. On one
 * machine with 2 cores, every Redis process competes with the connector for the same
 * cores, so the cluster cannot be faster here; what it shows is the extra cost per message
 * of the Cluster client (slot routing, one connection per node, MOVED handling) and of
 * the shards (more BullMQ queues and workers per process).
 *
 * `node --import tsx bench/cluster-only.ts` runs it alone; `runClusterBench` is what
 * bench/run.ts calls under `npm run bench -- cluster`.
 */
import { ensureRedis } from '../src/infra/embedded-redis.ts';
import { startLocalCluster } from '../src/infra/local-cluster.ts';
import { InboundPipeline } from '../src/lanes/inbound-pipeline.js';
import { RetryPolicy } from '../src/lanes/retry-policy.js';
import { bullConnectionFor, createRedis, forEachPrimary, type RedisTarget } from '../src/redis/redis-connection.js';
import { queueBacklog } from './inbound-bench.ts';

export interface ClusterBenchRun {
  shards: number;
  messages: number;
  seconds: number;
  messagesPerSec: number;
  /** The connector process's CPU (user + system) per message. */
  connectorCpuUsPerMessage: number;
  /** The Redis primaries' CPU (user + system, summed) per message. */
  redisCpuUsPerMessage: number;
  orderKept: boolean;
}

async function redisCpuUs(redis: ReturnType<typeof createRedis>): Promise<number> {
  const per = await forEachPrimary(redis, async (node) => {
    const info = await node.info('cpu');
    const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
    const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
    return (user + sys) * 1e6;
  });
  return per.reduce((a, b) => a + b, 0);
}

/** Pushes `chats × perChat` messages through ingest (calls of 100, chats interleaved) until all are delivered. */
export async function benchPipelineOn(
  target: RedisTarget,
  o: { chats: number; perChat: number; shards: number },
): Promise<ClusterBenchRun> {
  const total = o.chats * o.perChat;
  const prefix = target.cluster ? '{bench-cluster}' : 'bench-cluster';
  const redis = createRedis({ url: target, name: 'cluster-bench' });
  const lastSeq = new Map<string, number>();
  let orderKept = true;
  let delivered = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => (resolve = r));
  const pipeline = new InboundPipeline({
    redis,
    bullConnection: bullConnectionFor(target, redis),
    prefix,
    shards: o.shards,
    batchMax: 100,
    concurrency: 50,
    retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 500 }),
    deliverer: {
      deliverMessages: async (messages) => {
        for (const m of messages) {
          if (m.seq !== (lastSeq.get(m.chatId) ?? 0) + 1) orderKept = false;
          lastSeq.set(m.chatId, m.seq);
        }
        delivered += messages.length;
        if (delivered >= total) resolve();
        return messages.map((m) => ({ id: m.id, status: 'accepted' }));
      },
    },
  });
  await pipeline.start();
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuUs(redis);
  const t0 = performance.now();
  // Poller-sized calls (Telegram's getUpdates gives up to 100), chats interleaved.
  await queueBacklog(pipeline, o.chats, o.perChat, 100);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisCpu = (await redisCpuUs(redis)) - redis0;
  await pipeline.close();
  redis.disconnect();
  return {
    shards: o.shards,
    messages: total,
    seconds,
    messagesPerSec: total / seconds,
    connectorCpuUsPerMessage: (cpu.user + cpu.system) / total,
    redisCpuUsPerMessage: redisCpu / total,
    orderKept: orderKept && lastSeq.size === o.chats && [...lastSeq.values()].every((s) => s === o.perChat),
  };
}

/**
 * One Redis (1 shard), a 3+3 Cluster with 1 shard (everything in one slot: the Cluster
 * client's own cost) and with `shards` shards, same load, one after the other.
 */
export async function runClusterBench(o: { chats?: number; perChat?: number; shards?: number } = {}): Promise<{
  single: ClusterBenchRun;
  clusterOneShard: ClusterBenchRun;
  cluster: ClusterBenchRun;
  primaries: number;
}> {
  const load = { chats: o.chats ?? 200, perChat: o.perChat ?? 100 };
  const one = await ensureRedis({ forceOwn: true, args: ['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'] });
  let single: ClusterBenchRun;
  try {
    single = await benchPipelineOn({ url: one.url, sentinel: null }, { ...load, shards: 1 });
  } finally {
    await one.stop();
  }
  const cl = await startLocalCluster({ primaries: 3, replicasPer: 1 });
  try {
    const target = { url: 'redis://127.0.0.1', sentinel: null, cluster: { nodes: cl.ports.map((port) => ({ host: '127.0.0.1', port })) } };
    const clusterOneShard = await benchPipelineOn(target, { ...load, shards: 1 });
    const cluster = await benchPipelineOn(target, { ...load, shards: o.shards ?? 16 });
    return { single, clusterOneShard, cluster, primaries: 3 };
  } finally {
    await cl.stop();
  }
}

/**
 * `chat-connector doctor` on a Redis Cluster (REDIS_CLUSTER_NODES, one seed given): every
 * primary and replica the cluster lists is checked, not only the seed — a primary with an
 * evicting policy and a replica that is down each get their own ✗ sentence naming the node.
 * Skips (with the reason) when this machine's redis-server cannot run a local cluster.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor-command.ts';
import { startLocalCluster, type LocalCluster } from '../../src/infra/local-cluster.ts';
import { startLocalStack, type LocalStack } from '../../src/infra/local-stack.ts';
import { parseClusterNodes } from '../../src/ops/doctor.ts';
import { until } from '../helpers/redis.ts';

let stack: LocalStack | null = null;
let cluster: LocalCluster | null = null;
let skipReason: string | null = null;

beforeAll(async () => {
  try {
    cluster = await startLocalCluster({ primaries: 3, replicasPer: 1 });
  } catch (e) {
    skipReason = `no local Redis Cluster on this machine: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  stack = await startLocalStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
}, 60_000);

async function doctor(): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const seed = cluster!.nodes.split(',')[0];
  const code = await runDoctor([], {
    env: { ...stack!.env, REDIS_CLUSTER_NODES: seed, QUEUE_PREFIX: '{doctor}' },
    envFile: false,
    hostId: stack!.hostId,
    trustedKeysDir: stack!.keysDir,
    timeoutMs: 2000,
    io: { out: (l) => out.push(l), err: (l) => out.push(l) },
  });
  return { code, out };
}

function client(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  return r;
}

async function topology(): Promise<ReturnType<typeof parseClusterNodes>> {
  const r = client(cluster!.ports[0]);
  try {
    await r.connect();
    return parseClusterNodes(String(await r.call('CLUSTER', 'NODES')));
  } finally {
    r.disconnect();
  }
}

describe('doctor on a Redis Cluster', () => {
  it('checks every node from one seed; an evicting primary and a dead replica each get one ✗ sentence', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    // The seed's view settles after the cluster is made (replicas are told whom to follow).
    await until(
      async () => {
        const t = await topology();
        return t.filter((n) => n.primary && n.slots).length === 3 && t.filter((n) => !n.primary).length === 3;
      },
      { what: 'the seed sees 3 primaries and 3 replicas' },
    );
    const healthy = await doctor();
    expect(healthy.out.filter((l) => l.startsWith('✗'))).toEqual([]);
    expect(healthy.out).toContainEqual(
      expect.stringMatching(
        /^✓ Redis Cluster answers at 127\.0\.0\.1:\d+: 3 primaries and 3 replicas, every node reachable with cluster_state ok, maxmemory-policy noeviction on every primary; the chats are spread over 16 shard\(s\)\.$/,
      ),
    );
    expect(healthy.code).toBe(0);

    const nodes = await topology();
    const primary = nodes.find((n) => n.primary && n.port !== cluster!.ports[0])!;
    const replica = nodes.find((n) => !n.primary && n.port !== cluster!.ports[0])!;
    const p = client(primary.port);
    await p.connect();
    await p.config('SET', 'maxmemory-policy', 'allkeys-lru');
    p.disconnect();
    const r = client(replica.port);
    await r.connect();
    await r.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    r.disconnect();
    await until(
      async () => {
        const c = client(replica.port);
        const up = await c.connect().then(
          () => true,
          () => false,
        );
        c.disconnect();
        return !up;
      },
      { what: 'replica down' },
    );

    const broken = await doctor();
    const bad = broken.out.filter((l) => l.startsWith('✗'));
    expect(bad).toHaveLength(2);
    expect(bad).toContainEqual(
      expect.stringMatching(
        new RegExp(`^✗ Redis Cluster primary 127\\.0\\.0\\.1:${primary.port} has maxmemory-policy allkeys-lru: .*noeviction`),
      ),
    );
    expect(bad).toContainEqual(
      expect.stringMatching(new RegExp(`^✗ Redis Cluster replica 127\\.0\\.0\\.1:${replica.port} does not answer \\(`)),
    );
    expect(broken.code).toBe(1);
  }, 120_000);
});

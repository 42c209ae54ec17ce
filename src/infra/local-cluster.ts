/**
 * A Redis Cluster on this machine for the failover tests and the cluster bench — never for
 * production: `primaries` primaries with `replicasPer` replicas each, private
 * `redis-server --cluster-enabled yes` processes on loopback joined by
 * `redis-cli --cluster create … --cluster-replicas N --cluster-yes` (Debian's redis-server
 * package ships both). The cluster bus port is chosen free too (`--cluster-port`, Redis 7):
 * the default port + 10000 may be taken or beyond 65535.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { ensureRedis, freePort, type EmbeddedRedis } from './embedded-redis.ts';

/** `redis-server` arguments of a cluster node (no persistence: failover is the subject). */
export function clusterNodeArgs(busPort: number, nodeTimeoutMs: number): string[] {
  return [
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
    '--cluster-enabled',
    'yes',
    '--cluster-port',
    String(busPort),
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica that missed its primary for a while on a loaded machine still takes over
    // (the default factor 10 made a replica refuse once in three runs here).
    '--cluster-replica-validity-factor',
    '0',
    // A replica's first full sync starts at once (the default waits 5 s for more replicas to
    // share a diskless transfer): until it ends the replica holds nothing, and a failover to it
    // would lose the whole slot range — which is what the kill -9 test hit before joinCluster
    // waited for the sync.
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/** One node's view: `cluster_state:ok`, and how many nodes it knows. */
export async function clusterView(port: number): Promise<{ ok: boolean; known: number }> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = (await r.call('CLUSTER', 'INFO')) as string;
    return { ok: /cluster_state:ok/.test(info), known: Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? 0) };
  } catch {
    return { ok: false, known: 0 };
  } finally {
    r.disconnect();
  }
}

/**
 * One node's replication: its role, and for a replica whether its link to the primary is up
 * with the first sync done (`master_link_status:up`, no sync in progress).
 */
export async function replicationView(port: number): Promise<{ role: 'master' | 'slave' | null; synced: boolean; replicas: number }> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const info = await r.info('replication');
    const role = /role:(master|slave)/.exec(info)?.[1] as 'master' | 'slave' | undefined;
    const synced = /master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info);
    const replicas = (info.match(/slave\d+:[^\r\n]*state=online/g) ?? []).length;
    return { role: role ?? null, synced, replicas };
  } catch {
    return { role: null, synced: false, replicas: 0 };
  } finally {
    r.disconnect();
  }
}

/**
 * Joins running cluster-enabled nodes into one cluster and waits until every node says it is
 * ok and every replica has finished its first sync with its primary (each primary lists its
 * replicas online): a replica promoted before that would hold none of its primary's keys.
 */
export async function joinCluster(ports: number[], replicasPer: number, timeoutMs = 30_000): Promise<void> {
  await promisify(execFile)(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicasPer), '--cluster-yes'],
    { timeout: 60_000 },
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(ports.map((p) => clusterView(p)));
    const repl = await Promise.all(ports.map((p) => replicationView(p)));
    const primaries = repl.filter((v) => v.role === 'master');
    const replicas = repl.filter((v) => v.role === 'slave');
    const settled =
      views.every((v) => v.ok && v.known === ports.length) &&
      replicas.length === ports.length - primaries.length &&
      primaries.length * replicasPer === replicas.length &&
      replicas.every((v) => v.synced) &&
      primaries.every((v) => v.replicas === replicasPer);
    if (settled) return;
    if (Date.now() > deadline)
      throw new Error(`the cluster did not settle within ${timeoutMs} ms: ${JSON.stringify(views)} ${JSON.stringify(repl)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

export interface LocalCluster {
  /** Seed list as REDIS_CLUSTER_NODES takes it. */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

export async function startLocalCluster(
  o: { primaries?: number; replicasPer?: number; nodeTimeoutMs?: number } = {},
): Promise<LocalCluster> {
  const replicasPer = o.replicasPer ?? 1;
  const count = (o.primaries ?? 3) * (1 + replicasPer);
  const servers: EmbeddedRedis[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      servers.push(await ensureRedis({ forceOwn: true, port, args: clusterNodeArgs(await freePort(), o.nodeTimeoutMs ?? 1_000) }));
      ports.push(port);
    }
    await joinCluster(ports, replicasPer);
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

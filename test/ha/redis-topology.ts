/**
 * Real Redis topologies on loopback for the failover tests: a primary, replicas and
 * sentinels as separate `redis-server` processes (Debian's binary; `--sentinel` makes it a
 * sentinel), each on a free port in a temporary directory, all stopped by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { clusterNodeArgs, joinCluster } from '../../src/infra/local-cluster.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisProcess {
  port: number;
  url: string;
  proc: ChildProcess;
  /** kill -9. */
  kill(): void;
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      r.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Runs a stop step, giving up (with a line saying so) after `ms`: a hung stop must not leave the servers running. */
export async function stopBounded(what: string, stop: () => Promise<void> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stdout.write(`${what} did not stop within ${ms} ms; going on\n`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([Promise.resolve(stop()), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

export class RedisTopology {
  readonly dir = mkdtempSync(join(tmpdir(), 'cc-ha-'));
  private readonly procs: ChildProcess[] = [];
  /** Whatever happens to the test run, its servers die with it. */
  private readonly onExit = (): void => {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.onExit);
  }

  private async launch(args: string[], port: number): Promise<RedisProcess> {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.procs.push(proc);
    await waitForPing(port);
    return { port, url: `redis://127.0.0.1:${port}`, proc, kill: () => proc.kill('SIGKILL') };
  }

  /** A data node; `replicaOf` makes it a replica of that port. No persistence: failover is the subject. */
  async server(o: { replicaOf?: number } = {}): Promise<RedisProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(this.dir, `node-${port}-`));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
    args.push('--maxmemory-policy', 'noeviction');
    if (o.replicaOf) args.push('--replicaof', '127.0.0.1', String(o.replicaOf));
    return this.launch(args, port);
  }

  /** A sentinel watching `primaryPort` as `name`, quorum 2, primary down after `downAfterMs`. */
  async sentinel(name: string, primaryPort: number, downAfterMs = 1_000): Promise<RedisProcess> {
    const port = await freePort();
    const conf = join(this.dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    return this.launch([conf, '--sentinel'], port);
  }

  /**
   * A Redis Cluster of `primaries` primaries with `replicasPer` replicas each, as processes
   * this topology can kill (src/infra/local-cluster.ts joins them and waits for `ok`).
   */
  async cluster(o: { primaries?: number; replicasPer?: number; nodeTimeoutMs?: number } = {}): Promise<RedisProcess[]> {
    const count = (o.primaries ?? 3) * (1 + (o.replicasPer ?? 1));
    const nodes: RedisProcess[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(this.dir, `cluster-${port}-`));
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', join(dir, 'redis.log')];
      nodes.push(await this.launch([...args, ...clusterNodeArgs(await freePort(), o.nodeTimeoutMs ?? 1_000)], port));
    }
    await joinCluster(
      nodes.map((n) => n.port),
      o.replicasPer ?? 1,
    );
    return nodes;
  }

  async stop(): Promise<void> {
    process.off('exit', this.onExit);
    this.onExit();
    if (process.env.HA_KEEP_DIR !== '1') rmSync(this.dir, { recursive: true, force: true });
    else process.stdout.write(`kept ${this.dir}\n`);
  }
}

/** Asks a sentinel for the current primary's port. */
export async function primaryPortOf(sentinelPort: number, name: string): Promise<number | null> {
  const r = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const addr = (await r.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
    return addr ? Number(addr[1]) : null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** Sentinel's view: how many other sentinels and healthy replicas it knows for `name`. */
export async function sentinelView(sentinelPort: number, name: string): Promise<{ sentinels: number; replicas: number }> {
  const r = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const sentinels = (await r.call('SENTINEL', 'sentinels', name)) as unknown[];
    const replicas = (await r.call('SENTINEL', 'replicas', name)) as string[][];
    const healthy = replicas.filter((fields) => {
      const flags = fields[fields.indexOf('flags') + 1] ?? '';
      return !/s_down|o_down|disconnected/.test(flags);
    });
    return { sentinels: sentinels.length, replicas: healthy.length };
  } catch {
    return { sentinels: 0, replicas: 0 };
  } finally {
    r.disconnect();
  }
}

/** The port of the primary serving a key's slot, asked of a live node (null when none serves it). */
export async function primaryOfKey(askPort: number, key: string): Promise<number | null> {
  const r = new Redis({ port: askPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const hit = ranges.find(([from, to]) => slot >= from && slot <= to);
    return hit ? Number(hit[2][1]) : null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

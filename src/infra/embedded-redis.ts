/**
 * Redis for the demo, the tests and the benchmarks — never for production `start`.
 * Uses REDIS_URL when it answers; otherwise starts a private `redis-server` (temporary
 * dir, loopback, a free port) and stops it on exit; installs Debian's `redis-server`
 * when the binary is missing and we are root with apt-get, else says in one line how.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedRedis {
  url: string;
  /** True when we started the server (and will stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** Try this first (default REDIS_URL or redis://127.0.0.1:6379). */
  url?: string;
  /** Extra `redis-server` arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  /** Always start a private server, even when `url` answers. */
  forceOwn?: boolean;
  /** Data directory to use (kept); default a fresh temporary one (removed on stop). */
  dir?: string;
  /** Port for the private server (default a free one). */
  port?: number;
  log?: (line: string) => void;
}

/** Sends PING over a raw socket: no client library, no retry loop, a short timeout. */
export function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(Number(u.port || 6379), u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', () => {
      const pass = decodeURIComponent(u.password || '');
      const user = decodeURIComponent(u.username || '');
      if (pass) sock.write(user ? `AUTH ${user} ${pass}\r\n` : `AUTH ${pass}\r\n`);
      sock.write('PING\r\n');
    });
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('PONG')) done(true);
      else if (buf.includes('-NOAUTH') || buf.includes('-WRONGPASS')) done(false);
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function findRedisServer(): string | null {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

function installRedis(log: (l: string) => void): string | null {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) return null;
  log("redis-server is not installed; installing Debian's redis-server with apt-get …");
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0 ? findRedisServer() : null;
}

export class RedisUnavailableError extends Error {}

export async function ensureRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const url = opts.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!opts.forceOwn && (await pingRedis(url))) return { url, owned: false, stop: async () => undefined };

  const bin = findRedisServer() ?? installRedis(log);
  if (!bin) {
    throw new RedisUnavailableError(
      `No Redis answers at ${url} and redis-server is not installed: install it with "sudo apt-get install redis-server" (Debian/Ubuntu) or set REDIS_URL.`,
    );
  }
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'chat-connector-redis-'));
  const port = opts.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--maxmemory-policy',
    'noeviction',
    '--logfile',
    join(dir, 'redis.log'),
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn(bin, args, { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const ownUrl = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await pingRedis(ownUrl, 300))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RedisUnavailableError(`redis-server did not start on port ${port} (see ${join(dir, 'redis.log')}).`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const kill = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  return {
    url: ownUrl,
    owned: true,
    stop: async () => {
      process.removeListener('exit', kill);
      if (!exited) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
        kill();
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

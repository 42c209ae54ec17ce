/**
 * The soak's own Redis: AOF on (`appendfsync everysec`), `noeviction`, in a kept directory
 * on a fixed port, so `restart()` (SHUTDOWN, then a new server on the same dir and port)
 * comes back with everything the AOF holds.
 */
import { Socket } from 'node:net';
import { ensureRedis, freePort, pingRedis, type EmbeddedRedis } from '../src/infra/embedded-redis.ts';
import { sleep } from './prng.ts';

export class SoakRedis {
  private server: EmbeddedRedis | null = null;
  readonly url: string;
  restarts = 0;
  /** When the server last went down (ms since epoch), for attributing outbound repeats. */
  readonly downAt: number[] = [];
  /** When it answered again after each restart (same index as `downAt`). */
  readonly upAt: number[] = [];

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(dir: string): Promise<SoakRedis> {
    const r = new SoakRedis(dir, await freePort());
    await r.up();
    return r;
  }

  private async up(): Promise<void> {
    this.server = await ensureRedis({
      forceOwn: true,
      dir: this.dir,
      port: this.port,
      args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
      log: () => undefined,
    });
  }

  /** `SHUTDOWN` (the server writes its AOF and exits), a pause, then the same dir/port/AOF again. */
  async restart(pauseMs: number): Promise<void> {
    this.downAt.push(Date.now());
    await sendCommand(this.port, 'SHUTDOWN');
    const deadline = Date.now() + 10_000;
    while (await pingRedis(this.url, 200)) {
      if (Date.now() > deadline) throw new Error('Redis did not shut down within 10 s');
      await sleep(50);
    }
    await this.server?.stop();
    await sleep(pauseMs);
    await this.up();
    this.upAt.push(Date.now());
    this.restarts += 1;
  }

  async stop(): Promise<void> {
    await sendCommand(this.port, 'SHUTDOWN NOSAVE').catch(() => undefined);
    await this.server?.stop();
    this.server = null;
  }
}

/** One inline command over a raw socket; resolves when the server answers or closes the connection. */
function sendCommand(port: number, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const done = () => {
      sock.destroy();
      resolve();
    };
    sock.setTimeout(5000, () => {
      sock.destroy();
      reject(new Error(`Redis did not answer ${command}`));
    });
    sock.once('error', done);
    sock.once('close', done);
    sock.once('data', done);
    sock.connect(port, '127.0.0.1', () => sock.write(`${command}\r\n`));
  });
}

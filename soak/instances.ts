/**
 * The two connector instances: `node bin/chat-connector.js start` as child processes, each
 * on its own fixed HTTP port (kept across restarts), logging to a file in the soak's dir.
 * Kill -9, SIGTERM, restart; RSS sampled from /proc/<pid>/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './prng.ts';

export interface InstanceEvent {
  at: number;
  instance: string;
  kind: 'kill9' | 'sigterm' | 'start' | 'exit';
  detail?: string;
}

export class ConnectorInstance {
  private child: ChildProcess | null = null;
  private exited: Promise<number | string> | null = null;
  private log: WriteStream;
  readonly url: string;
  starts = 0;
  peakRssMb = 0;
  lastRssMb = 0;
  /** Exit codes of SIGTERM stops (0 expected). */
  readonly termExits: Array<number | string> = [];

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    dir: string,
    private readonly events: InstanceEvent[],
    /** A copy of the package that trusts the soak's throwaway license key (local-stack `packageCopy()`). */
    private readonly bin: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.log = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
  }

  get pid(): number | null {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? (this.child.pid ?? null) : null;
  }

  get running(): boolean {
    return this.pid !== null;
  }

  /** Starts the process and resolves once it logged "connector started" (or throws after `timeoutMs`). */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [this.bin, 'start'], {
      env: { PATH: process.env.PATH ?? '', ...this.env, HTTP_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts += 1;
    // If the soak itself dies, its children must not outlive it.
    const reap = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    this.events.push({ at: Date.now(), instance: this.name, kind: 'start' });
    let seen = '';
    let onStarted: () => void = () => undefined;
    const started = new Promise<void>((r) => {
      onStarted = r;
    });
    const collect = (d: Buffer) => {
      this.log.write(d);
      if (seen !== 'done') {
        seen += d.toString();
        if (seen.includes('connector started')) {
          seen = 'done';
          onStarted();
        } else if (seen.length > 100_000) seen = seen.slice(-1000);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((r) =>
      child.once('exit', (code, sig) => {
        this.events.push({ at: Date.now(), instance: this.name, kind: 'exit', detail: String(code ?? sig) });
        r(code ?? sig ?? -1);
      }),
    );
    const exitedEarly = this.exited.then((c) => {
      throw new Error(`${this.name} exited (${c}) before it started; see ${this.name}.log`);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${this.name} did not start within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([started, exitedEarly, timeout]);
    } finally {
      clearTimeout(timer);
      exitedEarly.catch(() => undefined);
    }
  }

  /** kill -9; resolves once the process is gone. */
  async kill9(): Promise<void> {
    if (!this.child || !this.running) return;
    this.events.push({ at: Date.now(), instance: this.name, kind: 'kill9' });
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM; resolves with the exit code (a graceful stop exits 0). */
  async terminate(boundMs = 40_000): Promise<number | string> {
    if (!this.child || !this.running) return 'not running';
    this.events.push({ at: Date.now(), instance: this.name, kind: 'sigterm' });
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited as Promise<number | string>, sleep(boundMs).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    this.termExits.push(code);
    return code;
  }

  /** Resident set size in MB from /proc (null when not running). */
  sampleRss(): number | null {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) return null;
      const mb = Number(m[1]) / 1024;
      this.lastRssMb = mb;
      this.peakRssMb = Math.max(this.peakRssMb, mb);
      return mb;
    } catch {
      return null;
    }
  }

  close(): void {
    this.log.end();
  }
}

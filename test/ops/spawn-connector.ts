/** `chat-connector start` as a child process, for the shutdown and several-instances tests. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ConnectorProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves once the process logged "connector started". */
  started: Promise<void>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  output(): string;
}

/** `bin`: the local stack's `packageCopy().bin`, a copy of the package that trusts its throwaway license key. */
export function startConnectorProcess(env: Record<string, string>, bin: string): ConnectorProcess {
  const child = spawn(process.execPath, [bin, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      LOG_LEVEL: 'info',
      HTTP_PORT: '0',
      LANE_LOCK_MS: '1500',
      LANE_SWEEP_MS: '300',
      ONEC_IDLE_FINISH_MS: '300',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((r) => {
    onStarted = r;
  });
  const collect = (d: Buffer) => {
    out += d.toString();
    if (out.includes('connector started')) onStarted();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | string>((r) => child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
  return { child, pid: child.pid ?? -1, started, exited, output: () => out };
}

export async function stopProcess(p: ConnectorProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

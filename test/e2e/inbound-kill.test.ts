/**
 * Worker processes killed with SIGKILL mid-batch while two of them share the chats: the
 * survivors and a restarted worker finish the job with nothing lost, duplicated or
 * reordered in 1C. In pull mode the HTTP process that serves the 1C job is killed too,
 * while the job is draining through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pullPoller, startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

let ts: TestStack | null = null;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await ts?.stop();
  ts = null;
});

function worker(env: Record<string, string>, role = 'inbound'): ChildProcess {
  // A copy of the package that trusts the stack's throwaway license key (never configuration).
  const c = spawn(process.execPath, [ts!.stack.packageCopy().bin, 'worker', role], {
    env: { PATH: process.env.PATH ?? '', HTTP_PORT: '0', ...env, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  c.stderr?.on('data', () => undefined);
  children.push(c);
  return c;
}

function killed(c: ChildProcess): Promise<void> {
  return new Promise((r) => {
    c.once('exit', () => r());
    c.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.each(['push', 'pull'] as const)('inbound under kill -9, ONEC_MODE=%s', (mode) => {
  it('two workers, each killed mid-batch, a third restarted: every message once, in order', async () => {
    // This process only polls Telegram and ingests; delivery happens in the child workers.
    ts = await startTestStack({
      mode,
      poller: false,
      onec: { latency: { perCallMs: 40, perMessageMs: 0.5 } },
      connector: { roles: ['channels'] },
    });
    const { telegram, bots, onec } = ts.stack;
    const chats = Array.from({ length: 12 }, (_, i) => telegram.chat(bots[0].token, { firstName: `K${i}` }));
    const per = 50;
    const total = chats.length * per;
    for (let n = 1; n <= per; n++) for (const c of chats) c.text(`${n}`);
    await until(async () => (await ts!.connector.ctx.inbound.lane.pendingCount()) === total, { what: 'all ingested', timeoutMs: 30_000 });

    // Pull mode: the 1C job drains through an HTTP worker, which is killed while serving.
    const port = mode === 'pull' ? await freePort() : 0;
    const httpEnv = { ...ts.stack.env, HTTP_PORT: String(port) };
    const listening = () =>
      until(
        () =>
          fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false,
          ),
        { what: 'HTTP worker up', timeoutMs: 60_000, intervalMs: 100 },
      );
    const http = mode === 'pull' ? worker(httpEnv, 'http') : null;
    const job = pullPoller(ts.stack, () => ({ url: `http://127.0.0.1:${port}` }), { pageSize: 20, waitS: 1 });
    if (http) {
      await listening();
      job.start();
    }

    const a = worker(ts.stack.env);
    const b = worker(ts.stack.env);
    await until(() => onec.state().messages.stored >= total / 4, { what: 'a quarter stored', timeoutMs: 60_000 });
    if (http) {
      await killed(http);
      worker(httpEnv, 'http');
      await listening();
    }
    await killed(a);
    // The killed worker's chat locks and 1C session permit expire first (a dead process's 1C
    // session lives on for sessionMaxAge, so its permit does too): room for slow machines.
    await until(() => onec.state().messages.stored >= total / 2, { what: 'half stored', timeoutMs: 60_000 });
    await killed(b);
    const storedAtKill = onec.state().messages.stored;
    expect(storedAtKill).toBeLessThan(total);
    worker(ts.stack.env);
    await until(() => onec.state().messages.stored >= total, { what: 'everything stored', timeoutMs: 60_000 });
    await job.stop();

    for (const c of chats) {
      const refs = storedOf(ts.stack, `tg:${bots[0].username}:${c.id}`);
      expect(refs.map((r) => r.seq)).toEqual(Array.from({ length: per }, (_, i) => i + 1));
    }
    expect(onec.state().messages.stored).toBe(total);
    // ONEC_MAX_SESSIONS=1 holds across processes, and across a dead one's orphaned session.
    expect(onec.state().sessions.peakOpen).toBe(mode === 'push' ? 1 : 0);
  }, 180_000);
});

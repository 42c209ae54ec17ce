/**
 * `chat-connector start` under load gets SIGTERM: it exits 0 (within its bound — past it the
 * process exits 1), a new process drains the rest, and 1C holds every message exactly once,
 * per chat in seq order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/infra/local-stack.ts';
import { cleanupPrefix, until } from '../helpers/redis.ts';
import { startConnectorProcess, stopProcess, type ConnectorProcess } from './spawn-connector.ts';

let stack: LocalStack | null = null;
const procs: ConnectorProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await stopProcess(p, 'SIGKILL');
  if (stack) {
    await cleanupPrefix(stack.config.queuePrefix);
    await stack.stop();
  }
  stack = null;
});

describe('graceful shutdown', () => {
  it('SIGTERM under load: exit 0, nothing lost or doubled; the next process drains the rest in order', async () => {
    stack = await startLocalStack({ onec: { latency: { perCallMs: 15, perMessageMs: 1 } } });
    const { telegram, bots, onec } = stack;
    const a = startConnectorProcess(stack.env, stack.packageCopy().bin);
    procs.push(a);
    await a.started;
    const chats = Array.from({ length: 10 }, (_, i) => telegram.chat(bots[0].token, { firstName: `C${i}` }));
    const per = 30;
    const total = chats.length * per;
    // Messages keep arriving while the first process works and when it is told to stop.
    let n = 0;
    const feeder = setInterval(() => {
      if (n < per) {
        n++;
        for (const c of chats) c.text(`m${n}`);
      }
    }, 100);
    try {
      await until(() => onec.state().messages.stored >= total / 5, { what: 'a fifth stored', timeoutMs: 30_000 });
      expect(await stopProcess(a, 'SIGTERM')).toBe(0);
      expect(a.output()).toContain('stopped cleanly');
      expect(onec.state().messages.stored).toBeLessThan(total);
      const b = startConnectorProcess(stack.env, stack.packageCopy().bin);
      procs.push(b);
      await until(() => n >= per && onec.state().messages.stored >= total, { what: 'everything stored', timeoutMs: 40_000 });
      expect(await stopProcess(b, 'SIGTERM')).toBe(0);
    } finally {
      clearInterval(feeder);
    }
    const st = onec.state();
    expect(st.messages.stored).toBe(total);
    for (const c of chats) {
      const refs = st.messages.byChat[`tg:${bots[0].username}:${c.id}`] ?? [];
      expect(refs.map((r) => r.seq)).toEqual(Array.from({ length: per }, (_, i) => i + 1));
    }
    // The first process finished its 1C sessions on the way out; nothing was left open.
    expect(st.sessions.open).toBe(0);
  });
});

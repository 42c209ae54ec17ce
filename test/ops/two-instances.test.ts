/**
 * Two `chat-connector start` processes on one Redis with one bot: exactly one polls (the
 * Bot API sees no 409 and never two pollers at once); kill -9 the poller and the other
 * takes the bot over within 30 s; no message is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/infra/local-stack.ts';
import { cleanupPrefix, newRedis, until } from '../helpers/redis.ts';
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

describe('two instances, one bot', () => {
  it('one poller; kill -9 it and the other polls within 30 s; nothing lost', async () => {
    stack = await startLocalStack();
    const { telegram, bots, onec, config } = stack;
    const bot = bots[0];
    const a = startConnectorProcess(stack.env, stack.packageCopy().bin);
    const b = startConnectorProcess(stack.env, stack.packageCopy().bin);
    procs.push(a, b);
    await Promise.all([a.started, b.started]);
    const c = telegram.chat(bot.token, { firstName: 'Вера' });
    for (let i = 1; i <= 20; i++) c.text(`first ${i}`);
    const key = `tg:${bot.username}:${c.id}`;
    const stored = () => onec.state().messages.byChat[key] ?? [];
    await until(() => stored().length === 20, { what: 'first 20 stored', timeoutMs: 30_000 });

    const redis = newRedis();
    try {
      const leaseKey = `${config.queuePrefix}:lease:account:tg:${bot.id}`;
      const holder = await redis.get(leaseKey);
      expect(holder).not.toBeNull();
      const pollerPid = Number(/-(\d+)#/.exec(holder!)?.[1]);
      const poller = [a, b].find((p) => p.pid === pollerPid);
      const other = [a, b].find((p) => p.pid !== pollerPid)!;
      expect(poller).toBeDefined();
      let st = telegram.stats(bot.token);
      expect(st.conflictsIssued).toBe(0);
      expect(st.maxConcurrentPollers).toBe(1);

      const callsBefore = st.getUpdatesCalls.length;
      expect(await stopProcess(poller!, 'SIGKILL')).toBe('SIGKILL');
      for (let i = 1; i <= 20; i++) c.text(`second ${i}`);
      // The survivor takes the lease and polls within 30 s (lease 15 s + one retry round).
      await until(async () => (await redis.get(leaseKey))?.includes(`-${other.pid}#`), {
        what: 'lease taken over',
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      await until(() => stored().length === 40, { what: 'all 40 stored', timeoutMs: 30_000 });
      st = telegram.stats(bot.token);
      expect(st.getUpdatesCalls.length).toBeGreaterThan(callsBefore);
      expect(st.conflictsIssued).toBe(0);
      expect(st.maxConcurrentPollers).toBe(1);
      expect(stored().map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(await stopProcess(other, 'SIGTERM')).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

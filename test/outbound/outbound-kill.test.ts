import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/redis.ts';
import { startOutbound, type OutboundHarness } from './outbound-helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/outbound-worker.ts', import.meta.url));
const children: ChildProcess[] = [];

/** Starts an outbound-only worker process; resolves once it says `ready`. */
async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, h.stack.keysDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before ready: ${err.slice(0, 500)}`)));
    // A worker that never gets ready fails the test with what it printed, not a bare timeout.
    setTimeout(() => reject(new Error(`worker not ready within 30 s: ${err.slice(0, 1000)}`)), 30_000).unref();
  });
  return child;
}

let h: OutboundHarness;
// This process accepts and ingests (http, inbound, channels) but runs no outbound worker.
// The killed worker's 1C session permit lingers until its hold TTL (a 1C session would too):
// room for three sessions lets the next worker deliver statuses without waiting for it.
beforeAll(async () => {
  h = await startOutbound({ connector: { roles: ['http', 'inbound', 'channels'] }, env: { ONEC_MAX_SESSIONS: '3' } });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.stop();
});

describe('outbound worker killed with SIGKILL mid-stream', () => {
  it('loses nothing and keeps each chat in order; only the message in flight at the kill may repeat', async () => {
    const chats = await Promise.all(['K1', 'K2', 'K3', 'K4'].map((n) => h.customer(n)));
    const perChat = 8;
    const expected = new Map<number, string[]>();
    for (const c of chats) {
      expected.set(c.chat.id, []);
      for (let i = 1; i <= perChat; i++) {
        const text = `${c.chat.id} #${i}`;
        expected.get(c.chat.id)?.push(text);
        const r = await h.api('POST', '/api/v1/messages', { id: `kill-${c.chat.id}-${i}`, chatId: c.key, text });
        expect(r.status).toBe(202);
      }
    }
    const total = chats.length * perChat;
    const first = await startWorker(h.stack.env);
    await until(() => h.stack.telegram.sent(h.token).length >= total / 4, { what: 'a quarter sent' });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const sentAtKill = h.stack.telegram.sent(h.token).length;
    expect(sentAtKill).toBeLessThan(total);

    await startWorker(h.stack.env);
    for (const c of chats) for (let i = 1; i <= perChat; i++) await h.statusOf(`kill-${c.chat.id}-${i}`, ['sent']);

    let repeats = 0;
    for (const c of chats) {
      const got = h.sentTo(c.chat).map((s) => s.text ?? '');
      // At-least-once edge (see outbound-service.ts): a message Telegram accepted whose
      // `sent` was not recorded before the kill is sent again right after itself.
      const collapsed = got.filter((t, i) => i === 0 || t !== got[i - 1]);
      expect(collapsed).toEqual(expected.get(c.chat.id));
      const dup = got.length - collapsed.length;
      expect(dup).toBeLessThanOrEqual(1);
      repeats += dup;
    }
    // At most one message was in flight per chat driver at the kill.
    expect(repeats).toBeLessThanOrEqual(chats.length);
    const ids = chats.flatMap((c) => Array.from({ length: perChat }, (_, i) => `kill-${c.chat.id}-${i + 1}`));
    await until(() => ids.every((id) => h.onecStatuses(id).length === 1), { what: 'statuses at 1C' });
    for (const id of ids) expect(h.onecStatuses(id)).toEqual(['sent']);
  }, 120_000);
});

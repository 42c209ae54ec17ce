/**
 * Issue 11 item 9 — routing events could be lost: a crash between the routing state change
 * in Redis and the append to the routing lane lost the claim/transfer/close event for good
 * (the chat had changed; 1C never heard of it). Now the event is written by the same Lua
 * script as the state change (outbox, routing-scripts.ts).
 *
 * Proof: each action runs in a child process that is SIGKILLed right after the state
 * change (fixtures/routing-actor.ts prints `changed` from `onEvents`, which runs after
 * the script returned and, in the child, nothing kicks the lane). The parent connector's
 * routing lane must still deliver every event to the 1C emulator exactly once, in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/core/index.ts';
import { REDIS_URL, until } from '../helpers/redis.ts';
import { inbound, startOperators, type OperatorsHarness } from '../operators/operators-helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/routing-actor.ts', import.meta.url));
const children: ChildProcess[] = [];
let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Actor {
  /** Acts, and SIGKILLs the child the moment it reports the state change; resolves with the event ids it reported. */
  actAndDie(): Promise<string>;
}

/** Starts a child for one action and waits until it is loaded (it acts only when told). */
async function actor(prefix: string, action: Record<string, unknown>): Promise<Actor> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, REDIS_URL, TEST_PREFIX: prefix, TEST_ACTION: JSON.stringify(action) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const waitFor = (test: (out: string) => string | null) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = test(out);
        if (hit !== null) resolve(hit);
        else if (out.includes('no-event')) reject(new Error(`the action ${JSON.stringify(action)} produced no event`));
      };
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        check();
      });
      child.once('exit', (code, sig) => {
        if (sig !== 'SIGKILL') reject(new Error(`child exited (${code}) before the state change: ${err.slice(0, 500)}`));
      });
      check();
    });
  await waitFor((o) => (o.includes('ready') ? 'ready' : null));
  return {
    async actAndDie() {
      const changed = waitFor((o) => /changed (\S+)\n/.exec(o)?.[1] ?? null);
      child.stdin?.write('go\n');
      const ids = await changed;
      child.kill('SIGKILL');
      await exited;
      return ids;
    },
  };
}

describe('routing events survive a kill -9 right after the state change', () => {
  it('claim, transfer, close and reopen, each in a process killed at once: 1C gets every event exactly once, in order', async () => {
    h = await startOperators();
    const chatId = 'tg:test_bot:800';
    await h.connector.ctx.inbound.ingest([inbound('800', 1, 'Добрый день')]);
    await until(() => h!.stack.onec.storedMessage(`${chatId}:1`), { what: 'the first message in 1C' });

    const second: InboundMessage = { ...inbound('800', 2, 'Ещё вопрос'), seq: 2, route: null };
    const steps: [Record<string, unknown>, string][] = [
      [{ kind: 'claim', chatId, operatorId: 'u-ivanov' }, 'assigned'],
      [{ kind: 'transfer', chatId, group: 'support', comment: 'VIP' }, 'transferred'],
      [{ kind: 'close', chatId }, 'closed'],
      [{ kind: 'route', chatId, message: second }, 'reopened'],
    ];
    // Loading a child is the slow part: all load at once, then act one after the other.
    const actors = await Promise.all(steps.map(([action]) => actor(h!.prefix, action)));
    for (const [i, [, type]] of steps.entries()) {
      const before = (await h.feature.routing.state(chatId))?.updatedAt;
      const ids = await actors[i].actAndDie();
      // The state change happened in the killed process…
      expect((await h.feature.routing.state(chatId))?.updatedAt, type).not.toBe(before);
      expect(ids, type).toMatch(/:routing:\d+$/);
    }
    expect(await h.feature.routing.state(chatId)).toMatchObject({ status: 'queued', group: 'support', previousOwner: 'u-ivanov' });

    // …and its event reaches 1C anyway: the lane's sweep finds it without the kick the child never sent.
    const types = ['queued', 'assigned', 'transferred', 'closed', 'reopened'];
    const events = () => h!.stack.onec.state().routing.events.filter((e) => e.chatId === chatId);
    await until(() => events().length >= types.length, { what: 'every routing event in 1C' });
    await until(async () => (await h!.feature.lane.lane.pendingCount()) === 0, { what: 'the routing lane drained' });
    expect(events().map((e) => e.type)).toEqual(types);
    expect(events().map((e) => e.id)).toEqual(types.map((_, i) => `${chatId}:routing:${i + 1}`));
    expect(events().map((e) => e.actor)).toEqual(['system', 'u-ivanov', 'api', 'api', 'system']);
    expect(h.stack.onec.state().routing.duplicates.count).toBe(0);
  }, 180_000);
});

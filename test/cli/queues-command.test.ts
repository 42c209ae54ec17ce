/**
 * `chat-connector queues …` against a running connector: the failed list shows the rejected
 * message; retrying it puts it back at its own seq (1C receives it as #2 of its chat); bad
 * arguments give one line and exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQueuesCommand } from '../../src/cli/queues-command.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

let ts: TestStack;
let rejecting = true;

beforeAll(async () => {
  ts = await startTestStack({
    onec: {
      rejectWhen: (m) => (rejecting && typeof m.text === 'string' && m.text.includes('#reject-me') ? 'the text is not allowed' : null),
    },
  });
});
afterAll(async () => {
  await ts?.stop();
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runQueuesCommand(args, ts.stack.config, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err };
}

describe('queues CLI', () => {
  it("failed lists the dead letter; retry puts it back at its seq, in its chat's order; stats counts", async () => {
    const { telegram, bots, onec } = ts.stack;
    const c = telegram.chat(bots[0].token, { firstName: 'Анна' });
    c.text('one');
    const bad = c.text('two #reject-me');
    c.text('three');
    const key = `tg:${bots[0].username}:${c.id}`;
    const badId = `${key}:${bad.messageId}`;
    await until(() => storedOf(ts.stack, key).length === 2, { what: 'two stored' });
    await until(async () => (await ts.connector.ctx.inbound.lane.deadQueue.getFailedCount()) === 1, { what: 'dead letter' });

    const failed = await run('failed', 'inbound-dead', '--json');
    expect(failed.code).toBe(0);
    const list = JSON.parse(failed.out) as {
      jobs: Array<{ id: string; chat: string; messageId: string; attempts: number; error: string; at: string }>;
    };
    expect(list.jobs).toHaveLength(1);
    expect(list.jobs[0]).toMatchObject({
      chat: key,
      messageId: badId,
      attempts: 1,
      error: '1C rejected the message: the text is not allowed',
    });
    expect(Date.parse(list.jobs[0].at)).not.toBeNaN();
    const text = await run('failed', 'inbound-dead');
    expect(text.out).toContain(list.jobs[0].id);
    expect(text.out).toContain('the text is not allowed');

    const stats = JSON.parse((await run('stats', '--json')).out) as { queues: Array<{ queue: string; counts: Record<string, number> }> };
    expect(stats.queues.find((q) => q.queue === 'inbound-dead')?.counts.failed).toBe(1);
    expect(stats.queues.map((q) => q.queue)).toEqual(
      expect.arrayContaining(['inbound', 'outbound', 'statuses', 'routing', 'routing-dead']),
    );

    rejecting = false;
    const retried = await run('retry', 'inbound-dead', list.jobs[0].id, '--json');
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.out)).toEqual({ queue: 'inbound-dead', retried: [list.jobs[0].id] });
    await until(() => storedOf(ts.stack, key).length === 3, { what: 'retried message in 1C' });
    expect(onec.storedMessage(badId)?.seq).toBe(2);
    c.text('four');
    await until(() => storedOf(ts.stack, key).length === 4, { what: 'fourth' });
    const refs = storedOf(ts.stack, key);
    expect(refs.map((r) => r.seq)).toEqual([1, 3, 2, 4]);
    expect([...refs].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)).map((r) => r.id)).toEqual([
      `${key}:${bad.messageId - 1}`,
      badId,
      `${key}:${bad.messageId + 1}`,
      `${key}:${bad.messageId + 2}`,
    ]);
    expect((await run('failed', 'inbound-dead', '--json')).out).toContain('"jobs": []');
  });

  it('remove --all drops failed jobs; retry of a missing job fails with one line', async () => {
    rejecting = true;
    const { telegram, bots } = ts.stack;
    const c = telegram.chat(bots[0].token, { firstName: 'Борис' });
    c.text('x #reject-me');
    await until(async () => (await ts.connector.ctx.inbound.lane.deadQueue.getFailedCount()) === 1, { what: 'dead letter' });
    const removed = await run('remove', 'inbound-dead', '--all');
    expect(removed.code).toBe(0);
    expect(removed.out).toBe('Removed 1 job in inbound-dead.');
    expect(await ts.connector.ctx.inbound.lane.deadQueue.getFailedCount()).toBe(0);
    const missing = await run('retry', 'inbound-dead', 'no-such-job');
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual(['queues: No job "no-such-job" in inbound-dead.']);
  });

  it.each([
    [[], 'Name a subcommand'],
    [['purge'], 'Unknown subcommand "purge"'],
    [['failed'], 'needs a queue name'],
    [['retry', 'inbound-dead'], 'needs --all or a job id'],
    [['retry', 'inbound-dead', '--all', 'x'], 'not both'],
    [['failed', 'inbound-dead', '--limit', 'ten'], '--limit needs a whole number'],
    [['stats', '--verbose'], 'Unknown option "--verbose"'],
  ])('bad arguments %j → exit 2 with one line', async (args, msg) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err[0]).toContain(msg);
    expect(r.err[0].split('\n')).toHaveLength(1);
  });

  it('an unknown queue names the queues', async () => {
    const r = await run('failed', 'nope');
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^queues: No queue "nope"; the queues are inbound, inbound-dead, /);
  });
});

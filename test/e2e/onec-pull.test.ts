/**
 * Pull mode (onec-pull.md) end to end: customers write through the emulated Bot API, the
 * lanes hand messages off into the update log, the emulated 1C job fetches and acks.
 * Covers the guarantees a 1C job relies on: order and exactly-once in 1C across a job that
 * crashes between fetch and ack, a long poll woken by another instance, switching modes in
 * both directions mid-traffic, rejected messages through `inbound-dead` and back, cursors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createConnector, type Connector } from '../../src/connector.ts';
import type { SimulatedChat } from '../../src/emulators/telegram/index.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { opsFeature } from '../../src/ops/ops-feature.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { pullPoller, startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

let ts: TestStack | null = null;
const extra: Connector[] = [];
afterEach(async () => {
  for (const c of extra.splice(0)) await c.stop().catch(() => undefined);
  await ts?.stop();
  ts = null;
});

function chatKey(t: TestStack, c: SimulatedChat): string {
  return `tg:${t.stack.bots[0].username}:${c.id}`;
}

function expectComplete(t: TestStack, key: string, n: number): void {
  const refs = storedOf(t.stack, key);
  expect(refs.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(new Set(refs.map((r) => r.id)).size).toBe(n);
}

/** Another connector on the same Redis and emulators, with its own mode and roles. */
async function another(t: TestStack, env: Record<string, string>, roles?: ('http' | 'inbound' | 'channels' | 'outbound')[]) {
  const config = loadConfig({ ...t.stack.env, ...env }, { purpose: 'start', envFile: false });
  const c = await createConnector(config, {
    logger: createLogger({ level: 'silent', format: 'json' }),
    retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }),
    roles,
    trustedKeysDir: t.stack.keysDir, // the stack's throwaway license key, trusted in code only
  });
  extra.push(c);
  await c.start();
  return c;
}

async function api(url: string, token: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('pull mode', () => {
  it('a 1C job that crashes between fetch and ack: every message in 1C once, in seq order; the crashed pages were served again', async () => {
    ts = await startTestStack({ mode: 'pull', poller: { pageSize: 7, crashBeforeAck: ({ pageNo }) => pageNo % 3 === 0 } });
    const { telegram, bots, onec } = ts.stack;
    const chats = Array.from({ length: 10 }, (_, i) => telegram.chat(bots[0].token, { firstName: `П${i}` }));
    const per = 30;
    for (let n = 1; n <= per; n++) for (const c of chats) c.text(`m${n}`);
    await until(() => onec.state().messages.stored >= chats.length * per, { what: 'all stored', timeoutMs: 60_000 });
    for (const c of chats) expectComplete(ts, chatKey(ts, c), per);
    expect(ts.poller!.stats.crashes).toBeGreaterThan(0);
    // The pages of the crashes came again (1C answered duplicate to itself), and 1C was never called.
    expect(onec.state().messages.duplicates.count).toBeGreaterThan(0);
    expect(onec.state().calls.messages).toBe(0);
    // Once all is acknowledged, nothing waits.
    await until(async () => (await ts!.connector.ctx.updateLog.stats()).waiting === 0, { what: 'log empty' });
  });

  it('a job that asks for the next page while it stores (prefetch) and crashes: still every message once, in seq order', async () => {
    ts = await startTestStack({
      mode: 'pull',
      poller: { pageSize: 5, prefetch: true, crashBeforeAck: ({ pageNo }) => pageNo % 4 === 0 },
    });
    const { telegram, bots, onec } = ts.stack;
    const chats = Array.from({ length: 6 }, (_, i) => telegram.chat(bots[0].token, { firstName: `P${i}` }));
    const per = 20;
    for (let n = 1; n <= per; n++) for (const c of chats) c.text(`m${n}`);
    await until(() => onec.state().messages.stored >= chats.length * per, { what: 'all stored', timeoutMs: 60_000 });
    for (const c of chats) expectComplete(ts, chatKey(ts, c), per);
    expect(ts.poller!.stats.crashes).toBeGreaterThan(0);
    await until(async () => (await ts!.connector.ctx.updateLog.stats()).waiting === 0, { what: 'log empty' });
  });

  it('a long poll on one instance wakes on an update another instance stored', async () => {
    // This instance only serves HTTP; the other one polls Telegram and hands off.
    ts = await startTestStack({ mode: 'pull', poller: false, connector: { roles: ['http'] } });
    await another(ts, { ONEC_MODE: 'pull' }, ['channels', 'inbound']);
    const { telegram, bots } = ts.stack;
    const token = ts.stack.env.API_TOKEN;
    const first = await api(ts.connector.url!, token, '/api/v1/onec/updates?wait=0');
    // Waits up to 30 s; without a wake from the other instance it would answer with no update.
    const waiting = api(ts.connector.url!, token, `/api/v1/onec/updates?wait=30&after=${String(first.json.next)}`);
    const c = telegram.chat(bots[0].token, { firstName: 'Вера' });
    c.text('разбудите');
    const page = await waiting;
    expect(page.status).toBe(200);
    const updates = page.json.updates as { type: string; message: { text: string; seq: number; chatId: string } }[];
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ type: 'message', message: { text: 'разбудите', seq: 1, chatId: chatKey(ts, c) } });
  });

  it('switching push → pull → push mid-traffic loses and repeats nothing in 1C', async () => {
    ts = await startTestStack({ mode: 'push' });
    const { telegram, bots, onec } = ts.stack;
    const chats = Array.from({ length: 6 }, (_, i) => telegram.chat(bots[0].token, { firstName: `S${i}` }));
    const write = (from: number, to: number) => {
      for (let n = from; n <= to; n++) for (const c of chats) c.text(`m${n}`);
    };
    write(1, 5);
    await until(() => onec.state().messages.stored >= 30, { what: 'push delivered the first round' });
    // 1C goes down: push leaves the next round pending in the lanes.
    onec.outage({ mode: '503' });
    write(6, 10);
    await until(async () => (await ts!.connector.ctx.inbound.lane.pendingCount()) === 30, { what: 'second round pending' });
    await ts.connector.stop();
    onec.clearOutage();

    // Pull: what push had not delivered is served to the job; new traffic follows it.
    const pull = await another(ts, { ONEC_MODE: 'pull' });
    const job = pullPoller(ts.stack, () => pull, { pageSize: 10 });
    job.start();
    write(11, 15);
    await until(() => onec.state().messages.stored >= 90, { what: 'pull delivered rounds 2 and 3' });
    // The job stops; the next round stays unacknowledged in the update log.
    await job.stop();
    write(16, 20);
    await until(async () => (await pull.ctx.updateLog.stats()).waiting >= 30, { what: 'round 4 waits in the log' });
    await pull.stop();

    // Push again: the drainer pushes what the job had not acknowledged, then the lanes go on.
    const push = await another(ts, { ONEC_MODE: 'push' });
    write(21, 25);
    await until(() => onec.state().messages.stored >= 150, { what: 'everything in 1C' });
    for (const c of chats) expectComplete(ts, chatKey(ts, c), 25);
    expect((await push.ctx.updateLog.stats()).waiting).toBe(0);
    // Only a delivery interrupted by the stops may repeat, and 1C answers those duplicate.
    expect(onec.state().messages.stored).toBe(150);
  });

  it('a message 1C rejects in its ack goes to inbound-dead with the reason; a retry serves it again at its seq', async () => {
    ts = await startTestStack({ mode: 'pull' });
    const { telegram, bots, onec } = ts.stack;
    const c = telegram.chat(bots[0].token, { firstName: 'Ольга' });
    c.text('one');
    const bad = c.text('bad #reject-me');
    c.text('three');
    const key = chatKey(ts, c);
    await until(() => storedOf(ts!.stack, key).length === 2, { what: 'two stored' });
    expect(storedOf(ts.stack, key).map((r) => r.seq)).toEqual([1, 3]);
    const dead = ts.connector.ctx.inbound.lane.deadQueue;
    await until(async () => (await dead.getFailedCount()) === 1, { what: 'parked' });
    const [job] = await dead.getFailed();
    expect(job.failedReason).toBe('1C rejected the message: rejected by the emulator rule (#reject-me)');
    expect(job.data).toMatchObject({ key, seq: 2, id: `${key}:${bad.messageId}` });

    await job.retry();
    // Served again (the job stores it again, and the emulator's rule rejects it again).
    await until(() => onec.state().messages.rejected.length === 2, { what: 'served again' });
    await until(async () => (await dead.getFailedCount()) === 1 && (await dead.getFailed())[0].id !== job.id, {
      what: 'parked again as a new round',
    });
  });

  it('cursors: malformed or unknown → 400 invalid_cursor; an older cursor acknowledges 0; after= continues', async () => {
    ts = await startTestStack({ mode: 'pull', poller: false });
    const { telegram, bots } = ts.stack;
    const url = ts.connector.url!;
    const token = ts.stack.env.API_TOKEN;
    const c = telegram.chat(bots[0].token, { firstName: 'К' });
    for (let i = 1; i <= 4; i++) c.text(`m${i}`);
    await until(async () => (await ts!.connector.ctx.updateLog.stats()).waiting === 4, { what: 'four waiting' });

    for (const bad of ['nonsense', '00000000-000000000000000', 'zzzzzzzz-zzzzzzzzzzzzzz']) {
      const r = await api(url, token, `/api/v1/onec/updates?wait=0&after=${bad}`);
      expect(r.status).toBe(400);
      expect((r.json.error as { code: string }).code).toBe('invalid_cursor');
    }
    expect((await api(url, token, '/api/v1/onec/ack', { cursor: 'nonsense' })).status).toBe(400);
    const limit = await api(url, token, '/api/v1/onec/updates?limit=501');
    expect(limit.status).toBe(400);
    expect((limit.json.error as { code: string }).code).toBe('invalid_request');

    const p1 = await api(url, token, '/api/v1/onec/updates?limit=2&wait=0');
    const u1 = p1.json.updates as { cursor: string; message: { seq: number } }[];
    expect(u1.map((u) => u.message.seq)).toEqual([1, 2]);
    expect(u1[0].cursor < u1[1].cursor).toBe(true);
    expect(p1.json.next).toBe(u1[1].cursor);
    const p2 = await api(url, token, `/api/v1/onec/updates?limit=10&wait=0&after=${u1[1].cursor}`);
    expect((p2.json.updates as { message: { seq: number } }[]).map((u) => u.message.seq)).toEqual([3, 4]);

    expect((await api(url, token, '/api/v1/onec/ack', { cursor: u1[1].cursor })).json).toEqual({ acknowledged: 2 });
    expect((await api(url, token, '/api/v1/onec/ack', { cursor: u1[0].cursor })).json).toEqual({ acknowledged: 0 });
    expect((await api(url, token, '/api/v1/onec/ack', { cursor: u1[1].cursor })).json).toEqual({ acknowledged: 0 });
    // Without after: from the oldest unacknowledged; an old cursor reads after the pointer too.
    const p3 = await api(url, token, '/api/v1/onec/updates?wait=0');
    expect((p3.json.updates as { message: { seq: number } }[]).map((u) => u.message.seq)).toEqual([3, 4]);
    const p4 = await api(url, token, `/api/v1/onec/updates?wait=0&after=${u1[0].cursor}`);
    expect((p4.json.updates as { message: { seq: number } }[]).map((u) => u.message.seq)).toEqual([3, 4]);
    // An empty page answers `after` itself as next.
    const last = String(p3.json.next);
    const p5 = await api(url, token, `/api/v1/onec/updates?wait=0&after=${last}`);
    expect(p5.json).toEqual({ updates: [], next: last });
    // No token, no updates.
    expect((await fetch(`${url}/api/v1/onec/updates?wait=0`)).status).toBe(401);
  });

  it('/readyz says (without failing) that 1C has not polled for ONEC_PULL_STALE_S', async () => {
    ts = await startTestStack({
      mode: 'pull',
      poller: false,
      bots: [],
      env: { ONEC_PULL_STALE_S: '1' },
      connector: { features: [opsFeature({ processMetrics: false })] },
    });
    const url = ts.connector.url!;
    type Ready = { ready: boolean; checks: { name: string; ok: boolean; advisory?: boolean; detail: string }[] };
    const readyz = async () => {
      const r = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${ts!.stack.env.API_TOKEN}` } }); // details need the token
      return { status: r.status, body: (await r.json()) as Ready };
    };
    // Ready (the bot's account opens) while 1C has never polled: the note does not fail readiness.
    const never = await until(
      async () => {
        const r = await readyz();
        return r.status === 200 ? r : null;
      },
      { what: 'ready' },
    );
    expect(never.body.checks.find((c) => c.name === 'onec_pull')).toMatchObject({ ok: false, advisory: true });
    expect(never.body.checks.find((c) => c.name === 'onec_pull')?.detail).toMatch(/has not polled/);

    await api(url, ts.stack.env.API_TOKEN, '/api/v1/onec/updates?wait=0');
    expect((await readyz()).body.checks.find((c) => c.name === 'onec_pull')).toMatchObject({ ok: true });
    const stale = await until(
      async () => {
        const r = await readyz();
        return r.body.checks.find((c) => c.name === 'onec_pull' && !c.ok) ? r : null;
      },
      { what: 'stale after 1 s', timeoutMs: 5_000, intervalMs: 200 },
    );
    expect(stale.status).toBe(200);
    expect(stale.body.checks.find((c) => c.name === 'onec_pull')?.detail).toMatch(/has not polled for .*ONEC_PULL_STALE_S=1/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^chat_connector_onec_pull_updates_waiting 0$/m);
    expect(metrics).toMatch(/^chat_connector_onec_pull_oldest_update_age_seconds 0$/m);
    expect(metrics).toMatch(/^chat_connector_onec_pull_seconds_since_last_poll [1-9]/m);
  });
});

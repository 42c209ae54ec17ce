/**
 * The operations feature in a running connector: the dashboard behind HTTP Basic (and absent
 * without ADMIN_*), and a /metrics scrape parsed strictly, with the values a scripted run
 * must produce.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.ts';
import { opsFeature } from '../../src/ops/ops-feature.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';
import { parsePromText, valueOf } from './prom-text.ts';

let ts: TestStack | null = null;
afterEach(async () => {
  await ts?.stop();
  ts = null;
});

const ADMIN = { ADMIN_USER: 'ops-admin', ADMIN_PASSWORD: 'Adm1n-pass-for-tests' };
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('ops feature', () => {
  it("dashboard: 401 without or with a wrong login, 200 with it; every queue listed; failed job readable and secret-free; /metrics parses with the run's values", async () => {
    ts = await startTestStack({ env: ADMIN, connector: { features: [opsFeature({ refreshMs: 0 })] }, start: false });
    const { telegram, bots, onec, config } = ts.stack;
    onec.refuseLicenses(1);
    await ts.connector.start();
    const url = ts.connector.url!;
    const c = telegram.chat(bots[0].token, { firstName: 'Пётр' });
    c.text('one');
    c.text('bad #reject-me');
    c.text('three');
    const key = `tg:${bots[0].username}:${c.id}`;
    await until(() => storedOf(ts!.stack, key).length === 2, { what: 'two stored' });
    const dead = ts.connector.ctx.inbound.lane.deadQueue;
    await until(async () => (await dead.getFailedCount()) === 1, { what: 'dead letter parked' });

    // --- dashboard auth
    const none = await fetch(`${url}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const wrong = await fetch(`${url}/admin/queues`, { headers: { authorization: basic(ADMIN.ADMIN_USER, 'nope') } });
    expect(wrong.status).toBe(401);
    const wrongUser = await fetch(`${url}/admin/queues`, { headers: { authorization: basic('root', ADMIN.ADMIN_PASSWORD) } });
    expect(wrongUser.status).toBe(401);
    const auth = { authorization: basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD) };
    const page = await fetch(`${url}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    // The API token does not open the dashboard.
    const bearer = await fetch(`${url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${config.apiToken}` } });
    expect(bearer.status).toBe(401);

    const api = await fetch(`${url}/admin/queues/api/queues?activeQueue=inbound-dead&status=failed&page=1`, { headers: auth });
    expect(api.status).toBe(200);
    const body = await api.text();
    const list = JSON.parse(body) as {
      queues: Array<{ name: string; jobs: Array<{ name: string; data: Record<string, unknown>; failedReason: string }> }>;
    };
    const names = list.queues.map((q) => q.name);
    for (const q of ['inbound', 'inbound-dead', 'outbound', 'outbound-dead', 'statuses', 'statuses-dead', 'routing', 'routing-dead'])
      expect(names).toContain(q);
    const deadQ = list.queues.find((q) => q.name === 'inbound-dead')!;
    expect(deadQ.jobs).toHaveLength(1);
    const nativeId = c.id;
    expect(deadQ.jobs[0].name).toMatch(new RegExp(`^telegram ${bots[0].username} chat ${nativeId} · message \\d+ · #2$`));
    expect(deadQ.jobs[0].data).toMatchObject({ key, seq: 2 });
    expect(deadQ.jobs[0].failedReason).toContain('#reject-me');
    for (const secret of [config.apiToken!, bots[0].token, config.onec.password, ADMIN.ADMIN_PASSWORD]) expect(body).not.toContain(secret);

    // --- metrics: public, strict text format, values of this run
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const fams = parsePromText(text);
    const v = (n: string, l: Record<string, string> = {}) => valueOf(fams, n, l);
    expect(v('chat_connector_messages_total', { direction: 'in', channel: 'telegram' })).toBe(2);
    expect(v('chat_connector_inbound_lag_seconds_count', { channel: 'telegram' })).toBe(2);
    expect(v('chat_connector_queue_jobs', { queue: 'inbound-dead', state: 'failed' })).toBe(1);
    expect(v('chat_connector_queue_jobs', { queue: 'outbound', state: 'waiting' })).toBe(0);
    expect(
      v('chat_connector_dead_letters', { lane: 'inbound', reason: '1C rejected the message: rejected by the emulator rule (#reject-me)' }),
    ).toBe(1);
    expect(v('chat_connector_lane_oldest_pending_age_seconds', { lane: 'inbound' })).toBe(0);
    expect(v('chat_connector_lane_pending_chats', { lane: 'inbound' })).toBe(0);
    expect(v('chat_connector_onec_license_refusals_total')).toBe(1);
    expect(v('chat_connector_license_seats', { feature: '48', kind: 'total' })).toBe(10);
    expect(v('chat_connector_license_seats', { feature: '49', kind: 'used' })).toBe(0);
    expect(v('chat_connector_license_feature_state', { feature: '42', state: 'granted' })).toBe(1);
    expect(v('chat_connector_license_feature_state', { feature: '42', state: 'missing' })).toBe(0);
    expect(v('chat_connector_chat_module_licensed')).toBe(1);
    expect(v('chat_connector_accounts', { channel: 'telegram', state: 'open' })).toBe(1);
    expect(fams.get('chat_connector_onec_sessions_open')?.type).toBe('gauge');
    // Every 1C POST /messages the emulator saw was timed, under its outcome.
    const calls = fams.get('chat_connector_onec_call_duration_seconds')!;
    expect(calls.type).toBe('histogram');
    const timedMessages = calls.samples
      .filter((s) => s.name.endsWith('_count') && s.labels.endpoint === 'messages')
      .reduce((n, s) => n + s.value, 0);
    expect(timedMessages).toBe(onec.state().calls.messages);
    expect(v('chat_connector_onec_call_duration_seconds_count', { endpoint: 'messages', outcome: 'ok' })).toBeGreaterThan(0);
    for (const secret of [config.apiToken!, bots[0].token, config.onec.password, ADMIN.ADMIN_PASSWORD]) expect(text).not.toContain(secret);
  });

  it('no ADMIN_USER/ADMIN_PASSWORD: no dashboard route at all, and the log says so; /metrics still answers', async () => {
    const lines: string[] = [];
    const dest = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    ts = await startTestStack({
      connector: { features: [opsFeature()], logger: createLogger({ level: 'info', format: 'json', destination: dest }) },
    });
    const url = ts.connector.url!;
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const r = await fetch(`${url}${path}`, { headers: { authorization: basic('x', 'y') } });
      expect(r.status).toBe(404);
    }
    expect(lines.join('')).toContain('queue dashboard is off');
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });
});

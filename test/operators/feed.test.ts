/**
 * The operator feed over real HTTP (SSE): who gets which events, resume with
 * Last-Event-ID after a dropped connection without gaps or repeats, heartbeats, the end of
 * the feed at logout, and each feed's Redis connection closed when the client goes away.
 */
import { request, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers/redis.ts';
import { errorOf, inbound, IVANOV, PETROVA, startOperators, type OperatorsHarness } from './operators-helpers.ts';

let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

interface SseEvent {
  id: string | null;
  event: string;
  data: unknown;
}

interface FeedClient {
  events: SseEvent[];
  raw: string;
  status: number;
  ended: boolean;
  waitFor(n: number): Promise<SseEvent[]>;
  close(): void;
}

function openFeed(base: string, token: string, lastEventId?: string): Promise<FeedClient> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const req: ClientRequest = request(new URL('/api/v1/operators/feed', base), { headers });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      const c: FeedClient = {
        events: [],
        raw: '',
        status: res.statusCode ?? 0,
        ended: false,
        waitFor: (n) => until(() => (c.events.length >= n ? c.events.slice(0, n) : null), { what: `${n} feed events`, timeoutMs: 5_000 }),
        close: () => req.destroy(),
      };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        c.raw += chunk;
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split('\n').filter((l) => !l.startsWith(':'));
          const get = (k: string) => lines.find((l) => l.startsWith(`${k}: `))?.slice(k.length + 2);
          const data = get('data');
          if (data === undefined) continue;
          c.events.push({ id: get('id') ?? null, event: get('event') ?? 'message', data: JSON.parse(data) });
        }
      });
      res.on('end', () => {
        c.ended = true;
      });
      res.on('error', () => undefined);
      resolve(c);
    });
    req.on('error', reject);
    req.end();
  });
}

const status = (n: number) => ({ id: `out-${n}`, status: 'sent' as const, at: new Date().toISOString() });

describe('operator feed', () => {
  it('resumes after a dropped connection from Last-Event-ID: no gaps, no repeats', async () => {
    h = await startOperators();
    const { token } = (await h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV })).json<{ token: string }>();
    const base = h.connector.url as string;
    const bus = h.connector.ctx.bus;
    const emit = (n: number) => bus.emit('outbound.status', { event: status(n), chatId: 'tg:test_bot:1', operatorId: 'u-ivanov' });

    const a = await openFeed(base, token);
    expect(a.status).toBe(200);
    for (const n of [1, 2, 3]) await emit(n);
    const first = await a.waitFor(3);
    expect(first.map((e) => [e.event, (e.data as { id: string }).id])).toEqual([
      ['status', 'out-1'],
      ['status', 'out-2'],
      ['status', 'out-3'],
    ]);
    a.close();
    await until(() => h!.feature.feed.openFeeds === 0, { what: 'the server to close the dropped feed' });

    // While disconnected.
    for (const n of [4, 5]) await emit(n);
    const b = await openFeed(base, token, first[2].id as string);
    await emit(6);
    const resumed = await b.waitFor(3);
    expect(resumed.map((e) => (e.data as { id: string }).id)).toEqual(['out-4', 'out-5', 'out-6']);
    // Ids are increasing stream ids, and the first three are not repeated.
    const ids = [...first, ...resumed].map((e) => e.id as string);
    expect(new Set(ids).size).toBe(6);
    expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true);
    b.close();

    // Resuming from an earlier id gives everything after it, once.
    const c = await openFeed(base, token, first[0].id as string);
    expect((await c.waitFor(5)).map((e) => (e.data as { id: string }).id)).toEqual(['out-2', 'out-3', 'out-4', 'out-5', 'out-6']);
    c.close();
    await until(() => h!.feature.feed.openFeeds === 0, { what: 'all feeds closed' });
  });

  it("messages and routing reach the operators of the chat's group, then only the owner; statuses only the sender", async () => {
    h = await startOperators();
    await h.app.inject({
      method: 'PUT',
      url: '/api/v1/routing/rules',
      headers: { authorization: `Bearer ${h.apiToken}` },
      payload: { rules: [{ keywords: ['заказ'], group: 'sales' }] },
    });
    const iv = (await h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV })).json<{ token: string }>();
    const pe = (await h.login({ workstationUser: 'CORP\\petrova', client: '1c', ...PETROVA })).json<{ token: string }>();
    const base = h.connector.url as string;
    const fi = await openFeed(base, iv.token);
    const fp = await openFeed(base, pe.token);

    await h.connector.ctx.inbound.ingest([inbound('700', 1, 'Где мой заказ?')]);
    const got = await fi.waitFor(2);
    expect(got.map((e) => e.event)).toEqual(['routing', 'message']);
    expect(got[0].data).toMatchObject({ chatId: 'tg:test_bot:700', type: 'queued', group: 'sales' });
    expect(got[1].data).toMatchObject({ id: 'tg:test_bot:700:1', route: { status: 'queued', group: 'sales' } });

    await h.connector.ctx.bus.emit('outbound.accepted', {
      message: {
        id: 'o-1',
        chatId: 'tg:test_bot:700',
        text: 'Сейчас проверю',
        media: [],
        replyTo: null,
        operatorId: 'u-ivanov',
        createdAt: new Date().toISOString(),
      },
    });
    await h.connector.ctx.bus.emit('outbound.status', { event: status(1), chatId: 'tg:test_bot:700', operatorId: 'u-ivanov' });
    await h.connector.ctx.inbound.ingest([inbound('700', 2, 'Спасибо')]);
    const more = await fi.waitFor(5);
    expect(more.slice(2).map((e) => e.event)).toEqual(['routing', 'status', 'message']);
    expect(more[2].data).toMatchObject({ type: 'assigned', operatorId: 'u-ivanov' });
    expect(more[4].data).toMatchObject({ id: 'tg:test_bot:700:2', route: { status: 'assigned', operatorId: 'u-ivanov' } });

    // Petrova (support) saw none of it.
    const stream = await h.connector.ctx.redis.xrange(h.feature.feed.key('u-petrova'), '-', '+');
    expect(stream).toHaveLength(0);
    expect(fp.events).toHaveLength(0);
    fi.close();
    fp.close();
  });

  it('heartbeat comments while idle; the feed ends at logout; bad Last-Event-ID and missing token are refused', async () => {
    h = await startOperators({ feature: { feedHeartbeatMs: 100 } });
    const { token } = (await h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV })).json<{ token: string }>();
    const base = h.connector.url as string;
    const f = await openFeed(base, token);
    await until(() => f.raw.includes(': heartbeat\n\n'), { what: 'a heartbeat comment' });
    const out = await h.app.inject({ method: 'POST', url: '/api/v1/operators/logout', headers: { authorization: `Bearer ${token}` } });
    expect(out.statusCode).toBe(200);
    await until(() => f.ended, { what: 'the feed to end after logout' });
    expect(f.events.map((e) => e.event)).toEqual(['logout']);
    await until(() => h!.feature.feed.openFeeds === 0, { what: 'the feed closed on the server' });

    const noToken = await h.app.inject({ method: 'GET', url: '/api/v1/operators/feed' });
    expect(noToken.statusCode).toBe(401);
    expect(errorOf(noToken).code).toBe('invalid_operator_token');
    const again = (await h.login({ workstationUser: 'CORP\\ivanov', client: '1c', ...IVANOV })).json<{ token: string }>();
    const bad = await h.app.inject({
      method: 'GET',
      url: '/api/v1/operators/feed',
      headers: { authorization: `Bearer ${again.token}`, 'last-event-id': 'yesterday' },
    });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).message).toMatch(/^Header "Last-Event-ID" must be/);
  });
});

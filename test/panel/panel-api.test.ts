/**
 * The connector side of the operator panel: the bounded per-chat history, operator-token
 * outbound (ownership, operatorId from the token, idempotent ids) and the chat media route.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { observed } from '../../src/features/feature-contract.ts';
import { operatorsFeature } from '../../src/operators/operators-feature.ts';
import { outboundFeature } from '../../src/outbound/outbound-feature.ts';
import { panelFeature, type PanelFeature } from '../../src/panel/panel-feature.ts';
import { until } from '../helpers/redis.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';

let ts: TestStack | null = null;
afterEach(async () => {
  await ts?.stop();
  ts = null;
});

type Item = {
  id: string;
  dir: string;
  status?: { status: string };
  message?: { operatorId?: string; text?: string; media?: { id: string }[] };
};

async function setup(env: Record<string, string> = {}) {
  let panel!: PanelFeature;
  ts = await startTestStack({
    env: { PANEL_HISTORY_MAX: '4', PANEL_HISTORY_DAYS: '2', ...env },
    connector: {
      features: [
        operatorsFeature({ defaultGroup: 'sales', laneSweepIntervalMs: 500 }),
        outboundFeature(),
        observed(panelFeature(), (f) => {
          panel = f;
        }),
      ],
    },
  });
  const app = ts.connector.app as FastifyInstance;
  const login = async (body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/operators/login', payload: { client: 'panel', ...body } });
    expect(res.statusCode).toBe(200);
    return res.json<{ token: string }>().token;
  };
  const history = async (token: string, chatId: string, q = '') =>
    app.inject({
      method: 'GET',
      url: `/api/v1/chats/${encodeURIComponent(chatId)}/messages${q}`,
      headers: { authorization: `Bearer ${token}` },
    });
  return { app, login, history, panel: () => panel, stack: ts.stack };
}

describe('panel API', () => {
  it('history is bounded, pages backwards, carries statuses and routing; operators write only to their chats', async () => {
    const { app, login, history, stack } = await setup();
    const ivanov = await login({ workstationUser: 'CORP\\ivanov', login: 'Иванов', password: 'пароль1' });
    const sidorov = await login({ workstationUser: 'CORP\\sidorov', pin: '4321' });
    const petrova = await login({ workstationUser: 'CORP\\petrova', pin: '5678' });
    const token = stack.bots[0].token;
    const c = stack.telegram.chat(token, { firstName: 'Олег' });
    const chatId = `tg:${stack.bots[0].username}:${c.id}`;
    c.text('раз');
    await until(() => storedOf(stack, chatId).length === 1, { what: 'the first message in 1C' });

    // Another group's operator may neither read nor write it.
    const denied = await history(petrova, chatId);
    expect(denied.statusCode).toBe(403);
    expect(denied.json<{ error: { code: string } }>().error.code).toBe('not_chat_owner');
    const body = { id: 'panel-msg-1', chatId, text: 'Здравствуйте, Олег!', operatorId: 'u-petrova' };
    const post = (tok: string, b: Record<string, unknown> = body) =>
      app.inject({ method: 'POST', url: '/api/v1/messages', headers: { authorization: `Bearer ${tok}` }, payload: b });
    expect((await post(petrova)).statusCode).toBe(403);
    expect((await post('not-a-token')).statusCode).toBe(401);

    // Иванов replies (taking the queued chat); the body's operatorId is ignored; a retry is the same message.
    const [first, again] = await Promise.all([post(ivanov), post(ivanov)]);
    expect([first.statusCode, again.statusCode].sort()).toEqual([200, 202]);
    const state = await app.inject({
      method: 'GET',
      url: `/api/v1/chats/${encodeURIComponent(chatId)}`,
      headers: { authorization: `Bearer ${ivanov}` },
    });
    expect(state.json()).toMatchObject({ status: 'assigned', owner: 'u-ivanov' });
    await until(() => stack.telegram.sent(token, c.id).length >= 1, { what: 'the reply sent' });
    expect(stack.telegram.sent(token, c.id)).toHaveLength(1);
    // Сидоров (same group) can no longer write: the chat is Иванов's now.
    expect((await post(sidorov, { ...body, id: 'panel-msg-2' })).statusCode).toBe(403);

    await until(
      async () => {
        const items = ((await history(ivanov, chatId)).json<{ items: Item[] }>().items ?? []).filter((i) => i.id === 'panel-msg-1');
        return items[0]?.status?.status === 'sent';
      },
      { what: 'the sent status in the history' },
    );
    const h1 = (await history(ivanov, chatId)).json<{ items: Item[]; before: string | null }>();
    expect(h1.items.map((i) => i.dir)).toEqual(['in', 'routing', 'out', 'routing']);
    expect(h1.items.find((i) => i.dir === 'out')?.message?.operatorId).toBe('u-ivanov');

    // More messages: at most PANEL_HISTORY_MAX (4) are kept; pages go backwards.
    c.text('два');
    c.text('три');
    c.photo({ caption: 'фото' });
    await until(() => storedOf(stack, chatId).length === 4, { what: 'all four in 1C' });
    await until(async () => (await history(ivanov, chatId)).json<{ items: Item[] }>().items.at(-1)?.message?.text === 'фото', {
      what: 'the photo in the history',
    });
    const all = (await history(ivanov, chatId)).json<{ items: Item[]; before: string | null }>();
    expect(all.items).toHaveLength(4);
    expect(all.items.map((i) => i.message?.text ?? i.dir)).toEqual(['routing', 'два', 'три', 'фото']);
    const newest2 = (await history(ivanov, chatId, '?limit=2')).json<{ items: Item[]; before: string }>();
    expect(newest2.items.map((i) => i.message?.text)).toEqual(['три', 'фото']);
    const older = (await history(ivanov, chatId, `?limit=2&before=${encodeURIComponent(newest2.before)}`)).json<{
      items: Item[];
      before: string | null;
    }>();
    expect(older.items.map((i) => i.message?.text ?? i.dir)).toEqual(['routing', 'два']);
    expect(older.before).toBeNull();
    const ttl = await ts!.connector.ctx.redis.ttl(`${ts!.stack.config.queuePrefix}:panel:h:${chatId}`);
    expect(ttl).toBeGreaterThan(86_400);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400);

    // The photo through the chat's media route, with the operator token; not through another chat.
    const photoId = all.items.at(-1)?.message?.media?.[0]?.id as string;
    const media = await app.inject({
      method: 'GET',
      url: `/api/v1/chats/${encodeURIComponent(chatId)}/media/${photoId}`,
      headers: { authorization: `Bearer ${ivanov}` },
    });
    expect(media.statusCode).toBe(200);
    expect(media.rawPayload.length).toBeGreaterThan(0);
    const other = stack.telegram.chat(token, { firstName: 'Иной' });
    other.text('привет');
    const otherId = `tg:${stack.bots[0].username}:${other.id}`;
    await until(() => storedOf(stack, otherId).length === 1, { what: 'the other chat in 1C' });
    const wrong = await app.inject({
      method: 'GET',
      url: `/api/v1/chats/${encodeURIComponent(otherId)}/media/${photoId}`,
      headers: { authorization: `Bearer ${ivanov}` },
    });
    expect(wrong.statusCode).toBe(404);

    // A send that fails shows its reason in the history (the customer blocked the bot).
    stack.telegram.setBlocked(token, c.id);
    expect((await post(ivanov, { id: 'panel-msg-3', chatId, text: 'Вы здесь?' })).statusCode).toBe(202);
    const failed = await until(
      async () => {
        const items = (await history(ivanov, chatId)).json<{ items: (Item & { status?: { status: string; error?: string } })[] }>().items;
        const it = items.find((i) => i.id === 'panel-msg-3');
        return it?.status?.status === 'failed' ? it.status : null;
      },
      { what: 'the failed status in the history' },
    );
    expect(failed.error).toBeTruthy();

    // The list after a (re)login: my chats and my groups' queued chats, with the last message.
    const list = async (tok: string) =>
      (await app.inject({ method: 'GET', url: '/api/v1/panel/chats', headers: { authorization: `Bearer ${tok}` } })).json<{
        chats: { chatId: string; status: string; last: Item | null }[];
      }>().chats;
    const ivanovList = await list(ivanov);
    expect(ivanovList.map((x) => [x.chatId, x.status])).toEqual([
      [chatId, 'assigned'],
      [otherId, 'queued'],
    ]);
    expect(ivanovList[0].last?.message?.text).toBe('Вы здесь?');
    expect((await list(sidorov)).map((x) => x.chatId)).toEqual([otherId]);
    expect(await list(petrova)).toEqual([]);
  });

  it('the page: ETag and 304, a strict CSP; the proxy header names the workstation user', async () => {
    const { app } = await setup({ PANEL_USER_HEADER: 'X-Remote-User' });
    const page = await app.inject({ method: 'GET', url: '/panel' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const etag = page.headers.etag as string;
    expect((await app.inject({ method: 'GET', url: '/panel', headers: { 'if-none-match': etag } })).statusCode).toBe(304);
    expect((await app.inject({ method: 'GET', url: '/panel/panel.js' })).headers['content-type']).toContain('javascript');
    expect((await app.inject({ method: 'GET', url: '/panel/..%2Fpanel-feature.ts' })).statusCode).toBe(404);
    const who = await app.inject({ method: 'GET', url: '/panel/session.json', headers: { 'x-remote-user': 'CORP\\sso-user' } });
    expect(who.json()).toEqual({ workstationUser: 'CORP\\sso-user', fromProxy: true });
    // The login takes the proxy's user, whatever the body says.
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/operators/login',
      headers: { 'x-remote-user': 'CORP\\sso-user' },
      payload: { client: 'panel', workstationUser: 'CORP\\someone-else', pin: '1234' },
    });
    expect(res.statusCode).toBe(200);
    const report = await app.inject({
      method: 'GET',
      url: '/api/v1/licenses',
      headers: { authorization: `Bearer ${ts!.stack.env.API_TOKEN}` },
    });
    expect(JSON.stringify(report.json())).toContain('sso-user');
    expect(JSON.stringify(report.json())).not.toContain('someone-else');
  });
});

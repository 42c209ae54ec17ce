/**
 * Chat routing through the real pipeline and the 1C emulator: queued for a group or a
 * rule's pick, first reply owns (races), transfer, close/reopen, routing events to 1C in
 * order per chat, idempotent routes per message id.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage, OutboundMessage } from '../../src/core/index.ts';
import { ChatRouting } from '../../src/routing/chat-routing.ts';
import { newRedis, until } from '../helpers/redis.ts';
import { errorOf, inbound, PETROVA, startOperators, type OperatorsHarness } from '../operators/operators-helpers.ts';

let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const stored = (id: string) => until(() => h!.stack.onec.storedMessage(id), { what: `message ${id} in 1C` });
const eventsOf = (chatId: string) => h!.stack.onec.state().routing.events.filter((e) => e.chatId === chatId);
const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, token?: string) =>
  h!.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token ?? h!.apiToken}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
const chatUrl = (chatId: string) => `/api/v1/chats/${encodeURIComponent(chatId)}`;
const reply = (chatId: string, operatorId: string, n = 1): OutboundMessage => ({
  id: `out-${operatorId}-${n}`,
  chatId,
  text: 'Здравствуйте',
  media: [],
  replyTo: null,
  operatorId,
  createdAt: new Date().toISOString(),
});

describe('chat routing', () => {
  it('queues a new chat for the default group, stamps every message, tells 1C once', async () => {
    h = await startOperators();
    await h.connector.ctx.inbound.ingest([inbound('100', 1, 'Добрый день'), inbound('100', 2, 'Есть кто?')]);
    const m1 = await stored('tg:test_bot:100:1');
    const m2 = await stored('tg:test_bot:100:2');
    expect(m1.route).toEqual({ status: 'queued', operatorId: null, group: 'default' });
    expect(m2.route).toEqual({ status: 'queued', operatorId: null, group: 'default' });
    const st = await api('GET', chatUrl('tg:test_bot:100'));
    expect(st.json()).toMatchObject({ chatId: 'tg:test_bot:100', status: 'queued', owner: null, group: 'default', previousOwner: null });
    await until(() => eventsOf('tg:test_bot:100').length === 1, { what: 'the queued event in 1C' });
    expect(eventsOf('tg:test_bot:100')[0]).toMatchObject({ id: 'tg:test_bot:100:routing:1', type: 'queued', group: 'default' });
    const unknown = await api('GET', chatUrl('tg:test_bot:nope'));
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('chat_not_found');
  });

  it('keyword rules set over the API pick the group or operator from the first message (Cyrillic, ё/е, case)', async () => {
    h = await startOperators();
    const put = await api('PUT', '/api/v1/routing/rules', {
      rules: [
        { keywords: ['счёт', 'оплат'], group: 'billing' },
        { keywords: ['Жалоба'], operatorId: 'u-petrova' },
      ],
    });
    expect(put.statusCode).toBe(200);
    expect((await api('GET', '/api/v1/routing/rules')).json()).toEqual({
      rules: [
        { keywords: ['счёт', 'оплат'], group: 'billing' },
        { keywords: ['Жалоба'], operatorId: 'u-petrova' },
      ],
    });
    const bad = await api('PUT', '/api/v1/routing/rules', { rules: [{ keywords: ['x'] }] });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).message).toBe('Field "rules.0" needs "group" or "operatorId".');
    await h.connector.ctx.inbound.ingest([
      inbound('200', 1, 'Пришлите СЧЕТ'),
      inbound('200', 2, 'жалоба'),
      inbound('201', 1, 'ЖАЛОБА на курьера'),
      inbound('202', 1, 'Привет'),
    ]);
    expect((await stored('tg:test_bot:200:1')).route).toEqual({ status: 'queued', operatorId: null, group: 'billing' });
    // Only the first message of a chat picks.
    expect((await stored('tg:test_bot:200:2')).route).toEqual({ status: 'queued', operatorId: null, group: 'billing' });
    expect((await stored('tg:test_bot:201:1')).route).toEqual({ status: 'queued', operatorId: 'u-petrova', group: null });
    expect((await stored('tg:test_bot:202:1')).route).toEqual({ status: 'queued', operatorId: null, group: 'default' });
  });

  it('two operators replying at once: exactly one owner, one assigned event (two instances)', async () => {
    h = await startOperators();
    const chatId = 'tg:test_bot:300';
    await h.connector.ctx.inbound.ingest([inbound('300', 1, 'Вопрос')]);
    await stored(`${chatId}:1`);
    const r2 = newRedis();
    try {
      const other = new ChatRouting({ redis: r2, prefix: h.prefix });
      const ops = Array.from({ length: 10 }, (_, i) => `op-${i}`);
      const results = await Promise.all(ops.map((op, i) => (i % 2 ? other : h!.feature.routing).claim(chatId, op)));
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      const st = await h.feature.routing.state(chatId);
      expect(st?.status).toBe('assigned');
      expect(st?.owner).toBe(winners[0]?.operatorId);
      // Later replies change nothing, via the bus too.
      await h.connector.ctx.bus.emit('outbound.accepted', { message: reply(chatId, 'op-late') });
      expect((await h.feature.routing.state(chatId))?.owner).toBe(winners[0]?.operatorId);
    } finally {
      r2.disconnect();
    }
    await until(() => eventsOf(chatId).length === 2, { what: 'queued + assigned in 1C' });
    expect(eventsOf(chatId).map((e) => e.type)).toEqual(['queued', 'assigned']);
  });

  it('transfer with a hidden comment, close, reopen with the previous owner while logged in, queued when gone', async () => {
    h = await startOperators();
    const chatId = 'tg:test_bot:400';
    await h.connector.ctx.inbound.ingest([inbound('400', 1, 'Здравствуйте')]);
    await stored(`${chatId}:1`);
    await h.connector.ctx.bus.emit('outbound.accepted', { message: reply(chatId, 'u-ivanov') });
    expect((await h.feature.routing.state(chatId))?.owner).toBe('u-ivanov');

    const petrova = (await h.login({ workstationUser: 'CORP\\petrova', client: '1c', ...PETROVA })).json<{ token: string }>();
    const tr = await api('POST', `${chatUrl(chatId)}/transfer`, { operatorId: 'u-petrova', comment: 'VIP, скидка 10%' });
    expect(tr.statusCode).toBe(200);
    expect(tr.json()).toMatchObject({
      chat: { status: 'assigned', owner: 'u-petrova', previousOwner: 'u-ivanov', group: 'default' },
      event: { type: 'transferred', operatorId: 'u-petrova', comment: 'VIP, скидка 10%' },
    });
    // An operator token works for the chat endpoints too; transfer to a group queues it.
    const toGroup = await api('POST', `${chatUrl(chatId)}/transfer`, { group: 'support' }, petrova.token);
    expect(toGroup.json()).toMatchObject({ chat: { status: 'queued', owner: null, group: 'support', previousOwner: 'u-petrova' } });
    expect((await api('POST', `${chatUrl(chatId)}/transfer`, {})).statusCode).toBe(400);
    expect((await api('POST', `${chatUrl('tg:test_bot:none')}/transfer`, { group: 'x' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'POST', url: `${chatUrl(chatId)}/close` })).statusCode).toBe(401);

    await h.connector.ctx.bus.emit('outbound.accepted', { message: reply(chatId, 'u-petrova', 2) });
    const closed = await api('POST', `${chatUrl(chatId)}/close`);
    expect(closed.json()).toMatchObject({ chat: { status: 'closed', owner: null, previousOwner: 'u-petrova' }, event: { type: 'closed' } });
    expect((await api('POST', `${chatUrl(chatId)}/close`)).json()).toMatchObject({ event: null });

    // Petrova is logged in: the next message reopens the chat with her.
    await h.connector.ctx.inbound.ingest([inbound('400', 2, 'Ещё вопрос')]);
    expect((await stored(`${chatId}:2`)).route).toEqual({ status: 'assigned', operatorId: 'u-petrova', group: 'support' });
    // She logs out; closed again; the next message queues it for the group.
    await api('POST', `${chatUrl(chatId)}/close`);
    expect((await api('POST', '/api/v1/operators/logout', undefined, petrova.token)).statusCode).toBe(200);
    await h.connector.ctx.inbound.ingest([inbound('400', 3, 'Алло?')]);
    expect((await stored(`${chatId}:3`)).route).toEqual({ status: 'queued', operatorId: null, group: 'support' });

    const types = ['queued', 'assigned', 'transferred', 'transferred', 'assigned', 'closed', 'reopened', 'closed', 'reopened'];
    await until(() => eventsOf(chatId).length === types.length, { what: 'every routing event in 1C' });
    expect(eventsOf(chatId).map((e) => e.type)).toEqual(types);
    expect(eventsOf(chatId).map((e) => e.id)).toEqual(types.map((_, i) => `${chatId}:routing:${i + 1}`));
    expect(h.stack.onec.state().routing.duplicates.count).toBe(0);
  });

  it('routeOf is idempotent per message id: a redelivery gets the same route and no new event', async () => {
    h = await startOperators();
    const chatId = 'tg:test_bot:500';
    const m: InboundMessage = { ...inbound('500', 1, 'Привет'), seq: 1, route: null };
    const first = await h.feature.routing.routeOf([m]);
    await h.feature.routing.claim(chatId, 'u-ivanov');
    await h.feature.routing.close(chatId);
    const again = await h.feature.routing.routeOf([m]);
    expect(again).toEqual(first);
    expect((await h.feature.routing.state(chatId))?.status).toBe('closed');
    await until(() => eventsOf(chatId).length === 3, { what: 'three events in 1C' });
    expect(eventsOf(chatId).map((e) => e.type)).toEqual(['queued', 'assigned', 'closed']);
  });

  it('a rules file is loaded at start; rules set over the API survive a restart until the file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const file = join(dir, 'routing.yaml');
    try {
      writeFileSync(file, 'rules:\n  - keywords: [доставка]\n    group: logistics\n');
      h = await startOperators({ feature: { rulesFile: file } });
      expect(await h.feature.routing.rules()).toEqual([{ keywords: ['доставка'], group: 'logistics' }]);
      await api('PUT', '/api/v1/routing/rules', [{ keywords: ['возврат'], group: 'returns' }]);
      const restarted = await h.another({ rulesFile: file });
      expect(await restarted.feature.routing.rules()).toEqual([{ keywords: ['возврат'], group: 'returns' }]);
      writeFileSync(file, '- keywords: [Оплата]\n  group: billing\n');
      const edited = await h.another({ rulesFile: file });
      expect(await edited.feature.routing.rules()).toEqual([{ keywords: ['Оплата'], group: 'billing' }]);
      // Every instance reads the shared copy.
      expect(await h.feature.routing.rules()).toEqual([{ keywords: ['Оплата'], group: 'billing' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

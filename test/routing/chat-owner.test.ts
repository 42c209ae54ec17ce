/**
 * Issue 11 item 3 — "any operator can act on any chat": Petrova's token moved Ivanov's chat
 * to herself, then to an operator that does not exist, then closed it (all 200). Now only
 * the owner, an operator of the group of a queued chat, or the API token may transfer or
 * close; unknown targets are 404; every routing event (also in 1C) names who acted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../src/core/index.ts';
import { until } from '../helpers/redis.ts';
import { errorOf, inbound, IVANOV, PETROVA, startOperators, type OperatorsHarness } from '../operators/operators-helpers.ts';

let h: OperatorsHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const chatUrl = (chatId: string) => `/api/v1/chats/${encodeURIComponent(chatId)}`;
const post = (url: string, token: string, payload?: object) =>
  h!.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
const reply = (chatId: string, operatorId: string): OutboundMessage => ({
  id: `out-${chatId}-${operatorId}`,
  chatId,
  text: 'Здравствуйте',
  media: [],
  replyTo: null,
  operatorId,
  createdAt: new Date().toISOString(),
});

async function tokenOf(creds: { login: string; password: string }, ws: string): Promise<string> {
  const r = await h!.login({ workstationUser: ws, client: '1c', ...creds });
  expect(r.statusCode).toBe(200);
  return r.json<{ token: string }>().token;
}

describe('transfer and close: who may act', () => {
  it("Petrova cannot take, misroute or close Ivanov's chat; Ivanov and the API can; 1C learns who acted", async () => {
    h = await startOperators();
    const ivanov = await tokenOf(IVANOV, 'CORP\\ivanov');
    const petrova = await tokenOf(PETROVA, 'CORP\\petrova');
    const chatId = 'tg:test_bot:700';
    await h.connector.ctx.inbound.ingest([inbound('700', 1, 'Здравствуйте')]);
    await until(() => h!.stack.onec.storedMessage(`${chatId}:1`), { what: 'the message in 1C' });
    await h.connector.ctx.bus.emit('outbound.accepted', { message: reply(chatId, 'u-ivanov') });
    expect((await h.feature.routing.state(chatId))?.owner).toBe('u-ivanov');

    // The attack of the issue, step by step: every one refused, the chat untouched.
    for (const [what, res] of [
      ['transfer to herself', await post(`${chatUrl(chatId)}/transfer`, petrova, { operatorId: 'u-petrova' })],
      ['transfer to a made-up operator', await post(`${chatUrl(chatId)}/transfer`, petrova, { operatorId: 'u-nobody' })],
      ['close', await post(`${chatUrl(chatId)}/close`, petrova)],
    ] as const) {
      expect(res.statusCode, what).toBe(403);
      expect(errorOf(res).code, what).toBe('not_chat_owner');
    }
    expect(await h.feature.routing.state(chatId)).toMatchObject({ status: 'assigned', owner: 'u-ivanov' });

    // Unknown targets are 404, for the owner and the API alike.
    const noOp = await post(`${chatUrl(chatId)}/transfer`, ivanov, { operatorId: 'u-nobody' });
    expect(noOp.statusCode).toBe(404);
    expect(errorOf(noOp).code).toBe('unknown_operator');
    const noGroup = await post(`${chatUrl(chatId)}/transfer`, h.apiToken, { group: 'no-such-group' });
    expect(noGroup.statusCode).toBe(404);
    expect(errorOf(noGroup).code).toBe('unknown_group');

    // The owner hands it to Petrova's group (known: she logged in); it is queued for `support`.
    const toSupport = await post(`${chatUrl(chatId)}/transfer`, ivanov, { group: 'support' });
    expect(toSupport.statusCode).toBe(200);
    expect(toSupport.json()).toMatchObject({
      event: { type: 'transferred', actor: 'u-ivanov' },
      chat: { status: 'queued', group: 'support' },
    });
    // Now Ivanov is neither owner nor of the group: refused. Petrova (support) may take it.
    expect((await post(`${chatUrl(chatId)}/close`, ivanov)).statusCode).toBe(403);
    const take = await post(`${chatUrl(chatId)}/transfer`, petrova, { operatorId: 'u-petrova' });
    expect(take.statusCode).toBe(200);
    expect(take.json()).toMatchObject({ chat: { status: 'assigned', owner: 'u-petrova' }, event: { actor: 'u-petrova' } });
    // The API may do anything: back to Ivanov, then the owner closes.
    const api = await post(`${chatUrl(chatId)}/transfer`, h.apiToken, { operatorId: 'u-ivanov' });
    expect(api.json()).toMatchObject({ event: { actor: 'api' } });
    const closed = await post(`${chatUrl(chatId)}/close`, ivanov);
    expect(closed.json()).toMatchObject({ chat: { status: 'closed' }, event: { type: 'closed', actor: 'u-ivanov' } });
    // A closed chat has no owner: only the API may transfer it.
    expect((await post(`${chatUrl(chatId)}/transfer`, petrova, { operatorId: 'u-petrova' })).statusCode).toBe(403);

    const expected = [
      ['queued', 'system'],
      ['assigned', 'u-ivanov'],
      ['transferred', 'u-ivanov'],
      ['transferred', 'u-petrova'],
      ['transferred', 'api'],
      ['closed', 'u-ivanov'],
    ];
    const events = () => h!.stack.onec.state().routing.events.filter((e) => e.chatId === chatId);
    await until(() => events().length === expected.length, { what: 'every routing event in 1C' });
    expect(events().map((e) => [e.type, e.actor])).toEqual(expected);
  });
});

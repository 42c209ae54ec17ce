/**
 * Account settings through the real composition root (product features, emulated Bot API,
 * 1C emulator, real Redis) with a controllable clock:
 * - an out-of-hours reply reaches 1C as a chat message of `system` (`outgoing: true`), in
 *   `seq` order after the customer's message, once per closed period; routing untouched;
 * - `mayWriteFirst`: a chat that never wrote is refused (404 may_not_write_first) until the
 *   account allows it; the setting wins over WHATSAPP_MAY_WRITE_FIRST, which is the default;
 * - the connector's own `service` notes follow the account's language at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../src/connector.ts';
import { productFeatures } from '../../src/cli/features.ts';
import { SERVICE_TEXTS } from '../../src/core/index.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { DEFAULT_TEXTS } from '../../src/settings/account-settings.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

const BOT = 'hours_bot';
const msk = (iso: string): number => Date.parse(`${iso}+03:00`);
let now = msk('2026-11-30T12:30:00'); // a Monday, the lunch break
let ts: TestStack;
let token: string;

async function api(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch((ts.connector.url as string) + path, {
    method,
    headers: { authorization: `Bearer ${ts.stack.env.API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const HOURS = {
  mon: [
    ['08:00', '12:00'],
    ['13:30', '18:00'],
  ],
};

beforeAll(async () => {
  ts = await startTestStack({
    bots: [{ username: BOT }],
    connector: { features: productFeatures({ settings: { now: () => now, allBusyCheckMs: 0, assignCheckMs: 0 } }) },
  });
  token = ts.stack.bots[0].token;
});
afterAll(async () => {
  await ts?.stop();
});

describe('settings end to end', () => {
  it('1C sees each out-of-hours reply as a `system` chat message, in order, once per closed period', async () => {
    const put = await api('PUT', `/api/v1/accounts/${BOT}/settings`, { workingHours: HOURS, autoReplies: { outOfHours: true } });
    expect(put.status).toBe(200);
    const chat = ts.stack.telegram.chat(token, { firstName: 'Ivan' });
    const key = `tg:${BOT}:${chat.id}`;
    const one = chat.text('one').messageId;
    await until(async () => (storedOf(ts.stack, key).length >= 2 ? true : null), { what: 'the message and the reply in 1C' });
    const two = chat.text('two').messageId; // same closed period: no reply
    await until(async () => (storedOf(ts.stack, key).length >= 3 ? true : null), { what: 'message two in 1C' });
    now = msk('2026-11-30T13:40:00'); // open: no reply
    const three = chat.text('three').messageId;
    await until(async () => (storedOf(ts.stack, key).length >= 4 ? true : null), { what: 'message three in 1C' });
    now = msk('2026-11-30T18:30:00'); // the next closed period: one reply again
    const four = chat.text('four').messageId;
    await until(async () => (storedOf(ts.stack, key).length >= 6 ? true : null), { what: 'message four and its reply in 1C' });

    const stored = storedOf(ts.stack, key);
    const lunch = `${key}:auto:closed:${new Date(msk('2026-11-30T12:00:00')).toISOString()}`;
    const evening = `${key}:auto:closed:${new Date(msk('2026-11-30T18:00:00')).toISOString()}`;
    expect(stored.map((s) => s.id)).toEqual([`${key}:${one}`, lunch, `${key}:${two}`, `${key}:${three}`, `${key}:${four}`, evening]);
    expect(stored.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const reply = ts.stack.onec.storedMessage(lunch) as Record<string, unknown>;
    expect(reply).toMatchObject({
      chatId: key,
      kind: 'text',
      outgoing: true,
      sender: { id: 'system', name: null, username: null, phone: null },
      chat: { type: 'private' },
      text: DEFAULT_TEXTS.ru.outOfHours.replace('{opens_at}', 'в 13:30'),
    });
    // the reply left the chat as it was (queued for the default group), it did not reopen or requeue it
    expect(reply.route).toEqual((ts.stack.onec.storedMessage(`${key}:${one}`) as Record<string, unknown>).route);
    // the customer got exactly the two replies
    for (const id of [lunch, evening]) {
      await until(async () => ((await api('GET', `/api/v1/messages/${encodeURIComponent(id)}`)).json.status === 'sent' ? true : null), {
        what: `reply ${id} sent`,
      });
    }
    expect(ts.stack.telegram.sent(token, chat.id)).toHaveLength(2);
  });

  it('mayWriteFirst: refused while off (typed 404), accepted once the account allows it', async () => {
    const stranger = `tg:${BOT}:424242`;
    const off = await api('POST', '/api/v1/messages', { id: 'first-1', chatId: stranger, text: 'hello' });
    expect(off.status).toBe(404);
    expect(off.json).toMatchObject({ error: { code: 'may_not_write_first' } });
    expect(String((off.json.error as { message: string }).message)).toContain('mayWriteFirst');
    await api('PUT', `/api/v1/accounts/_default/settings`, { mayWriteFirst: true });
    const on = await api('POST', '/api/v1/messages', { id: 'first-2', chatId: stranger, text: 'hello' });
    expect(on.status).toBe(202);
    // the account's own `false` wins over `_default`
    await api('PUT', `/api/v1/accounts/${BOT}/settings`, { workingHours: HOURS, mayWriteFirst: false });
    const own = await api('POST', '/api/v1/messages', { id: 'first-3', chatId: stranger, text: 'hello' });
    expect(own.json).toMatchObject({ error: { code: 'may_not_write_first' } });
    await api('PUT', `/api/v1/accounts/_default/settings`, {});
  });

  it('WHATSAPP_MAY_WRITE_FIRST is the default; an account setting wins either way', async () => {
    const config = ts.stack.config;
    const other = await createConnector(
      { ...config, whatsapp: { ...config.whatsapp, mayWriteFirst: ['wa_sales'] } },
      { trustedKeysDir: ts.stack.keysDir, logger: createLogger({ level: 'silent', format: 'json' }), features: productFeatures() },
    );
    try {
      expect(await other.ctx.mayWriteFirst('wa_sales')).toBe(true); // env lists it, no setting
      expect(await other.ctx.mayWriteFirst('wa_other')).toBe(false);
      await api('PUT', '/api/v1/accounts/wa_sales/settings', { mayWriteFirst: false });
      await api('PUT', '/api/v1/accounts/wa_other/settings', { mayWriteFirst: true });
      expect(await other.ctx.mayWriteFirst('wa_sales')).toBe(false);
      expect(await other.ctx.mayWriteFirst('wa_other')).toBe(true);
      const eff = await api('GET', '/api/v1/accounts/wa_other/settings?effective=true');
      expect(eff.json).toMatchObject({ mayWriteFirst: true });
    } finally {
      await other.stop().catch(() => undefined);
    }
  });

  it("the connector's own service notes follow the account language, at once", async () => {
    const group = ts.stack.telegram.group(token, { title: 'Клиенты' });
    const key = `tg:${BOT}:${group.id}`;
    group.titleChanged('VIP');
    await until(async () => (storedOf(ts.stack, key).length >= 1 ? true : null), { what: 'the ru note in 1C' });
    await api('PUT', `/api/v1/accounts/${BOT}/settings`, { workingHours: HOURS, language: 'en' });
    group.titleChanged('VIP 2');
    await until(async () => (storedOf(ts.stack, key).length >= 2 ? true : null), { what: 'the en note in 1C' });
    const [ru, en] = storedOf(ts.stack, key).map((s) => (ts.stack.onec.storedMessage(s.id) as { text: string }).text);
    expect(ru).toBe(SERVICE_TEXTS.ru.titleChanged('VIP'));
    expect(en).toBe(SERVICE_TEXTS.en.titleChanged('VIP 2'));
  });
});

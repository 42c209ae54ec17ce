/**
 * Telegram Business through the whole connector: the business chat's messages reach the 1C
 * emulator (the owner's with `outgoing`), the connection is an account in GET /api/v1/accounts,
 * a reply posted to POST /api/v1/messages goes out through business_connection_id, and after
 * the owner disconnects the bot a reply ends `failed` with the sentence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../helpers/redis.ts';
import { startOutbound, BOT, type OutboundHarness } from '../../outbound/outbound-helpers.ts';

let h: OutboundHarness;
beforeAll(async () => {
  h = await startOutbound();
});
afterAll(async () => {
  await h?.stop();
});

describe('Telegram Business end to end', () => {
  it('messages reach 1C, replies go back through the connection, a disconnected one fails with a sentence', async () => {
    const tg = h.stack.telegram;
    const owner = tg.user({ firstName: 'Салон' });
    const biz = tg.connectBusiness(h.token, owner);
    const chat = biz.customer(tg.user({ firstName: 'Ольга' }));
    const key = `tgb:${BOT}:${owner.id}:${chat.id}`;
    chat.text('Можно записаться?');
    chat.text('Да, завтра в 11', { fromOwner: true });
    await until(() => (h.stack.onec.state().messages.byChat[key] ?? []).length === 2, { what: 'both business messages in 1C' });

    const accounts = await h.api('GET', '/api/v1/accounts');
    expect(accounts.json.accounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ channel: 'telegram', account: `${BOT}:${owner.id}`, state: 'open' })]),
    );

    const r = await h.api('POST', '/api/v1/messages', { id: 'biz-1', chatId: key, text: 'Ждём вас!' });
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    await h.statusOf('biz-1', ['sent']);
    const sent = tg.sent(h.token).filter((s) => s.message.business_connection_id === biz.id);
    expect(sent.map((s) => [s.chatId, s.text])).toEqual([[chat.id, 'Ждём вас!']]);

    biz.setEnabled(false);
    await until(
      async () => {
        const a = await h.api('GET', '/api/v1/accounts');
        return (a.json.accounts as { account: string; state: string }[]).some(
          (x) => x.account === `${BOT}:${owner.id}` && x.state === 'stopped',
        );
      },
      { what: 'the connection shown stopped' },
    );
    await h.api('POST', '/api/v1/messages', { id: 'biz-2', chatId: key, text: 'Вы придёте?' });
    const failed = await h.statusOf('biz-2', ['failed']);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'telegram_business_disconnected' });
    expect(String(failed.error)).toMatch(/disconnected the bot @shop_bot; replies cannot be sent/);
    expect(h.stack.onec.state().messages.byChat[key]).toHaveLength(2);
  });
});

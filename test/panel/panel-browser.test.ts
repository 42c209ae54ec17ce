/**
 * The operator panel in a real browser (Debian's chromium through playwright-core), two
 * operators in two browser contexts, a customer on the emulated Bot API, 1C emulated:
 * queued chat seen by both → A replies (takes it) → B's queue updates → the reply reaches
 * the customer and A sees its status → A transfers to B with a comment → B replies and
 * closes → the customer writes again and the chat reopens for B → B's feed is cut by the
 * server while B is offline and resumes without a gap or a repeat → a seat shortage and no
 * free 1C license show the API's sentences → closing the tab frees the seat.
 * Screenshots of each step: test-artifacts/panel-*.png.
 *
 * Telegram's Bot API has no delivery or read receipts, so a Telegram reply ends at "sent".
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { observed } from '../../src/features/feature-contract.ts';
import { operatorsFeature, type OperatorsFeature } from '../../src/operators/operators-feature.ts';
import { outboundFeature } from '../../src/outbound/outbound-feature.ts';
import { panelFeature } from '../../src/panel/panel-feature.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let ts: TestStack | null = null;
let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close().catch(() => undefined);
  browser = null;
  await ts?.stop();
  ts = null;
});

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: `test-artifacts/panel-${name}.png` });
}

async function login(page: Page, url: string, ws: string, creds: { login: string; password: string } | { pin: string }): Promise<void> {
  await page.goto(`${url}/panel`);
  await page.locator('#ws-user').fill(ws);
  if ('pin' in creds) {
    await page.locator('input[name=mode][value=pin]').check();
    await page.locator('#pin').fill(creds.pin);
  } else {
    await page.locator('#login').fill(creds.login);
    await page.locator('#password').fill(creds.password);
  }
  await page.locator('#login-btn').click();
}

const chatButton = (page: Page, list: 'my-chats' | 'queued-chats', chatId: string) =>
  page.locator(`#${list} button[data-chat="${chatId}"]`);

describe('operator panel in a browser', () => {
  it('two operators take, answer, hand over, close and reopen a chat; the feed resumes after a drop', { timeout: 180_000 }, async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
    let ops!: OperatorsFeature;
    ts = await startTestStack({
      features: { 42: 1, 48: 10, 49: 2 },
      env: { ONEC_AUTH_WAIT_MS: '300' },
      connector: {
        features: [
          observed(operatorsFeature({ defaultGroup: 'sales', laneSweepIntervalMs: 500 }), (f) => {
            ops = f;
          }),
          outboundFeature(),
          panelFeature(),
        ],
      },
    });
    const url = ts.connector.url as string;
    const { telegram, bots } = ts.stack;
    const token = bots[0].token;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 }).catch((e: unknown) => {
      throw new Error(`chromium at ${CHROMIUM} did not start: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    });
    const ctxA = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const ctxB = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
    const cspViolations: string[] = [];
    const pageErrors: string[] = [];
    for (const p of [a, b]) {
      p.on('console', (m) => m.text().includes('Content Security Policy') && cspViolations.push(m.text()));
      p.on('pageerror', (e) => pageErrors.push(e.message));
    }

    // Log in: Иванов (sales) by password, Сидоров (sales, support) by the PIN 1C shows.
    await login(a, url, 'CORP\\ivanov', { login: 'Иванов', password: 'пароль1' });
    await login(b, url, 'CORP\\sidorov', { pin: '4321' });
    await a.locator('#app-view').waitFor();
    await b.locator('#app-view').waitFor();
    await expect.poll(() => a.locator('#conn').textContent(), { timeout: 20_000 }).toContain('●');
    await expect.poll(() => b.locator('#conn').textContent(), { timeout: 20_000 }).toContain('●');
    expect(await ts.connector.ctx.seats.usage(49)).toBe(2);

    // A customer writes; both see the queued chat.
    const customer = telegram.chat(token, { firstName: 'Мария', lastName: 'Соколова' });
    customer.text('Здравствуйте, где мой заказ 1045?');
    const chatId = `tg:${bots[0].username}:${customer.id}`;
    await chatButton(a, 'queued-chats', chatId).waitFor({ timeout: 20_000 });
    await chatButton(b, 'queued-chats', chatId).waitFor({ timeout: 20_000 });
    expect(await chatButton(b, 'queued-chats', chatId).locator('.name').textContent()).toContain('Мария');
    expect(await chatButton(b, 'queued-chats', chatId).locator('.unread').textContent()).toBe('1');
    expect(await b.title()).toMatch(/^\(1\) /);
    await shot(b, '1-queued-both');

    // A opens it and replies: the reply takes the chat; B's queue loses it.
    await chatButton(a, 'queued-chats', chatId).click();
    await a.locator('#history .item.in', { hasText: 'где мой заказ 1045' }).waitFor();
    await a.locator('#text').fill('Добрый день! Заказ 1045 передан в доставку.');
    await a.locator('#text').press('Enter');
    await chatButton(a, 'my-chats', chatId).waitFor();
    await chatButton(b, 'queued-chats', chatId).waitFor({ state: 'detached' });
    const reply = await until(() => telegram.sent(token, customer.id).find((s) => s.text?.includes('Заказ 1045')), {
      what: 'the reply at the customer',
    });
    expect(reply.text).toBe('Добрый день! Заказ 1045 передан в доставку.');
    await a.locator('#history .item.out [data-status="sent"]').waitFor();
    expect(telegram.sent(token, customer.id).filter((s) => s.text?.includes('Заказ 1045'))).toHaveLength(1);
    await shot(a, '2-a-replied-sent');
    await shot(b, '3-b-queue-updated');

    // A transfers to B with a comment the customer never sees.
    await a.locator('#transfer-open').click();
    await a.locator('#to-operator').fill('u-sidorov');
    await a.locator('#transfer-comment').fill('Постоянный клиент, проверь оплату');
    await a.locator('#transfer-form button[type=submit]').click();
    await chatButton(b, 'my-chats', chatId).waitFor();
    await chatButton(a, 'my-chats', chatId).waitFor({ state: 'detached' });
    await chatButton(b, 'my-chats', chatId).click();
    await b.locator('#history .item.routing', { hasText: 'Постоянный клиент, проверь оплату' }).waitFor();
    await b.locator('#history .item.out', { hasText: 'Заказ 1045' }).waitFor();
    await shot(b, '4-b-got-transfer');

    // B replies and closes.
    await b.locator('#text').fill('Оплата получена, ждите курьера завтра.');
    await b.locator('#send').click();
    await until(() => telegram.sent(token, customer.id).find((s) => s.text?.includes('курьера')), { what: "B's reply at the customer" });
    await b.locator('#history .item.out [data-status="sent"]', { hasText: '' }).nth(1).waitFor();
    await b.locator('#close-chat').click();
    await chatButton(b, 'my-chats', chatId).waitFor({ state: 'detached' });
    await b
      .locator('#chat-state')
      .filter({ hasText: /закрыт/ })
      .waitFor();
    await shot(b, '5-b-closed');

    // The customer writes again: the chat reopens for B (the previous owner, online).
    customer.text('Спасибо! А можно перенести доставку?');
    await chatButton(b, 'my-chats', chatId).waitFor({ timeout: 20_000 });
    await b.locator('#history .item.in', { hasText: 'перенести доставку' }).waitFor();
    await shot(b, '6-b-reopened');

    // A network drop of B's feed: B goes offline, the server cuts every feed; two messages
    // arrive meanwhile; back online, B resumes from its Last-Event-ID — no gap, no repeat.
    await ctxB.setOffline(true);
    ops.feed.closeAll();
    await expect.poll(() => b.locator('#conn').textContent(), { timeout: 20_000 }).toContain('○');
    const streamKey = ops.feed.key('u-sidorov');
    const before = await ts.connector.ctx.redis.xlen(streamKey);
    customer.text('Первое, пока вы были без связи');
    customer.text('Второе, пока вы были без связи');
    await until(async () => storedOf(ts!.stack, chatId).length >= 4, { what: 'both messages in 1C' });
    await until(async () => (await ts!.connector.ctx.redis.xlen(streamKey)) >= before + 2, { what: "both in B's feed stream" });
    await shot(b, '7-b-offline');
    await ctxB.setOffline(false);
    await b.locator('#history .item.in', { hasText: 'Второе, пока вы были без связи' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => b.locator('#conn').textContent(), { timeout: 20_000 }).toContain('●');
    const seen = await b.evaluate<string[]>('window.__panel.state.feedIds');
    const stream = (await ts.connector.ctx.redis.xrange(streamKey, '-', '+')).map(([id]) => id);
    expect(seen).toEqual(stream);
    expect(await b.locator('#history .item.in', { hasText: 'Первое, пока вы были без связи' }).count()).toBe(1);
    await shot(b, '8-b-resumed');

    // A seat shortage (49: 2 of 2 in use) shows the API's sentence.
    const ctxC = await browser.newContext({ viewport: { width: 420, height: 760 } });
    const c = await ctxC.newPage();
    await login(c, url, 'CORP\\petrova', { login: 'Петрова', password: 'пароль2' });
    await c.locator('#login-error').filter({ hasText: '2/2' }).waitFor();
    expect(await c.locator('#login-error').textContent()).toMatch(/^No free seat of feature .*49.*: 2\/2 in use\.$/);
    await shot(c, '9-seat-shortage');

    // A logs out (the seat comes back); then no free 1C license: the sentence and a countdown.
    await a.locator('#logout').click();
    await a.locator('#login-view').waitFor();
    await until(async () => (await ts!.connector.ctx.seats.usage(49)) === 1, { what: "A's seat back" });
    ts.stack.onec.takeLicenses(1000);
    await c.locator('#login-btn').click();
    await c
      .locator('#login-error')
      .filter({ hasText: /через \d+ с/ })
      .waitFor({ timeout: 20_000 });
    expect(await c.locator('#login-btn').isDisabled()).toBe(true);
    await shot(c, '10-no-1c-license');
    ts.stack.onec.returnLicenses(1000);

    // A reload logs B out (pagehide) and back in: the list comes back from the server, not only from the feed.
    await b.reload();
    await b.locator('#login-view').waitFor();
    expect(await b.locator('#ws-user').inputValue()).toBe('CORP\\sidorov');
    await b.locator('input[name=mode][value=pin]').check();
    await b.locator('#pin').fill('4321');
    await b.locator('#login-btn').click();
    await chatButton(b, 'my-chats', chatId).waitFor();
    expect(await chatButton(b, 'my-chats', chatId).locator('.last').textContent()).toBe('Второе, пока вы были без связи');
    await chatButton(b, 'my-chats', chatId).click();
    await b.locator('#history .item.in', { hasText: 'Второе, пока вы были без связи' }).waitFor();

    // A file goes with a reply (the file input; drag and drop and paste add to the same list).
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    await b.locator('#file').setInputFiles({ name: 'схема-проезда.png', mimeType: 'image/png', buffer: png });
    await b.locator('#attachments .chip', { hasText: 'схема-проезда.png' }).waitFor();
    await b.locator('#text').fill('Схема проезда во вложении');
    await b.locator('#send').click();
    const withFile = await until(
      () => telegram.sent(token, customer.id).find((x) => x.file && (x.caption ?? x.text ?? '').includes('Схема')),
      {
        what: 'the file at the customer',
      },
    );
    expect(withFile.file?.bytes?.equals(png)).toBe(true);
    await b.locator('#history .item.out', { hasText: 'Схема проезда' }).locator('[data-status="sent"]').waitFor();

    // A phone-width screen: one pane at a time, the chat still usable.
    await b.setViewportSize({ width: 390, height: 760 });
    expect(await b.locator('nav.list').isVisible()).toBe(false);
    expect(await b.locator('#send').isVisible()).toBe(true);
    await shot(b, '11-phone-width');

    // Closing B's tab frees B's seat (pagehide → logout with keepalive).
    await b.close({ runBeforeUnload: true });
    await until(async () => (await ts!.connector.ctx.seats.usage(49)) === 0, { what: "B's seat freed by closing the tab" });

    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

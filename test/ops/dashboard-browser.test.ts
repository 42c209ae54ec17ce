/**
 * The dashboard in a real browser (Debian's chromium through playwright-core): log in with
 * HTTP Basic, see the message 1C rejected in the dead-letter queue, click Retry, and the job
 * leaves the failed list (and the message reaches 1C at its own seq). A screenshot is kept
 * under test-artifacts/. The test launcher (scripts/with-redis.ts) installs Chromium when
 * missing and possible; when it truly cannot, the test is skipped with the launcher's one-line
 * reason, printed here too — never silently.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { opsFeature } from '../../src/ops/ops-feature.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';
import { findChromium } from '../../src/infra/embedded-chromium.ts';

const CHROMIUM = findChromium() ?? '';
const SKIP_REASON = CHROMIUM
  ? null
  : (process.env.CHROMIUM_UNAVAILABLE ??
    'Chromium is not installed: install it with "sudo apt-get install chromium" (Debian/Ubuntu) or set CHROMIUM_PATH.');
if (SKIP_REASON) console.warn(`dashboard browser test SKIPPED: ${SKIP_REASON}`);
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
let browser: BrowserContext | null = null;
let profile: string | null = null;
afterEach(async () => {
  await browser?.close().catch(() => undefined);
  browser = null;
  if (profile) rmSync(profile, { recursive: true, force: true });
  profile = null;
  await ts?.stop();
  ts = null;
});

describe('dashboard in a browser', () => {
  it.skipIf(SKIP_REASON !== null)('logs in, sees the failed job, retries it, and the job leaves the failed list', async () => {
    let rejecting = true;
    ts = await startTestStack({
      env: { ADMIN_USER: 'admin', ADMIN_PASSWORD: 'browser-test-password' },
      onec: { rejectWhen: (m) => (rejecting && typeof m.text === 'string' && m.text.includes('#reject-me') ? 'not today' : null) },
      connector: { features: [opsFeature()] },
    });
    const { telegram, bots } = ts.stack;
    const c = telegram.chat(bots[0].token, { firstName: 'Лев' });
    c.text('one');
    const bad = c.text('please #reject-me');
    c.text('three');
    const key = `tg:${bots[0].username}:${c.id}`;
    const dead = ts.connector.ctx.inbound.lane.deadQueue;
    await until(async () => (await dead.getFailedCount()) === 1, { what: 'dead letter' });

    profile = mkdtempSync(join(tmpdir(), 'chat-connector-chromium-'));
    try {
      // A fresh profile directory (playwright passes it as --user-data-dir).
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: FLAGS,
        timeout: 30_000,
        httpCredentials: { username: 'admin', password: 'browser-test-password' },
        viewport: { width: 1400, height: 900 },
      });
    } catch (e) {
      throw new Error(`chromium at ${CHROMIUM} did not start: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`, {
        cause: e,
      });
    }
    const page = await browser.newPage();
    const res = await page.goto(`${ts.connector.url}/admin/queues/queue/inbound-dead?status=failed`);
    expect(res?.status()).toBe(200);
    const jobName = `message ${bad.messageId} · #2`;
    await page.getByText(jobName, { exact: false }).first().waitFor({ timeout: 20_000 });
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard-failed-job.png', fullPage: true });

    rejecting = false;
    // The job card's icon buttons (Retry, Duplicate, Edit, Remove) carry their names as tooltips.
    const retry = page.locator('[data-base-ui-tooltip-trigger] > button').first();
    await retry.hover();
    await page.getByText('Retry', { exact: true }).waitFor({ timeout: 10_000 });
    await retry.click();
    const question = page.getByText('Are you sure that you want to retry this job?');
    await question.waitFor({ timeout: 10_000 });
    await page
      .getByRole('button', { name: /^(confirm|retry|yes|ok)$/i })
      .last()
      .click();
    await until(async () => (await dead.getFailedCount()) === 0, { what: 'job left the failed list', timeoutMs: 20_000 });
    await page.reload();
    await page.getByText(jobName).first().waitFor({ state: 'detached', timeout: 20_000 });
    await page.screenshot({ path: 'test-artifacts/dashboard-after-retry.png', fullPage: true });
    await until(() => storedOf(ts!.stack, key).length === 3, { what: 'retried message in 1C' });
    expect(ts.stack.onec.storedMessage(`${key}:${bad.messageId}`)?.seq).toBe(2);
  });
});

/**
 * Readiness does not wait for a quiet bot's first long poll, and in webhook mode every
 * instance takes deliveries whoever holds the bot's lease (issue 12, item 7).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createConnector, type Connector } from '../../src/connector.ts';
import { startLocalStack, type LocalStack } from '../../src/infra/local-stack.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import type { GetUpdatesCall, WebhookDelivery } from '../../src/emulators/telegram/index.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { cleanupPrefix, until } from '../helpers/redis.ts';

let ts: TestStack | null = null;
let stack: LocalStack | null = null;
const connectors: Connector[] = [];
let proxy: Server | null = null;
afterEach(async () => {
  for (const c of connectors.splice(0)) await c.stop().catch(() => undefined);
  if (proxy) await new Promise<void>((r) => proxy!.close(() => r()));
  proxy = null;
  if (stack) {
    await cleanupPrefix(stack.config.queuePrefix);
    await stack.stop();
  }
  stack = null;
  await ts?.stop();
  ts = null;
});

describe('Telegram readiness', () => {
  it('/readyz is 200 while the first long poll of a quiet bot is still held', async () => {
    ts = await startTestStack({ start: false });
    const { telegram, bots } = ts.stack;
    const firstPoll = once(telegram, 'getUpdates') as Promise<[string, GetUpdatesCall]>;
    await ts.connector.start();
    const [, call] = await firstPoll;
    expect(call.timeout).toBeGreaterThan(0);
    const res = await fetch(`${ts.connector.url}/readyz`);
    const body = (await res.json()) as { checks?: { name: string; ok: boolean; detail: string }[] };
    // Still the first poll: nothing queued for the bot, no second getUpdates, inside its timeout.
    const st = telegram.stats(bots[0].token);
    expect(st.pendingUpdates).toBe(0);
    expect(st.getUpdatesCalls).toHaveLength(1);
    expect(Date.now() - call.at).toBeLessThan(call.timeout * 1000);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(ts.connector.ctx.accounts().map((a) => a.state)).toEqual(['open']);
  });
});

describe('Telegram webhook mode, two instances', () => {
  it('an instance without the lease answers deliveries 200 at once; after the holder stops, each message reaches 1C once', async () => {
    // Stands in for the load balancer in front of the instances: forwards to `target`.
    let target = '';
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        const secret = req.headers['x-telegram-bot-api-secret-token'];
        if (typeof secret === 'string') headers['x-telegram-bot-api-secret-token'] = secret;
        fetch(`${target}${req.url ?? ''}`, { method: 'POST', headers, body: Buffer.concat(chunks) }).then(
          async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', () => r()));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    stack = await startLocalStack({
      env: {
        TELEGRAM_MODE: 'webhook',
        TELEGRAM_WEBHOOK_URL: proxyUrl,
        TELEGRAM_WEBHOOK_SECRET: 'hook_secret-42',
        LANE_LOCK_MS: '1500',
        LANE_SWEEP_MS: '300',
      },
    });
    const { telegram, bots, config } = stack;
    const make = async () => {
      const c = await createConnector(config, {
        logger: createLogger({ level: 'silent', format: 'json' }),
        retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }),
        trustedKeysDir: stack!.keysDir, // the stack's throwaway license key, trusted in code only
      });
      connectors.push(c);
      await c.start();
      return c;
    };
    const a = await make();
    await until(() => a.ctx.accounts().some((s) => s.state === 'open'), { what: 'A holds the bot and set the webhook' });
    expect(telegram.webhookInfo(bots[0].token).url).toContain(`${proxyUrl}/telegram/`);
    const b = await make();
    expect(b.ctx.accounts().some((s) => s.state === 'open')).toBe(false);

    const chat = telegram.chat(bots[0].token, { firstName: 'Ада' });
    const key = `tg:${bots[0].username}:${chat.id}`;
    const deliveries: WebhookDelivery[] = [];
    telegram.on('delivery', (_t: string, d: WebhookDelivery) => deliveries.push(d));

    // B does not hold the lease: it still takes the update (no 503 account_not_running).
    target = b.url!;
    chat.text('to B while A holds the lease');
    await until(() => storedOf(stack!, key).length === 1, { what: 'first message in 1C' });

    // The holder goes away; B answers the next delivery at once, lease or not.
    await a.stop();
    connectors.splice(connectors.indexOf(a), 1);
    chat.text('after A stopped');
    await until(() => storedOf(stack!, key).length === 2, { what: 'second message in 1C' });

    expect(deliveries.map((d) => d.status)).toEqual([200, 200]);
    const stored = storedOf(stack, key);
    expect(new Set(stored.map((s) => s.id)).size).toBe(2);
    expect(stored.map((s) => s.seq)).toEqual([1, 2]);
  });
});

/**
 * A full run with the logger at debug writing JSON to a buffer: messages through the
 * Telegram emulator to 1C (one rejected), operator logins with a wrong password and a PIN,
 * an outbound send, the dashboard with a wrong login, the API with a wrong token, /metrics.
 * Then every secret is looked for in the captured lines: none may appear.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.ts';
import { operatorsFeature } from '../../src/operators/operators-feature.ts';
import { opsFeature } from '../../src/ops/ops-feature.ts';
import { outboundFeature } from '../../src/outbound/outbound-feature.ts';
import { startTestStack, storedOf, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

let ts: TestStack | null = null;
afterEach(async () => {
  await ts?.stop();
  ts = null;
});

describe('no secret in logs', () => {
  it('a full run at debug level logs chat keys and message ids but no token, password, PIN or key', async () => {
    const chunks: string[] = [];
    const dest = new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    });
    const adminPassword = `adm-${randomBytes(9).toString('base64url')}`;
    const operatorPassword = `op-${randomBytes(9).toString('base64url')}`;
    const servicePassword = `svc-${randomBytes(9).toString('base64url')}`;
    const pin = '7193';
    const users = [
      { login: 'service', password: servicePassword, id: 'u-service', name: 'Коннектор', groups: [] },
      { login: 'Оператор', password: operatorPassword, id: 'u-op', name: 'Оператор О.О.', groups: ['default'], pin },
    ];
    // The production logger: JSON, scrubbing the configuration's secrets (as start-command builds it).
    const logger = createLogger({ level: 'debug', format: 'json', destination: dest });
    ts = await startTestStack({
      onec: { users },
      env: { ADMIN_USER: 'admin', ADMIN_PASSWORD: adminPassword, LOG_LEVEL: 'debug' },
      start: false,
      connector: { logger, features: [outboundFeature(), operatorsFeature(), opsFeature()] },
    });
    const { stack, connector } = ts;
    const config = stack.config;
    for (const s of [
      config.apiToken,
      config.admin?.password,
      config.onec.password,
      config.telegram.webhookSecret,
      ...config.telegram.tokens,
    ])
      logger.scrubber.add(s);
    await connector.start();
    const url = connector.url!;
    const api = (path: string, body: unknown, token = config.apiToken!) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });

    const bot = stack.bots[0];
    const c = stack.telegram.chat(bot.token, { firstName: 'Клиент' });
    c.text('hello');
    c.text('bad #reject-me');
    c.text('bye');
    const key = `tg:${bot.username}:${c.id}`;
    await until(() => storedOf(stack, key).length === 2, { what: 'two stored' });

    const wrong = await api('/api/v1/operators/login', {
      workstationUser: 'CORP\\op',
      client: '1c',
      login: 'Оператор',
      password: `${operatorPassword}-typo`,
    });
    expect(wrong.status).toBe(401);
    const good = await api('/api/v1/operators/login', {
      workstationUser: 'CORP\\op',
      client: '1c',
      login: 'Оператор',
      password: operatorPassword,
    });
    expect(good.status).toBe(200);
    const byPin = await api('/api/v1/operators/login', { workstationUser: 'CORP\\op2', client: 'panel', pin });
    expect(byPin.status).toBe(200);
    const opToken = ((await good.json()) as { token: string }).token;

    const out = await api('/api/v1/messages', { id: `out-${randomBytes(4).toString('hex')}`, chatId: key, text: 'answer' });
    expect(out.status).toBe(202);
    await until(() => stack.telegram.sent(bot.token, c.id).length >= 1, { what: 'outbound sent' });

    expect((await api('/api/v1/messages', { id: 'x', chatId: key, text: 'y' }, `${config.apiToken}-wrong`)).status).toBe(401);
    expect(
      (
        await fetch(`${url}/admin/queues`, {
          headers: { authorization: `Basic ${Buffer.from(`admin:${adminPassword}x`).toString('base64')}` },
        })
      ).status,
    ).toBe(401);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    await connector.stop();

    const text = chunks.join('');
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(10);
    // Lines about a message carry its chat key and id (the rejected one, here).
    const rejected = lines.find((l) => typeof l.msg === 'string' && l.msg.includes('rejected for good'));
    expect(rejected).toMatchObject({ chat: key });
    expect(String(rejected?.messageId)).toMatch(new RegExp(`^${key}:\\d+$`));

    const keyPem = readFileSync(stack.privateKeyPath, 'utf8');
    const keyBody = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const secrets: Record<string, string> = {
      apiToken: config.apiToken!,
      adminPassword,
      operatorPassword,
      servicePassword,
      operatorToken: opToken,
      ...Object.fromEntries(stack.bots.map((b, i) => [`botToken${i}`, b.token])),
      botSecretPart: bot.token.split(':')[1],
    };
    keyBody.forEach((l, i) => {
      if (l.length >= 16) secrets[`privateKeyLine${i}`] = l;
    });
    for (const [name, value] of Object.entries(secrets)) expect(text.includes(value), `${name} appears in the logs`).toBe(false);
    expect(text).not.toContain(`"${pin}"`);
    expect(text).not.toMatch(/"pin":"\d/);
    expect(text).not.toMatch(/(Basic|Bearer) [A-Za-z0-9+/=._~-]{6,}/);
  });
});

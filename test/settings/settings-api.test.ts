import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/app.ts';
import { settingsRoutes } from '../../src/http/routes/settings-routes.ts';
import { SettingsStore } from '../../src/settings/settings-store.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';

const TOKEN = 'settings-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('account and group settings API', () => {
  let prefix: string;
  let redis: Redis;
  let redis2: Redis;
  let store: SettingsStore;
  let other: SettingsStore;
  let app: FastifyInstance;
  let dir: string;

  beforeEach(async () => {
    prefix = uniquePrefix('settings');
    redis = newRedis();
    redis2 = newRedis();
    store = new SettingsStore({ redis, prefix });
    // A second instance: its own connection and cache.
    other = new SettingsStore({ redis: redis2, prefix });
    app = await buildHttpApp({
      apiToken: TOKEN,
      plugins: [
        settingsRoutes({
          get: (k, n) => (k === 'account' ? store.get('account', n) : store.get('group', n)),
          effective: (k, n) => (k === 'account' ? store.account(n) : store.group(n)),
          put: (k, n, b) => (k === 'account' ? store.put('account', n, b) : store.put('group', n, b)),
        }),
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'settings-'));
  });

  afterEach(async () => {
    await app.close();
    redis.disconnect();
    redis2.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await cleanupPrefix(prefix);
  });

  it('PUT validates (400 naming the field), stores, and every instance sees the change at its next use', async () => {
    const bad = await app.inject({
      method: 'PUT',
      url: '/api/v1/accounts/acme_bot/settings',
      headers: auth,
      payload: {
        workingHours: {
          mon: [
            ['08:00', '12:00'],
            ['13:30', '18:0'],
          ],
        },
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: { code: 'invalid_request', message: 'Field "workingHours.mon[1][1]" must be HH:MM.' } });

    expect((await other.account('acme_bot')).timeZone).toBe('Europe/Moscow'); // cached on "instance 2"
    const body = { timeZone: 'Asia/Yekaterinburg', workingHours: { mon: [['08:00', '12:00']] }, language: 'en' };
    const ok = await app.inject({ method: 'PUT', url: '/api/v1/accounts/acme_bot/settings', headers: auth, payload: body });
    expect(ok.statusCode).toBe(200);
    expect((await other.account('acme_bot')).timeZone).toBe('Asia/Yekaterinburg');

    const got = await app.inject({ method: 'GET', url: '/api/v1/accounts/acme_bot/settings', headers: auth });
    expect(got.json()).toEqual(body);
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/accounts/nobody/settings', headers: auth });
    expect(unknown.json()).toEqual({});
  });

  it('_default is inherited field by field (GET ?effective=true)', async () => {
    await app.inject({
      method: 'PUT',
      url: '/api/v1/accounts/_default/settings',
      headers: auth,
      payload: { language: 'en', mayWriteFirst: true },
    });
    await app.inject({ method: 'PUT', url: '/api/v1/accounts/main/settings', headers: auth, payload: { mayWriteFirst: false } });
    const eff = (await app.inject({ method: 'GET', url: '/api/v1/accounts/main/settings?effective=true', headers: auth })).json<unknown>();
    expect(eff).toMatchObject({ language: 'en', mayWriteFirst: false, timeZone: 'Europe/Moscow' });
  });

  it('group settings: assignment, caps; defaults for groups never set', async () => {
    const bad = await app.inject({ method: 'PUT', url: '/api/v1/groups/sales/settings', headers: auth, payload: { assignment: 'random' } });
    expect(bad.json<{ error: { code: string; message: string } }>().error.message).toBe(
      'Field "assignment" must be "manual" or "round_robin".',
    );
    await app.inject({
      method: 'PUT',
      url: '/api/v1/groups/sales/settings',
      headers: auth,
      payload: { assignment: 'round_robin', maxOpenPerOperator: 2 },
    });
    expect(await other.group('sales')).toEqual({ assignment: 'round_robin', maxOpenPerOperator: 2, returnAfterLogoutMinutes: 10 });
    expect(await other.group('support')).toEqual({ assignment: 'manual', maxOpenPerOperator: 5, returnAfterLogoutMinutes: 10 });
  });

  it('needs the API token', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/accounts/acme_bot/settings' });
    expect(res.statusCode).toBe(401);
  });

  it('the file wins only for entries that changed since its last load', async () => {
    const file = join(dir, 'settings.yaml');
    writeFileSync(
      file,
      'accounts:\n  _default:\n    language: en\n  acme_bot:\n    timeZone: Europe/Berlin\ngroups:\n  sales:\n    assignment: round_robin\n',
    );
    expect(await store.loadFile(file)).toEqual(['account:_default', 'account:acme_bot', 'group:sales']);
    // Changed over the API; the file is unchanged at the next start: the API's value stays.
    await store.put('account', 'acme_bot', { timeZone: 'Asia/Yekaterinburg' });
    expect(await store.loadFile(file)).toEqual([]);
    expect((await other.account('acme_bot')).timeZone).toBe('Asia/Yekaterinburg');
    // The file's entry edited: it wins, the other entries stay as they are.
    writeFileSync(
      file,
      'accounts:\n  _default:\n    language: en\n  acme_bot:\n    timeZone: Europe/Paris\ngroups:\n  sales:\n    assignment: round_robin\n',
    );
    expect(await store.loadFile(file)).toEqual(['account:acme_bot']);
    expect((await other.account('acme_bot')).timeZone).toBe('Europe/Paris');
    // A bad entry names its path in the file and installs nothing.
    writeFileSync(file, 'accounts:\n  acme_bot:\n    workingHours:\n      mon: [["8:00", "12:00"]]\n');
    await expect(store.loadFile(file)).rejects.toThrow('Field "accounts.acme_bot.workingHours.mon[0][0]" must be HH:MM.');
  });
});

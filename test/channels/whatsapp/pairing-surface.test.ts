import { afterAll, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../../src/http/app.ts';
import { whatsappRoutes } from '../../../src/http/routes/whatsapp-routes.ts';
import { runWhatsappCommand } from '../../../src/cli/whatsapp-command.ts';
import { createWhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { silentLogger } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../../helpers/redis.ts';
import { FakeSocketFactory, MemoryMediaStore, MemorySink } from './fakes.ts';

const prefix = uniquePrefix('wa-pair');
const redis = newRedis();
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

function connector(fake: FakeSocketFactory) {
  return createWhatsappConnector({
    accounts: ['main'],
    redis,
    prefix,
    mediaStore: new MemoryMediaStore(),
    logger: silentLogger,
    socketFactory: fake.factory,
  });
}

describe('pairing over HTTP', () => {
  it('QR as PNG, 404 when unknown or paired, pairing code, 400 naming phone', async () => {
    const fake = new FakeSocketFactory();
    const c = connector(fake);
    const app = await buildHttpApp({ apiToken: 'tok', plugins: [whatsappRoutes({ runner: (a) => c.runner(a) })] });
    const auth = { authorization: 'Bearer tok' };
    try {
      const runner = c.runner('main')!;
      await runner.start(new MemorySink());
      const sock = await fake.nth(1);
      expect(
        (await app.inject({ method: 'GET', url: '/api/v1/whatsapp/main/qr', headers: auth })).json<{
          error: { code: string; message: string };
        }>().error.code,
      ).toBe('qr_not_available');
      sock.qr('2@ref,noise,identity,adv');
      const png = await app.inject({ method: 'GET', url: '/api/v1/whatsapp/main/qr', headers: auth });
      expect(png.statusCode).toBe(200);
      expect(png.headers['content-type']).toBe('image/png');
      expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
      expect((await app.inject({ method: 'GET', url: '/api/v1/whatsapp/main/qr' })).statusCode).toBe(401);
      const unknown = await app.inject({ method: 'GET', url: '/api/v1/whatsapp/other/qr', headers: auth });
      expect([unknown.statusCode, unknown.json<{ error: { code: string; message: string } }>().error.code]).toEqual([
        404,
        'account_not_found',
      ]);

      const bad = await app.inject({ method: 'POST', url: '/api/v1/whatsapp/main/pairing-code', headers: auth, payload: {} });
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ error: { code: string; message: string } }>().error.message).toMatch(/phone/);
      const badDigits = await app.inject({
        method: 'POST',
        url: '/api/v1/whatsapp/main/pairing-code',
        headers: auth,
        payload: { phone: 'abc' },
      });
      expect([badDigits.statusCode, badDigits.json<{ error: { code: string; message: string } }>().error.message]).toEqual([
        400,
        expect.stringMatching(/^phone/),
      ]);
      const code = await app.inject({
        method: 'POST',
        url: '/api/v1/whatsapp/main/pairing-code',
        headers: auth,
        payload: { phone: '+79991234567' },
      });
      expect(code.json()).toEqual({ code: 'C1234567' });

      sock.open();
      const paired = await app.inject({ method: 'GET', url: '/api/v1/whatsapp/main/qr', headers: auth });
      expect([paired.statusCode, paired.json<{ error: { code: string; message: string } }>().error.code]).toEqual([404, 'already_paired']);
      await runner.stop();
    } finally {
      await app.close();
    }
  });
});

describe('whatsapp pair CLI', () => {
  it('prints the QR in the terminal until the account is open, then stops it', async () => {
    const fake = new FakeSocketFactory();
    const c = connector(fake);
    let out = '';
    const done = runWhatsappCommand(['pair', 'main'], {
      runner: (a) => c.runner(a),
      sink: new MemorySink(),
      stdout: {
        write: (s: string) => {
          out += s;
        },
      },
      stderr: {
        write: (s: string) => {
          out += s;
        },
      },
    });
    const sock = await fake.nth(1);
    sock.qr('2@ref,noise,identity,adv');
    await until(() => out.includes('Link a device'), { what: 'the QR in the terminal' });
    await new Promise<void>((resolve) => {
      const off = c.runner('main')!.onChange(() => {
        off();
        resolve();
      });
      sock.open();
    });
    expect(await done).toBe(0);
    expect(out).toContain('Link a device');
    expect(out).toContain('▄'); // qrcode's terminal rendering
    expect(out).toContain('is paired and connected');
    expect(sock.ended).toBe(true);
  });

  it('usage errors and unknown accounts', async () => {
    const c = connector(new FakeSocketFactory());
    let err = '';
    const ctx = {
      runner: (a: string) => c.runner(a),
      sink: new MemorySink(),
      stdout: { write: () => undefined },
      stderr: {
        write: (s: string) => {
          err += s;
        },
      },
    };
    expect(await runWhatsappCommand(['pair'], ctx)).toBe(2);
    expect(await runWhatsappCommand(['pair', 'nope'], ctx)).toBe(1);
    expect(err).toContain('No WhatsApp account "nope"');
  });
});

import { describe, expect, it } from 'vitest';
import { OnecEmulator } from '../../src/onec/emulator/index.ts';
import {
  OnecAuthError,
  OnecClient,
  OnecLicenseRefusedError,
  OnecNotPublishedError,
  OnecProtocolError,
  OnecRemoteError,
  OnecUnreachableError,
  type OnecClientOptions,
} from '../../src/onec/index.ts';
import { closedPort, msg, useEmulator } from './onec-test-helpers.ts';

async function failure(p: Promise<unknown>): Promise<Error & { code: string; retryable: boolean }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code: string; retryable: boolean };
  }
  throw new Error('expected a failure');
}

describe('1C client error classification', () => {
  const fx = useEmulator({ licenseTotal: 3 }, { idleFinishMs: 50 });
  const client = (o: Partial<OnecClientOptions> = {}): OnecClient => fx.client(o);

  it('recognises the Russian license refusal by its text', async () => {
    fx.emu.refuseLicenses(1);
    const err = await failure(client().deliverMessages([msg('a', 1)]));
    expect(err).toBeInstanceOf(OnecLicenseRefusedError);
    expect(err.code).toBe('onec_license_unavailable');
    expect(err.retryable).toBe(true);
  });

  it('recognises the English license refusal, and the text whatever the status', async () => {
    const en = new OnecEmulator({ language: 'en', licenseTotal: 1 });
    await en.start();
    try {
      en.takeLicenses(1);
      const c = client({ baseUrl: en.url });
      const err = await failure(c.deliverMessages([msg('a', 1)]));
      expect(err).toBeInstanceOf(OnecLicenseRefusedError);
      expect(err.message).not.toContain('There are no free licenses');
    } finally {
      await en.stop();
    }
    fx.emu.failNext({ status: 503, body: 'Ошибка: Не обнаружено свободной лицензии!', contentType: 'text/plain' });
    expect(await failure(client().deliverMessages([msg('a', 1)]))).toBeInstanceOf(OnecLicenseRefusedError);
  });

  it('classifies 401 and 403 as not retryable auth errors without the password', async () => {
    const e401 = await failure(client({ password: 'секрет-неверный' }).deliverMessages([msg('a', 1)]));
    expect(e401).toBeInstanceOf(OnecAuthError);
    expect([e401.code, e401.retryable]).toEqual(['invalid_credentials', false]);
    expect(e401.message).not.toContain('секрет-неверный');
    const e403 = await failure(client({ user: 'Гость', password: 'guest' }).deliverMessages([msg('a', 1)]));
    expect(e403).toBeInstanceOf(OnecAuthError);
    expect([e403.code, e403.retryable]).toEqual(['onec_forbidden', false]);
  });

  it('says plainly that the service is not published on 404', async () => {
    const c = client({ baseUrl: `http://user:pw-in-url@127.0.0.1:${new URL(fx.emu.url).port}/wrong/hs/chats/v1` });
    const err = await failure(c.deliverMessages([msg('a', 1)]));
    expect(err).toBeInstanceOf(OnecNotPublishedError);
    expect([err.code, err.retryable]).toEqual(['onec_not_published', false]);
    expect(err.message).toContain('not published');
    expect(err.message).toContain('ONEC_BASE_URL');
    expect(err.message).not.toContain('pw-in-url');
  });

  it('classifies a 500 exception page as a retryable remote error with a short message', async () => {
    fx.emu.failNext({ endpoint: 'messages' });
    const err = await failure(client().deliverMessages([msg('a', 1)]));
    expect(err).toBeInstanceOf(OnecRemoteError);
    expect([err.code, err.retryable]).toEqual(['onec_remote_error', true]);
    expect(err.message.length).toBeLessThan(250);
    expect(err.message).not.toContain('<');
  });

  it('classifies a 503 outage and a dropped connection as retryable', async () => {
    const c = client();
    fx.emu.outage({ mode: '503' });
    const e503 = await failure(c.deliverMessages([msg('a', 1)]));
    expect(e503).toBeInstanceOf(OnecRemoteError);
    expect(e503.retryable).toBe(true);
    fx.emu.outage({ mode: 'drop' });
    const dropped = await failure(c.deliverMessages([msg('a', 1)]));
    expect(dropped).toBeInstanceOf(OnecUnreachableError);
    expect([dropped.code, dropped.retryable]).toEqual(['onec_unreachable', true]);
    fx.emu.clearOutage();
    expect(await c.deliverMessages([msg('a', 1)])).toEqual([{ id: 'tg:bot:a:1', status: 'accepted' }]);
  });

  it('classifies a hang past timeoutMs and a refused connection as unreachable', async () => {
    fx.emu.outage({ mode: 'hang' });
    const timedOut = await failure(client({ timeoutMs: 150 }).deliverMessages([msg('a', 1)]));
    expect(timedOut).toBeInstanceOf(OnecUnreachableError);
    expect(timedOut.message).toContain('150 ms');
    const refused = await failure(
      client({ baseUrl: `http://127.0.0.1:${await closedPort()}/base/hs/chats/v1` }).deliverMessages([msg('a', 1)]),
    );
    expect(refused).toBeInstanceOf(OnecUnreachableError);
    expect(refused.retryable).toBe(true);
  });

  it('treats an HTML page or a wrong shape as a retryable protocol error', async () => {
    const c = client();
    fx.emu.failNext({ status: 200, body: '<html><body>Login page ' + 'x'.repeat(5000) + '</body></html>' });
    const html = await failure(c.deliverMessages([msg('a', 1)]));
    expect(html).toBeInstanceOf(OnecProtocolError);
    expect(html.retryable).toBe(true);
    expect(html.message.length).toBeLessThan(250);
    fx.emu.failNext({ status: 200, body: '{"results":[]}', contentType: 'application/json' });
    const missing = await failure(c.deliverMessages([msg('a', 2)]));
    expect(missing).toBeInstanceOf(OnecProtocolError);
    expect(missing.message).toContain('tg:bot:a:2');
  });
});

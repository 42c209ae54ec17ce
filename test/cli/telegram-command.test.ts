/**
 * `chat-connector telegram login <account>` against the scripted TDLib double: asks phone, code
 * (a wrong one is refused with its sentence and asked again) and the 2FA password (not echoed),
 * ends logged in and stops the runner; an unknown account and bad usage are refused.
 */
import { describe, expect, it } from 'vitest';
import { TdUserRunner } from '../../src/channels/telegram-user/inbound-runner.ts';
import { runTelegramCommand } from '../../src/cli/telegram-command.ts';
import { FileMediaStore } from '../../src/media/file-media-store.ts';
import { MemorySink } from '../channels/telegram/helpers.ts';
import { TdlibDouble } from '../channels/telegram-user/tdlib-double.ts';

function scripted() {
  const td = new TdlibDouble();
  td.on('setAuthenticationPhoneNumber', () => {
    setImmediate(() =>
      td.authState({ _: 'authorizationStateWaitCode', code_info: { _: 'authenticationCodeInfo', phone_number: '+79991234567' } }),
    );
    return { _: 'ok' };
  });
  td.on('checkAuthenticationCode', (r) => {
    if (r.code !== '12345') return { _: 'error', code: 400, message: 'PHONE_CODE_INVALID' };
    setImmediate(() => td.authState({ _: 'authorizationStateWaitPassword', password_hint: 'кот' }));
    return { _: 'ok' };
  });
  td.on('checkAuthenticationPassword', (r) => {
    if (r.password !== 'secret') return { _: 'error', code: 400, message: 'PASSWORD_HASH_INVALID' };
    setImmediate(() => td.authState({ _: 'authorizationStateReady' }));
    return { _: 'ok' };
  });
  const runner = new TdUserRunner({
    account: 'sales',
    open: async () => {
      setImmediate(() => td.authState({ _: 'authorizationStateWaitPhoneNumber' }));
      return td;
    },
    mediaStore: new FileMediaStore({ dir: '/nonexistent-not-used', publicUrl: 'http://127.0.0.1' }),
  });
  return { td, runner };
}

function io(answers: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const asked: { q: string; secret: boolean }[] = [];
  return {
    out,
    err,
    asked,
    ctx: {
      sink: new MemorySink(),
      ask: async (q: string, secret: boolean) => {
        asked.push({ q, secret });
        return answers.shift() ?? null;
      },
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
    },
  };
}

describe('chat-connector telegram login', () => {
  it('asks phone, code and password in turn, says what was wrong, ends logged in', async () => {
    const { td, runner } = scripted();
    const t = io(['+79991234567', '00000', '12345', 'secret']);
    const code = await runTelegramCommand(['login', 'sales'], { ...t.ctx, runner: (a) => (a === 'sales' ? runner : undefined) });
    expect(code).toBe(0);
    expect(t.asked).toEqual([
      { q: 'Phone number of the account (international, e.g. +79991234567): ', secret: false },
      { q: 'The code Telegram sent for +79991234567: ', secret: false },
      { q: 'The code Telegram sent for +79991234567: ', secret: false },
      { q: 'Two-step verification password (hint: кот): ', secret: true },
    ]);
    expect(t.err).toEqual(['The login code is wrong.\n']);
    expect(t.out.join('')).toBe('Telegram user account "sales" is logged in; the connector can run it now.\n');
    expect(runner.state().state).toBe('stopped');
    // The login's own requests, in turn (once ready, the runner may start its catch-up: getChats…).
    expect(td.requests.map((r) => r._).filter((n) => /Authentication/.test(n))).toEqual([
      'setAuthenticationPhoneNumber',
      'checkAuthenticationCode',
      'checkAuthenticationCode',
      'checkAuthenticationPassword',
    ]);
  });

  it('refuses bad usage and an account that is not configured; input ending stops it', async () => {
    const t = io([]);
    expect(await runTelegramCommand(['login'], { ...t.ctx, runner: () => undefined })).toBe(2);
    expect(await runTelegramCommand(['login', 'nobody'], { ...t.ctx, runner: () => undefined })).toBe(1);
    expect(t.err.slice(0, 2)).toEqual([
      'usage: chat-connector telegram login <account>\n',
      'No Telegram user account "nobody" is configured (TELEGRAM_USER_ACCOUNTS).\n',
    ]);
    const { runner } = scripted();
    expect(await runTelegramCommand(['login', 'sales'], { ...t.ctx, runner: () => runner })).toBe(1);
    expect(t.err.at(-1)).toBe('\nNo input; the login is not finished.\n');
    expect(runner.state().state).toBe('stopped');
  });
});

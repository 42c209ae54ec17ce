/**
 * TDLib user accounts (issue 20, part 2, first piece): the login state machine walks phone → code → password → ready on
 * TDLib's real AuthorizationState objects (from a scripted double: TDLib cannot reach
 * Telegram here), refusing out-of-turn and wrong steps with a sentence.
 */
import { describe, expect, it } from 'vitest';
import { TdLogin } from '../../../src/channels/telegram-user/login-state.ts';
import { ConnectorError } from '../../../src/core/index.ts';
import { TdlibDouble } from './tdlib-double.ts';

describe('TDLib', () => {
  it('logs in by phone, code and 2FA password, following updateAuthorizationState', async () => {
    const td = new TdlibDouble();
    td.on('setAuthenticationPhoneNumber', () => {
      setImmediate(() =>
        td.authState({
          _: 'authorizationStateWaitCode',
          code_info: {
            _: 'authenticationCodeInfo',
            phone_number: '+79991234567',
            type: { _: 'authenticationCodeTypeTelegramMessage', length: 5 },
            timeout: 0,
          },
        }),
      );
      return { _: 'ok' };
    });
    let codeTries = 0;
    td.on('checkAuthenticationCode', (r) => {
      codeTries += 1;
      if (r.code !== '12345') return { _: 'error', code: 400, message: 'PHONE_CODE_INVALID' };
      setImmediate(() =>
        td.authState({
          _: 'authorizationStateWaitPassword',
          password_hint: 'кот',
          has_recovery_email_address: false,
          has_passport_data: false,
          recovery_email_address_pattern: '',
        }),
      );
      return { _: 'ok' };
    });
    td.on('checkAuthenticationPassword', (r) => {
      if (r.password !== 'secret') return { _: 'error', code: 400, message: 'PASSWORD_HASH_INVALID' };
      setImmediate(() => td.authState({ _: 'authorizationStateReady' }));
      return { _: 'ok' };
    });
    const login = new TdLogin(td);
    expect(login.step()).toBe('starting');
    td.authState({ _: 'authorizationStateWaitPhoneNumber' });
    expect(login.step()).toBe('wait_phone');

    const early = await login.submit({ code: '12345' }).catch((e: unknown) => e);
    expect((early as ConnectorError).code).toBe('login_out_of_turn');
    expect((early as ConnectorError).message).toBe('A code is not expected now: TDLib waits for the phone.');

    expect(await login.submit({ phone: ' +79991234567 ' })).toBe('wait_code');
    expect(login.hints().codeSentTo).toBe('+79991234567');
    const wrong = await login.submit({ code: '00000' }).catch((e: unknown) => e);
    expect((wrong as ConnectorError).code).toBe('invalid_code');
    expect(login.step()).toBe('wait_code');
    expect(await login.submit({ code: '12345' })).toBe('wait_password');
    expect(codeTries).toBe(2);
    expect(login.hints().passwordHint).toBe('кот');
    const badPw = await login.submit({ password: 'nope' }).catch((e: unknown) => e);
    expect((badPw as ConnectorError).message).toBe('The two-step verification password is wrong.');
    expect(await login.submit({ password: 'secret' })).toBe('ready');
    expect(td.requests.map((r) => r._)).toEqual([
      'setAuthenticationPhoneNumber',
      'checkAuthenticationCode',
      'checkAuthenticationCode',
      'checkAuthenticationPassword',
      'checkAuthenticationPassword',
    ]);
    login.close();
  });

  it('a flood wait on the phone step is retryable and says how long', async () => {
    const td = new TdlibDouble().on('setAuthenticationPhoneNumber', () => ({ _: 'error', code: 429, message: 'FLOOD_WAIT_42' }));
    const login = new TdLogin(td);
    td.authState({ _: 'authorizationStateWaitPhoneNumber' });
    const e = (await login.submit({ phone: '+79990000000' }).catch((x: unknown) => x)) as ConnectorError;
    expect(e.code).toBe('telegram_flood_wait');
    expect(e.retryable).toBe(true);
    expect(e.retryAfterMs).toBe(42_000);
    expect(login.step()).toBe('wait_phone');
  });
});

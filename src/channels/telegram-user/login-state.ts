/**
 * Logging a TDLib user account in: phone → code → (2FA password) → ready, driven by TDLib's
 * `updateAuthorizationState` updates (td_api.tl `AuthorizationState`). The CLI and
 * `POST /api/v1/telegram/:account/login` ({"phone"}, then {"code"}, then {"password"}) both call
 * `submit()`; `GET /api/v1/accounts` shows `step()`.
 *
 * A step given out of turn (a code while TDLib waits for the phone) is refused with a sentence
 * naming what TDLib waits for; TDLib's own refusals (PHONE_NUMBER_INVALID, PHONE_CODE_INVALID,
 * PASSWORD_HASH_INVALID, FLOOD_WAIT_x) become one human sentence each. `setTdlibParameters`
 * is tdl's job (it answers authorizationStateWaitTdlibParameters itself).
 */
import { ConnectorError, RemoteRefusedError, ValidationError } from '../../core/index.ts';
import { tdErrorOf, type TdClient, type TdObject } from './tdlib-client.ts';

export type LoginStep = 'starting' | 'wait_phone' | 'wait_code' | 'wait_password' | 'ready' | 'logging_out' | 'closed';

export type LoginInput = { phone: string } | { code: string } | { password: string };

const STEP_OF: Record<string, LoginStep> = {
  authorizationStateWaitTdlibParameters: 'starting',
  authorizationStateWaitPhoneNumber: 'wait_phone',
  authorizationStateWaitCode: 'wait_code',
  authorizationStateWaitPassword: 'wait_password',
  authorizationStateReady: 'ready',
  authorizationStateLoggingOut: 'logging_out',
  authorizationStateClosing: 'closed',
  authorizationStateClosed: 'closed',
};

const WANTS: Partial<Record<LoginStep, keyof Record<'phone' | 'code' | 'password', unknown>>> = {
  wait_phone: 'phone',
  wait_code: 'code',
  wait_password: 'password',
};

/** TDLib error messages → one sentence for the person logging in. */
function refusal(message: string): ConnectorError {
  const flood = /^FLOOD_WAIT_(\d+)$/.exec(message) ?? /retry after (\d+)/i.exec(message);
  if (flood) {
    const s = Number(flood[1]);
    return new RemoteRefusedError('telegram_flood_wait', `Telegram asks to wait ${s} s before trying to log in again.`, {
      httpStatus: 429,
      retryable: true,
      retryAfterMs: s * 1000,
    });
  }
  if (/PHONE_NUMBER_INVALID/.test(message)) return new ValidationError('Telegram does not accept this phone number.', 'invalid_phone');
  if (/PHONE_CODE_INVALID|PHONE_CODE_EMPTY/.test(message)) return new ValidationError('The login code is wrong.', 'invalid_code');
  if (/PHONE_CODE_EXPIRED/.test(message))
    return new ValidationError('The login code expired; send the phone again for a new one.', 'code_expired');
  if (/PASSWORD_HASH_INVALID/.test(message)) return new ValidationError('The two-step verification password is wrong.', 'invalid_password');
  return new RemoteRefusedError('telegram_login_refused', `Telegram refused the login step (${message}).`, { httpStatus: 400 });
}

export class TdLogin {
  private current: LoginStep = 'starting';
  private detail: { codeSentTo: string | null; passwordHint: string | null } = { codeSentTo: null, passwordHint: null };
  private readonly waiters = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(private readonly client: TdClient) {
    this.unsubscribe = client.onUpdate((u) => this.onUpdate(u));
  }

  step(): LoginStep {
    return this.current;
  }

  /** Where the code went (the phone number TDLib names), or the password hint. */
  hints(): { codeSentTo: string | null; passwordHint: string | null } {
    return { ...this.detail };
  }

  private onUpdate(u: TdObject): void {
    if (u._ !== 'updateAuthorizationState') return;
    const st = u.authorization_state as TdObject | undefined;
    const next = st ? STEP_OF[st._] : undefined;
    if (!st || !next) return;
    if (st._ === 'authorizationStateWaitCode') {
      const info = st.code_info as { phone_number?: unknown } | undefined;
      this.detail.codeSentTo = typeof info?.phone_number === 'string' ? info.phone_number : null;
    }
    if (st._ === 'authorizationStateWaitPassword') {
      this.detail.passwordHint = typeof st.password_hint === 'string' && st.password_hint ? st.password_hint : null;
    }
    this.current = next;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once the step is `step` (or at once when it is). */
  async until(step: LoginStep): Promise<void> {
    while (this.current !== step) await this.nextChange();
  }

  private nextChange(): Promise<void> {
    return new Promise<void>((r) => {
      const w = () => {
        this.waiters.delete(w);
        r();
      };
      this.waiters.add(w);
    });
  }

  /** Hands one login step to TDLib; resolves with the step TDLib moved to. */
  async submit(input: LoginInput): Promise<LoginStep> {
    const given = 'phone' in input ? 'phone' : 'code' in input ? 'code' : 'password';
    const wanted = WANTS[this.current];
    if (wanted !== given) {
      const now = wanted ? `TDLib waits for the ${wanted}` : `the account is ${this.current.replace('_', ' ')}`;
      throw new ValidationError(`A ${given} is not expected now: ${now}.`, 'login_out_of_turn', 409);
    }
    const moved = this.nextChange();
    const request: TdObject =
      'phone' in input
        ? { _: 'setAuthenticationPhoneNumber', phone_number: input.phone.trim() }
        : 'code' in input
          ? { _: 'checkAuthenticationCode', code: input.code.trim() }
          : { _: 'checkAuthenticationPassword', password: input.password };
    try {
      await this.client.invoke(request);
    } catch (err) {
      throw refusal(tdErrorOf(err).message);
    }
    await moved;
    return this.current;
  }

  close(): void {
    this.unsubscribe();
  }
}

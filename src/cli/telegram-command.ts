/**
 * `chat-connector telegram login <account>`: runs a TDLib user account in this process until
 * it is logged in — phone → code → (two-step verification) password, asked one by one at the
 * terminal, each refused step said in one sentence and asked again. Messages that arrive
 * meanwhile go to `ctx.sink` (the pipeline) like in the service. Run it while the service does
 * not hold the account, or log in over HTTP instead (POST /api/v1/telegram/<account>/login).
 */
import { ConnectorError, describeError, type InboundSink } from '../core/index.ts';
import type { TdUserRunner } from '../channels/telegram-user/inbound-runner.ts';
import type { LoginInput, LoginStep } from '../channels/telegram-user/login-state.ts';

export type LoginRunner = Pick<TdUserRunner, 'start' | 'stop' | 'login'>;

export interface TelegramCommandContext {
  runner(account: string): LoginRunner | undefined;
  sink: InboundSink;
  /** Asks one question at the terminal (`secret`: not echoed); null when the input ended. */
  ask(question: string, secret: boolean): Promise<string | null>;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** How long TDLib may take to say what it waits for (default 60 s). */
  startTimeoutMs?: number;
}

const USAGE = 'usage: chat-connector telegram login <account>\n';
const SETTLED: readonly LoginStep[] = ['wait_phone', 'wait_code', 'wait_password', 'ready', 'logging_out', 'closed'];

export async function runTelegramCommand(args: string[], ctx: TelegramCommandContext): Promise<number> {
  const [sub, account, ...rest] = args;
  if (sub !== 'login' || !account || account.startsWith('-') || rest.length) {
    ctx.stderr.write(USAGE);
    return 2;
  }
  const runner = ctx.runner(account);
  if (!runner) {
    ctx.stderr.write(`No Telegram user account "${account}" is configured (TELEGRAM_USER_ACCOUNTS).\n`);
    return 1;
  }
  await runner.start(ctx.sink);
  try {
    const login = runner.login;
    if (!login) throw new Error('TDLib did not start');
    const settled = Promise.race(SETTLED.map((s) => login.until(s)));
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ctx.startTimeoutMs ?? 60_000).unref());
    if ((await Promise.race([settled, timeout])) === 'timeout') {
      ctx.stderr.write('TDLib did not say within a minute what it waits for; is the data directory readable and the key right?\n');
      return 1;
    }
    for (;;) {
      const step = login.step();
      if (step === 'ready') {
        ctx.stdout.write(`Telegram user account "${account}" is logged in; the connector can run it now.\n`);
        return 0;
      }
      if (step !== 'wait_phone' && step !== 'wait_code' && step !== 'wait_password') {
        ctx.stderr.write(`The TDLib session of "${account}" is ${step.replace('_', ' ')}; run the command again.\n`);
        return 1;
      }
      const hints = login.hints();
      const question =
        step === 'wait_phone'
          ? 'Phone number of the account (international, e.g. +79991234567): '
          : step === 'wait_code'
            ? `The code Telegram sent${hints.codeSentTo ? ` for ${hints.codeSentTo}` : ''}: `
            : `Two-step verification password${hints.passwordHint ? ` (hint: ${hints.passwordHint})` : ''}: `;
      const answer = await ctx.ask(question, step === 'wait_password');
      if (answer === null) {
        ctx.stderr.write('\nNo input; the login is not finished.\n');
        return 1;
      }
      if (!answer.trim()) continue;
      const input: LoginInput = step === 'wait_phone' ? { phone: answer } : step === 'wait_code' ? { code: answer } : { password: answer };
      try {
        await login.submit(input);
      } catch (err) {
        if (!(err instanceof ConnectorError)) throw err;
        ctx.stderr.write(`${err.message}\n`);
        if (err.retryAfterMs) {
          ctx.stderr.write('Run the command again after that.\n');
          return 1;
        }
      }
    }
  } catch (err) {
    ctx.stderr.write(`The login failed: ${describeError(err)}\n`);
    return 1;
  } finally {
    await runner.stop();
  }
}

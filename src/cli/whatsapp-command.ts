/**
 * `chat-connector whatsapp pair <account> [--phone N]`: runs the account's runner in this
 * process until it is paired (state `open`), printing the QR code in the terminal — or,
 * with --phone, a pairing code to type on the phone (WhatsApp › Linked devices › Link with
 * phone number). Messages that arrive meanwhile go to `ctx.sink` like in the service.
 * Run it while the service does not hold the account (or pair over HTTP instead).
 */
import QRCode from 'qrcode';
import { describeError, type AccountState, type InboundSink } from '../core/index.ts';
import type { WhatsappRunnerLike } from '../channels/whatsapp/account-runner.ts';

export interface PairableRunner extends WhatsappRunnerLike {
  start(sink: InboundSink): Promise<void>;
  stop(): Promise<void>;
  onChange(listener: (state: AccountState, qr: string | null) => void): () => void;
  /** When the next reconnect happens (for "retrying in 9 s"). */
  diagnostics?(): { retryInMs: number | null };
  /** The linked number once paired. */
  linkedPhone?(): string | null;
}

/** A connection error as Baileys / Node word it → a sentence for a person at a terminal. */
export function describeConnectError(lastError: string): string {
  const host = /(?:getaddrinfo|connect)\s+\w+\s+([\w.-]+)/.exec(lastError)?.[1] ?? 'web.whatsapp.com';
  if (/ENOTFOUND|EAI_AGAIN/.test(lastError)) return `Cannot reach WhatsApp (${host}: DNS lookup failed)`;
  if (/ECONNREFUSED/.test(lastError)) return `Cannot reach WhatsApp (${host}: connection refused)`;
  if (/ETIMEDOUT|timed out|Timed Out/i.test(lastError)) return 'Cannot reach WhatsApp (the connection timed out)';
  if (/ECONNRESET|socket hang up/i.test(lastError)) return 'Cannot reach WhatsApp (the connection was reset; a proxy or firewall?)';
  if (/ENETUNREACH|EHOSTUNREACH/.test(lastError)) return `Cannot reach WhatsApp (${host}: no route to the network)`;
  const code = /\((\d{3})\)\s*$/.exec(lastError)?.[1];
  return `The connection to WhatsApp closed${code ? ` (${code})` : ''}`;
}

export interface WhatsappCommandContext {
  /** The runner of a configured account, or undefined. */
  runner(account: string): PairableRunner | undefined;
  /** Where messages arriving during pairing go (the pipeline's inbound sink). */
  sink: InboundSink;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Give up when WhatsApp stays unreachable this long with no QR code shown (default 2 minutes). */
  unreachableMs?: number;
  signal?: AbortSignal;
}

const USAGE = 'usage: chat-connector whatsapp pair <account> [--phone <international number>]\n';

export async function runWhatsappCommand(args: string[], ctx: WhatsappCommandContext): Promise<number> {
  const [sub, account, ...rest] = args;
  if (sub !== 'pair' || !account || account.startsWith('-')) {
    ctx.stderr.write(USAGE);
    return 2;
  }
  let phone: string | null = null;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--phone') phone = rest[++i] ?? '';
    else if (a.startsWith('--phone=')) phone = a.slice('--phone='.length);
    else {
      ctx.stderr.write(`unknown option ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (phone !== null && !/^\+?[\d\s()-]{7,20}$/.test(phone)) {
    ctx.stderr.write('--phone must be the international number in digits, e.g. 79991234567\n');
    return 2;
  }
  const runner = ctx.runner(account);
  if (!runner) {
    ctx.stderr.write(`No WhatsApp account "${account}" is configured (WHATSAPP_ACCOUNTS).\n`);
    return 1;
  }

  let lastQr: string | null = null;
  let codeRequested = false;
  const result = await new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number, line: string, toErr = false): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off();
      ctx.signal?.removeEventListener('abort', onAbort);
      (toErr ? ctx.stderr : ctx.stdout).write(line);
      resolve(code);
    };
    const onAbort = (): void => finish(1, 'Pairing cancelled.\n', true);
    const timer = setTimeout(() => finish(1, 'Pairing timed out; run the command again.\n', true), ctx.timeoutMs ?? 5 * 60_000);
    const unreachableMs = ctx.unreachableMs ?? 2 * 60_000;
    let unreachableSince: number | null = null;
    let lastLine = '';
    const off = runner.onChange((state, qr) => {
      if (state.state === 'open') {
        const phone = runner.linkedPhone?.();
        return finish(0, `WhatsApp account "${account}" is paired${phone ? ` with ${phone}` : ''} and connected.\n`);
      }
      if (state.state === 'waiting_for_pairing')
        return finish(
          1,
          `Nobody scanned the QR codes of WhatsApp account "${account}"; run the command again when the phone is at hand.\n`,
          true,
        );
      if (state.state === 'outdated_version' || state.state === 'forbidden' || state.state === 'error')
        return finish(1, `WhatsApp account "${account}" cannot be paired now: ${state.lastError ?? state.state}.\n`, true);
      if (state.state === 'logged_out' || state.state === 'replaced') {
        return finish(1, `WhatsApp account "${account}" is ${state.state}: ${state.lastError ?? ''}\n`, true);
      }
      const retryIn = runner.diagnostics?.().retryInMs ?? null;
      if (!qr && state.lastError && retryIn !== null) {
        // a failed connection attempt: one sentence, not the library's log lines
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince >= unreachableMs) {
          return finish(
            1,
            `${describeConnectError(state.lastError)} for ${Math.round(unreachableMs / 1000)} s; giving up. ` +
              'Check the network (DNS, firewall, proxy) and run the command again.\n',
            true,
          );
        }
        const line = `${describeConnectError(state.lastError)} — retrying in ${Math.max(1, Math.round(retryIn / 1000))} s; Ctrl-C to stop\n`;
        if (line !== lastLine) ctx.stderr.write(line);
        lastLine = line;
        return;
      }
      if (qr) unreachableSince = null;
      if (!qr || qr === lastQr) return;
      lastQr = qr;
      if (phone === null) {
        QRCode.toString(qr, { type: 'terminal', small: true })
          .then((text) => {
            if (!done) ctx.stdout.write(`Scan with WhatsApp › Linked devices › Link a device (account "${account}"):\n${text}\n`);
          })
          .catch((err: unknown) => ctx.stderr.write(`could not draw the QR code: ${describeError(err)}\n`));
      } else if (!codeRequested) {
        codeRequested = true;
        runner
          .requestPairingCode(phone)
          .then((code) =>
            ctx.stdout.write(
              `Pairing code for ${phone}: ${code}\nOn the phone: WhatsApp › Linked devices › Link a device › Link with phone number instead, then enter the code.\n`,
            ),
          )
          .catch((err: unknown) => finish(1, `Could not get a pairing code: ${describeError(err)}\n`, true));
      }
    });
    ctx.signal?.addEventListener('abort', onAbort);
    runner
      .start(ctx.sink)
      .catch((err: unknown) => finish(1, `Could not start WhatsApp account "${account}": ${describeError(err)}\n`, true));
  });
  await runner.stop().catch(() => undefined);
  return result;
}

/**
 * `chat-connector onec-check [--url U --user U --password P] [--json]
 *  [--cyrillic-user U --cyrillic-password P] [--timeout-ms N] [--max-call-ms N]`
 *
 * Checks that a 1C publication keeps onec-http-service.md (see docs/onec-check.md). Each of
 * --url, --user, --password defaults to its ONEC_* setting; only those settings are read,
 * so the rest of a half-written .env does not stop a check. Exit 0 when every check passes,
 * 1 when any fails, 2 for a usage error, 130 when interrupted. On the first Ctrl+C it stops
 * after the call in flight and finishes every 1C session it opened; a second one quits at once.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadOnecCheckSettings } from '../config/config.ts';
import { formatOutcome, formatSummary, runOnecCheck, type Credentials, type OnecCheckReport } from '../onec/check/index.ts';
import { redactUrl } from '../onec/onec-errors.ts';

export interface OnecCheckIo {
  out(line: string): void;
  err(line: string): void;
}

export interface OnecCheckCommandOptions {
  io?: OnecCheckIo;
  env?: Record<string, string | undefined>;
  envFile?: string | false;
  /** Interrupts like Ctrl+C does (tests). */
  signal?: AbortSignal;
  /** Listen to SIGINT/SIGTERM (default true; tests running in-process turn it off). */
  handleSignals?: boolean;
}

const USAGE =
  'usage: chat-connector onec-check [--url U --user U --password P] [--json] [--cyrillic-user U --cyrillic-password P] [--timeout-ms N] [--max-call-ms N]';

const stdio: OnecCheckIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

function positiveInt(name: string, v: string | undefined): number | undefined | string {
  if (v === undefined) return undefined;
  return /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : `--${name} must be a whole number of milliseconds above 0, got "${v}"`;
}

export async function runOnecCheckCommand(args: string[], o: OnecCheckCommandOptions = {}): Promise<number> {
  const io = o.io ?? stdio;
  // `onec-check | head` must not crash on EPIPE before the sessions are finished.
  if (!o.io) process.stdout.on('error', () => undefined);
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        json: { type: 'boolean' },
        'cyrillic-user': { type: 'string' },
        'cyrillic-password': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'max-call-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.err(`onec-check: ${e instanceof Error ? e.message : String(e)}`);
    io.err(USAGE);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    io.out('Checks that the 1C publication keeps onec-http-service.md; see docs/onec-check.md for each check.');
    return 0;
  }
  let settings;
  try {
    settings = loadOnecCheckSettings(o.env ?? process.env, { envFile: o.envFile });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) io.err(`config: ${p}`);
    return 2;
  }
  const url = values.url ?? settings.baseUrl;
  const user = values.user ?? settings.user;
  if (!url || !user) {
    io.err(`onec-check: ${!url ? 'no 1C service URL: pass --url or set ONEC_BASE_URL' : 'no 1C user: pass --user or set ONEC_USER'}.`);
    io.err(USAGE);
    return 2;
  }
  try {
    new URL(url);
  } catch {
    io.err(`onec-check: --url is not a valid URL: "${redactUrl(url)}".`);
    return 2;
  }
  const cu = values['cyrillic-user'];
  const cp = values['cyrillic-password'];
  if ((cu === undefined) !== (cp === undefined)) {
    io.err('onec-check: --cyrillic-user and --cyrillic-password go together.');
    return 2;
  }
  const timeoutMs = positiveInt('timeout-ms', values['timeout-ms']) ?? settings.timeoutMs;
  const maxCallMs = positiveInt('max-call-ms', values['max-call-ms']);
  for (const v of [timeoutMs, maxCallMs])
    if (typeof v === 'string') {
      io.err(`onec-check: ${v}.`);
      return 2;
    }
  const service: Credentials = { login: user, password: values.password ?? settings.password };
  const cyrillic: Credentials | null = cu !== undefined && cp !== undefined ? { login: cu, password: cp } : null;
  const json = values.json === true;

  const ac = new AbortController();
  o.signal?.addEventListener('abort', () => ac.abort(), { once: true });
  let stops = 0;
  const onSignal = (): void => {
    stops++;
    if (stops === 1) {
      io.err('onec-check: interrupted — finishing the 1C sessions this run opened (Ctrl+C again quits at once).');
      ac.abort();
      return;
    }
    io.err('onec-check: quit before finishing its sessions; 1C ends them after sessionMaxAge.');
    process.exit(130);
  };
  const handle = o.handleSignals ?? true;
  if (handle) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  if (!json) io.out(`onec-check ${redactUrl(url)} as "${user}"`);
  let report: OnecCheckReport;
  try {
    report = await runOnecCheck({
      url,
      service,
      cyrillic,
      timeoutMs: timeoutMs as number,
      ...(maxCallMs === undefined ? {} : { maxCallMs: maxCallMs as number }),
      signal: ac.signal,
      onOutcome: json ? undefined : (c) => io.out(formatOutcome(c)),
    });
  } finally {
    if (handle) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  if (json) io.out(JSON.stringify(report, null, 2));
  else io.out(formatSummary(report));
  return report.interrupted ? 130 : report.ok ? 0 : 1;
}

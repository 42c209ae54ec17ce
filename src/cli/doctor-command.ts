/**
 * `chat-connector doctor [--json]`: checks configuration, Redis, 1C, the license and each
 * account; one line each, ✓ or ✗ with what to do. Exit 1 when any ✗ stops chats.
 *
 * A configuration problem is a ✗ line per problem; the other checks still run with what
 * can be read (so one pass shows everything to fix).
 */
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { describeError } from '../core/index.ts';
import { runDoctorChecks, type DoctorLine } from '../ops/doctor.ts';

export interface DoctorIo {
  out(line: string): void;
  err(line: string): void;
}

export interface DoctorCommandOptions {
  io?: DoctorIo;
  /** Environment to read (default process.env, plus ./.env). */
  env?: Record<string, string | undefined>;
  /** `.env` path or false (default `./.env`). */
  envFile?: string | false;
  hostId?: string;
  timeoutMs?: number;
  /** Trusted vendor license keys directory (tests; default the package's `keys/license/`). */
  trustedKeysDir?: string;
}

const stdio: DoctorIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

export async function runDoctor(args: string[], o: DoctorCommandOptions = {}): Promise<number> {
  const io = o.io ?? stdio;
  const json = args.includes('--json');
  const unknown = args.find((a) => a !== '--json');
  if (unknown) {
    io.err(`doctor: unexpected argument "${unknown}"; usage: chat-connector doctor [--json]`);
    return 2;
  }
  const lines: DoctorLine[] = [];
  const print = (l: DoctorLine) => {
    lines.push(l);
    if (!json) io.out(`${l.mark} ${l.text}`);
  };
  const env = o.env ?? process.env;
  let config: Readonly<Config> | null = null;
  try {
    config = loadConfig(env, { purpose: 'start', envFile: o.envFile });
    print({ check: 'config', mark: '✓', fatal: false, text: 'Configuration is complete and valid.' });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) print({ check: 'config', mark: '✗', fatal: true, text: `Configuration: ${p}.` });
    try {
      config = loadConfig(env, { purpose: 'cli', envFile: o.envFile });
    } catch {
      config = null;
    }
  }
  if (config) {
    try {
      await runDoctorChecks(config, { hostId: o.hostId, timeoutMs: o.timeoutMs, trustedKeysDir: o.trustedKeysDir, onLine: print });
    } catch (e) {
      print({ check: 'doctor', mark: '✗', fatal: true, text: `The checks stopped on an unexpected error: ${describeError(e)}` });
    }
  } else {
    print({ check: 'doctor', mark: '✗', fatal: true, text: 'The other checks need a readable configuration; fix the lines above first.' });
  }
  const fatal = lines.filter((l) => l.fatal).length;
  if (json) io.out(JSON.stringify({ ok: fatal === 0, checks: lines }, null, 2));
  else
    io.out(
      fatal === 0
        ? 'Everything essential is in order.'
        : `${fatal} problem${fatal === 1 ? '' : 's'} stop${fatal === 1 ? 's' : ''} chats; fix the ✗ lines above.`,
    );
  return fatal === 0 ? 0 : 1;
}

/**
 * `chat-connector license …` (connector-api.md, "CLI"):
 *   host-id [--json]          this host's id, for binding features 31 and 42
 *   verify [--json]           the document's validity (exit 1 when not valid)
 *   report [--json]           features, seats used/total and holders, forecast
 * Exit codes: 0 ok, 1 the check failed, 2 bad arguments (one line saying what is wrong).
 * Signing (key pairs, issuing documents) is the vendor's tool (`vendor/vendor-license.ts`),
 * not part of this command: a customer cannot license a host with a key of their own.
 */
import { Redis } from 'ioredis';
import { describeError, redactUrl, ValidationError } from '../core/index.ts';
import { FEATURE_IDS } from '../licensing/features.ts';
import { describeHostId } from '../licensing/host-id.ts';
import { chatModuleGranted, checkLicenseFile } from '../licensing/license-document.ts';
import { buildLicenseReport, renderLicenseReport } from '../licensing/license-report.ts';
import { SeatManager } from '../licensing/seats.ts';
import { loadTrustedKeys } from '../licensing/trusted-keys.ts';

export interface LicenseCommandContext {
  license: { file: string | null };
  /** Where the trusted vendor keys are (default: the package's `keys/license/`); code only (tests). */
  trustedKeysDir?: string;
  redisUrl: string;
  queuePrefix: string;
  seatTtlS: number;
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = 'usage: chat-connector license host-id | verify | report [--json]';

class ArgError extends Error {}

interface Parsed {
  flags: Map<string, string[]>;
  positional: string[];
}

/** `--name value`, `--name=value`; boolean flags take no value. */
function parse(args: string[], valued: string[], booleans: string[]): Parsed {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (booleans.includes(name)) {
      if (eq > 0) throw new ArgError(`--${name} takes no value`);
      flags.set(name, ['true']);
    } else if (valued.includes(name)) {
      let v: string | undefined;
      if (eq > 0) v = a.slice(eq + 1);
      else v = args[++i];
      if (v === undefined || v === '' || (eq < 0 && v.startsWith('--'))) throw new ArgError(`--${name} needs a value`);
      flags.set(name, [...(flags.get(name) ?? []), v]);
    } else {
      throw new ArgError(`unknown option --${name}`);
    }
  }
  return { flags, positional };
}

function noPositional(p: Parsed, sub: string): void {
  if (p.positional.length) throw new ArgError(`license ${sub} takes no argument "${p.positional[0]}"`);
}

export async function runLicenseCommand(args: string[], ctx: LicenseCommandContext): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'host-id':
        return hostIdCmd(rest, ctx);
      case 'verify':
        return verifyCmd(rest, ctx);
      case 'report':
        return await reportCmd(rest, ctx);
      case undefined:
        ctx.err(`license: a subcommand is required; ${USAGE}`);
        return 2;
      default:
        ctx.err(`license: unknown subcommand "${sub}"; ${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ArgError || e instanceof ValidationError) {
      ctx.err(`license ${sub}: ${e.message}`);
      return 2;
    }
    ctx.err(`license ${sub}: ${describeError(e)}`);
    return 1;
  }
}

function hostIdCmd(args: string[], ctx: LicenseCommandContext): number {
  const p = parse(args, [], ['json']);
  noPositional(p, 'host-id');
  const info = describeHostId();
  ctx.out(p.flags.has('json') ? JSON.stringify(info) : info.hostId);
  return 0;
}

function verifyCmd(args: string[], ctx: LicenseCommandContext): number {
  const p = parse(args, [], ['json']);
  noPositional(p, 'verify');
  const hostId = describeHostId().hostId;
  const r = checkLicenseFile(ctx.license.file, { trustedKeys: trusted(ctx), hostId });
  const chats = chatModuleGranted(r);
  if (p.flags.has('json')) {
    ctx.out(JSON.stringify({ ...r, chatsLicensed: chats }));
    return r.valid ? 0 : 1;
  }
  if (!r.valid) {
    ctx.out(`NOT valid [${r.code}]: ${r.reason}`);
    return 1;
  }
  const pl = r.payload!;
  const granted = FEATURE_IDS.filter((f) => r.features[f].state === 'granted').map((f) =>
    r.features[f].granted > 1 ? `${f}=${r.features[f].granted}` : String(f),
  );
  ctx.out(
    `valid: ${pl.id}${pl.licensee ? ` for ${pl.licensee}` : ''}, host ${pl.hostId}, ` +
      `${pl.expiresAt ? `expires ${pl.expiresAt}` : 'never expires'}; features ${granted.join(', ') || 'none'}`,
  );
  if (!chats) ctx.out(`chat module NOT licensed: ${r.features[42].reason}`);
  return 0;
}

async function reportCmd(args: string[], ctx: LicenseCommandContext): Promise<number> {
  const p = parse(args, [], ['json']);
  noPositional(p, 'report');
  const hostId = describeHostId().hostId;
  const check = checkLicenseFile(ctx.license.file, { trustedKeys: trusted(ctx), hostId });
  const redis = new Redis(ctx.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 3_000,
    retryStrategy: () => null,
  });
  let lastError: string | null = null;
  redis.on('error', (e: Error) => {
    lastError = e.message;
  }); // reported through the failed connect below
  let seats: SeatManager | null = null;
  let redisProblem: string | null = null;
  try {
    await redis.connect();
    seats = new SeatManager({ redis, prefix: ctx.queuePrefix, ttlS: ctx.seatTtlS });
  } catch (e) {
    redisProblem = `Redis at ${redactUrl(ctx.redisUrl)} did not answer (${lastError ?? describeError(e)}); seat numbers are left out.`;
  }
  try {
    const report = await buildLicenseReport({ check, seats });
    if (redisProblem)
      report.warnings = report.warnings.filter((w) => !w.startsWith('Seat usage is unknown: no Redis')).concat(redisProblem);
    if (p.flags.has('json')) ctx.out(JSON.stringify(report, null, 2));
    else for (const line of renderLicenseReport(report)) ctx.out(line);
    return 0;
  } finally {
    redis.disconnect();
  }
}

/** The trusted vendor keys; a refused key file (a private key, say) is stated on stderr. */
function trusted(ctx: LicenseCommandContext): ReturnType<typeof loadTrustedKeys> {
  const keys = loadTrustedKeys(ctx.trustedKeysDir);
  for (const sentence of keys.refused) ctx.err(sentence);
  return keys;
}

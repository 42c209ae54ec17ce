/**
 * `chat-connector license …` (connector-api.md, "CLI"):
 *   host-id [--json]          this host's id, for binding features 31 and 42
 *   verify [--json]           the document's validity (exit 1 when not valid)
 *   report [--json]           features, seats used/total and holders, forecast
 *   keygen [--out DIR]        vendor: an Ed25519 key pair (private key file mode 0600)
 *   issue --key FILE --host ID --feature 42 --feature 48=25 … [--expires ISO|never]
 *         [--licensee NAME] [--id ID] [--out FILE]
 * Exit codes: 0 ok, 1 the check failed, 2 bad arguments (one line saying what is wrong).
 * The private key is never printed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describeError, redactUrl, ValidationError } from '../core/index.ts';
import { FEATURE_IDS, HOST_FEATURES, type FeatureId } from '../licensing/features.ts';
import { describeHostId } from '../licensing/host-id.ts';
import { chatModuleGranted, checkLicenseFile } from '../licensing/license-document.ts';
import { buildLicenseReport, renderLicenseReport } from '../licensing/license-report.ts';
import { issueLicense, keygen } from '../licensing/license-tools.ts';
import { SeatManager } from '../licensing/seats.ts';

export interface LicenseCommandContext {
  license: { file: string | null; publicKey: string | null };
  redisUrl: string;
  queuePrefix: string;
  seatTtlS: number;
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE =
  'usage: chat-connector license host-id | verify | report [--json] | keygen [--out DIR] | ' +
  'issue --key FILE --host ID --feature 42 --feature 48=25 [--expires ISO|never] [--licensee NAME] [--id ID] [--out FILE]';

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

function one(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  if (v && v.length > 1) throw new ArgError(`--${name} is given more than once`);
  return v?.[0];
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
      case 'keygen':
        return await keygenCmd(rest, ctx);
      case 'issue':
        return issueCmd(rest, ctx);
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
  const r = checkLicenseFile(ctx.license.file, { publicKey: ctx.license.publicKey, hostId });
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
  const check = checkLicenseFile(ctx.license.file, { publicKey: ctx.license.publicKey, hostId });
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

async function keygenCmd(args: string[], ctx: LicenseCommandContext): Promise<number> {
  const p = parse(args, ['out'], []);
  noPositional(p, 'keygen');
  const r = await keygen(one(p, 'out') ?? '.');
  ctx.out(`private key (keep it secret, never give it out): ${r.privateKeyPath}`);
  ctx.out(`public key (LICENSE_PUBLIC_KEY on every connector): ${r.publicKeyPath}`);
  return 0;
}

function issueCmd(args: string[], ctx: LicenseCommandContext): number {
  const p = parse(args, ['key', 'host', 'feature', 'expires', 'licensee', 'id', 'out'], []);
  noPositional(p, 'issue');
  const keyFile = one(p, 'key');
  if (!keyFile) throw new ArgError('--key FILE (the private key from license keygen) is required');
  const hostId = one(p, 'host');
  if (!hostId) throw new ArgError('--host ID (from license host-id on the customer host) is required');
  const featureArgs = p.flags.get('feature') ?? [];
  if (!featureArgs.length) throw new ArgError('at least one --feature is required, e.g. --feature 42 --feature 48=25');
  const features: Partial<Record<FeatureId, number>> = {};
  for (const fa of featureArgs) {
    const m = /^(\d+)(?:=(\d+))?$/.exec(fa.trim());
    if (!m) throw new ArgError(`--feature "${fa}" is not of the form ID or ID=COUNT`);
    const f = Number(m[1]) as FeatureId;
    if (!FEATURE_IDS.includes(f)) throw new ArgError(`--feature ${m[1]} is not one of ${FEATURE_IDS.join(', ')}`);
    if (features[f] !== undefined) throw new ArgError(`--feature ${f} is given more than once`);
    const n = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isSafeInteger(n) || n < 1) throw new ArgError(`--feature ${f} needs a count of at least 1`);
    if ((HOST_FEATURES as readonly number[]).includes(f) && n !== 1) {
      throw new ArgError(`--feature ${f} is granted per host; its count is 1`);
    }
    features[f] = n;
  }
  const exp = one(p, 'expires');
  let expiresAt: Date | null = null;
  if (exp !== undefined && exp !== 'never') {
    if (!/^\d{4}-\d{2}-\d{2}/.test(exp) || Number.isNaN(Date.parse(exp))) {
      throw new ArgError(`--expires "${exp}" is neither an ISO 8601 time nor "never"`);
    }
    expiresAt = new Date(exp);
  }
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(keyFile, 'utf8');
  } catch {
    throw new ArgError(`--key ${keyFile} cannot be read`);
  }
  const doc = issueLicense({
    privateKeyPem,
    hostId,
    features,
    expiresAt,
    id: one(p, 'id'),
    licensee: one(p, 'licensee'),
  });
  const outFile = one(p, 'out');
  if (outFile) {
    writeFileSync(outFile, doc);
    const id = (JSON.parse(Buffer.from((JSON.parse(doc) as { payload: string }).payload, 'base64url').toString('utf8')) as { id: string })
      .id;
    ctx.out(`wrote license ${id} for host ${hostId} to ${outFile}`);
  } else {
    for (const line of doc.trimEnd().split('\n')) ctx.out(line);
  }
  return 0;
}

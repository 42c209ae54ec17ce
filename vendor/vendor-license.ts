/**
 * The vendor's license tool — NOT part of the customer's `chat-connector` command:
 *
 *   npm run vendor-license -- keygen [--out DIR] [--name NAME]
 *       an Ed25519 key pair: DIR/NAME.private.key (mode 0600, keep it offline) and
 *       DIR/NAME.pem (the public key: commit it into keys/license/ to ship it)
 *   npm run vendor-license -- issue --key FILE --host ID --feature 42 --feature 48=25 …
 *       [--expires ISO|never] [--licensee NAME] [--id ID] [--out FILE]
 *       a signed license document for a customer's host (`chat-connector license host-id`)
 *
 * Exit codes: 0 ok, 1 failure, 2 bad arguments (one line saying what is wrong). The private
 * key is never printed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describeError, ValidationError } from '../src/core/index.ts';
import { FEATURE_IDS, HOST_FEATURES, type FeatureId } from '../src/licensing/features.ts';
import { issueLicense, keygen } from './license-signing.ts';

export interface VendorContext {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE =
  'usage: npm run vendor-license -- keygen [--out DIR] [--name NAME] | ' +
  'issue --key FILE --host ID --feature 42 --feature 48=25 [--expires ISO|never] [--licensee NAME] [--id ID] [--out FILE]';

class ArgError extends Error {}

type Flags = Map<string, string[]>;

/** `--name value` or `--name=value`; every option takes a value. */
function parse(args: string[], valued: string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new ArgError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!valued.includes(name)) throw new ArgError(`unknown option --${name}`);
    const v = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (v === undefined || v === '' || (eq < 0 && v.startsWith('--'))) throw new ArgError(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), v]);
  }
  return flags;
}

function one(f: Flags, name: string): string | undefined {
  const v = f.get(name);
  if (v && v.length > 1) throw new ArgError(`--${name} is given more than once`);
  return v?.[0];
}

export async function runVendorLicense(args: string[], ctx: VendorContext): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'keygen') return await keygenCmd(rest, ctx);
    if (sub === 'issue') return issueCmd(rest, ctx);
    ctx.err(
      sub === undefined ? `vendor-license: a subcommand is required; ${USAGE}` : `vendor-license: unknown subcommand "${sub}"; ${USAGE}`,
    );
    return 2;
  } catch (e) {
    if (e instanceof ArgError || e instanceof ValidationError) {
      ctx.err(`vendor-license ${sub}: ${e.message}`);
      return 2;
    }
    ctx.err(`vendor-license ${sub}: ${describeError(e)}`);
    return 1;
  }
}

async function keygenCmd(args: string[], ctx: VendorContext): Promise<number> {
  const f = parse(args, ['out', 'name']);
  const r = await keygen(one(f, 'out') ?? '.', one(f, 'name') ?? 'license');
  ctx.out(`private key (keep it offline, never give it out, never commit it): ${r.privateKeyPath}`);
  ctx.out(`public key (ship it: copy into keys/license/ of the package): ${r.publicKeyPath}`);
  return 0;
}

function parseFeatures(featureArgs: string[]): Partial<Record<FeatureId, number>> {
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
    if ((HOST_FEATURES as readonly number[]).includes(f) && n !== 1)
      throw new ArgError(`--feature ${f} is granted per host; its count is 1`);
    features[f] = n;
  }
  return features;
}

function issueCmd(args: string[], ctx: VendorContext): number {
  const f = parse(args, ['key', 'host', 'feature', 'expires', 'licensee', 'id', 'out']);
  const keyFile = one(f, 'key');
  if (!keyFile) throw new ArgError('--key FILE (the private key from keygen) is required');
  const hostId = one(f, 'host');
  if (!hostId) throw new ArgError('--host ID (from `chat-connector license host-id` on the customer host) is required');
  const features = parseFeatures(f.get('feature') ?? []);
  const exp = one(f, 'expires');
  let expiresAt: Date | null = null;
  if (exp !== undefined && exp !== 'never') {
    if (!/^\d{4}-\d{2}-\d{2}/.test(exp) || Number.isNaN(Date.parse(exp))) {
      throw new ArgError(`--expires "${exp}" is neither an ISO 8601 time nor "never"`);
    }
    expiresAt = new Date(exp); // written back as UTC with a Z: the connector refuses times without a zone
  }
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(keyFile, 'utf8');
  } catch {
    throw new ArgError(`--key ${keyFile} cannot be read`);
  }
  const doc = issueLicense({ privateKeyPem, hostId, features, expiresAt, id: one(f, 'id'), licensee: one(f, 'licensee') });
  const outFile = one(f, 'out');
  if (outFile) {
    writeFileSync(outFile, doc);
    const payload = (JSON.parse(doc) as { payload: string }).payload;
    const id = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { id: string }).id;
    ctx.out(`wrote license ${id} for host ${hostId} to ${outFile}`);
  } else {
    for (const line of doc.trimEnd().split('\n')) ctx.out(line);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runVendorLicense(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  });
  process.exitCode = code;
}

/**
 * Vendor-side signing (`npm run vendor-license -- keygen | issue`): an Ed25519 signing key
 * pair, and a signed license document for a host (licensing.md, "The license document").
 *
 * Not part of the customer's `chat-connector` command. A connector trusts only the public
 * keys shipped in its package's `keys/license/`; signing with any other key is refused
 * there, so the demo, tests, bench and soak sign with a throwaway key and hand its public
 * half to the connector in code (or in a temporary copy of the package).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValidationError } from '../src/core/index.ts';
import { FEATURE_IDS, HOST_FEATURES, type FeatureId } from '../src/licensing/features.ts';
import type { LicensePayload } from '../src/licensing/license-document.ts';

export interface KeygenResult {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The public key PEM (what ships in keys/license/). The private key is only in its file. */
  publicKeyPem: string;
}

/**
 * Writes `<name>.private.key` (mode 0600: the vendor keeps it offline) and `<name>.pem` (the
 * public key, for `keys/license/`) into `outDir` (created when missing). Refuses to
 * overwrite an existing private key. `.gitignore` keeps `*.key` out of the repository.
 */
export async function keygen(outDir: string, name = 'license'): Promise<KeygenResult> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new ValidationError(`The key name "${name}" may hold only A-Z a-z 0-9 _ . -`);
  const dir = resolve(outDir);
  const privateKeyPath = join(dir, `${name}.private.key`);
  const publicKeyPath = join(dir, `${name}.pem`);
  if (existsSync(privateKeyPath)) {
    throw new ValidationError(`${privateKeyPath} already exists; refusing to overwrite a signing key.`, 'key_exists');
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await mkdir(dir, { recursive: true });
  await writeFile(privateKeyPath, privateKey, { mode: 0o600, flag: 'wx' });
  await chmod(privateKeyPath, 0o600); // the mode of writeFile is filtered by the umask
  await writeFile(publicKeyPath, publicKey, { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, publicKeyPem: publicKey };
}

export interface IssueOptions {
  /** The vendor's Ed25519 private key (PKCS#8 PEM). */
  privateKeyPem: string;
  hostId: string;
  /** Feature → count, e.g. `{ 42: 1, 48: 25, 49: 10 }`. Host features (31, 42) take 1. */
  features: Partial<Record<FeatureId, number>>;
  /** Default: never expires. */
  expiresAt?: Date | string | null;
  /** Default: `LIC-` + 8 random hex digits. */
  id?: string;
  /** Default: empty. */
  licensee?: string;
  /** Default: now. */
  issuedAt?: Date | string;
}

/** Builds and signs a document; returns its JSON text (with a trailing newline). */
export function issueLicense(opts: IssueOptions): string {
  const payload = buildPayload(opts);
  return `${JSON.stringify(signPayload(payload, opts.privateKeyPem), null, 2)}\n`;
}

/** The payload `issueLicense` would sign (validated). */
export function buildPayload(opts: Omit<IssueOptions, 'privateKeyPem'>): LicensePayload {
  if (!opts.hostId?.trim()) throw new ValidationError('The host id is empty.');
  const features: Record<string, number> = {};
  for (const [k, n] of Object.entries(opts.features)) {
    const f = Number(k);
    if (!(FEATURE_IDS as readonly number[]).includes(f)) {
      throw new ValidationError(`Feature ${k} is not one of ${FEATURE_IDS.join(', ')}.`);
    }
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
      throw new ValidationError(`Feature ${k} needs a positive whole count, not ${String(n)}.`);
    }
    if ((HOST_FEATURES as readonly number[]).includes(f) && n !== 1) {
      throw new ValidationError(`Feature ${k} is granted per host; its count is 1, not ${n}.`);
    }
    features[String(f)] = n;
  }
  if (!Object.keys(features).length) throw new ValidationError('No feature to grant.');
  return {
    id: opts.id ?? `LIC-${randomBytes(4).toString('hex').toUpperCase()}`,
    licensee: opts.licensee ?? '',
    hostId: opts.hostId.trim(),
    issuedAt: toIso(opts.issuedAt ?? new Date(), 'issuedAt'),
    expiresAt: opts.expiresAt === undefined || opts.expiresAt === null ? null : toIso(opts.expiresAt, 'expiresAt'),
    features,
  };
}

/** Signs any payload as-is (tests use it to sign deliberately odd payloads). */
export function signPayload(payload: unknown, privateKeyPem: string): { payload: string; signature: string } {
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new ValidationError('The signing key is not a PEM private key.', 'invalid_key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ValidationError('The signing key is not an Ed25519 key.', 'invalid_key');
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = sign(null, Buffer.from(encoded, 'ascii'), key).toString('base64url');
  return { payload: encoded, signature };
}

function toIso(v: Date | string, field: string): string {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw new ValidationError(`${field} is not a valid time: ${String(v)}.`);
  return d.toISOString();
}

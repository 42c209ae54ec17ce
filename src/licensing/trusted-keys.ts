/**
 * The vendor keys a license document is verified with (licensing.md, "Trusted keys").
 *
 * Trusted keys are Ed25519 public keys shipped inside the package as PEM files in
 * `keys/license/` at the package root — several at once, so the vendor can rotate keys
 * (documents signed by the old key stay valid while both ship). Nothing a customer
 * configures adds one: no environment variable, `.env` entry, API call or CLI command
 * reaches this module. Only code passes another directory (the demo, the tests, the bench
 * and the soak trust a throwaway key that way), which is why `dir` is a function argument
 * and never read from `Config`.
 *
 * A PEM holding a PRIVATE key is refused (it would otherwise yield its public half and
 * grant whatever the holder signs): it is reported in one sentence and grants nothing.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `keys/license/` of the package this module belongs to (resolved from the module's own place). */
export const PACKAGE_KEYS_DIR = fileURLToPath(new URL('../../keys/license/', import.meta.url));

export interface TrustedKey {
  /** The PEM file name (for logs and the report), or a label for keys given in code. */
  name: string;
  key: KeyObject;
}

export interface TrustedKeys {
  /** Where the keys came from (for messages); null for keys given in code. */
  dir: string | null;
  keys: TrustedKey[];
  /** One sentence per `.pem` file that was not taken (private key, not Ed25519, unreadable). */
  refused: string[];
}

const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const PUBLIC_PEM = /^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$/;

/** Reads every `*.pem` in `dir` (default: the package's own `keys/license/`). Never throws. */
export function loadTrustedKeys(dir: string = PACKAGE_KEYS_DIR): TrustedKeys {
  const out: TrustedKeys = { dir, keys: [], refused: [] };
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.toLowerCase().endsWith('.pem'))
      .sort();
  } catch {
    return out; // no folder: no trusted key, which the verifier states as the reason
  }
  for (const name of names) {
    const where = shown(join(dir, name));
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      out.refused.push(`The trusted key file ${where} cannot be read; it is ignored.`);
      continue;
    }
    const taken = parsePublicPem(text, where);
    if (typeof taken === 'string') out.refused.push(taken);
    else out.keys.push({ name, key: taken });
  }
  return out;
}

/** Trusted keys given by code (tests, the demo): PEM texts of public keys. */
export function trustedKeysOf(pems: string[]): TrustedKeys {
  const out: TrustedKeys = { dir: null, keys: [], refused: [] };
  pems.forEach((pem, i) => {
    const taken = parsePublicPem(pem, `key ${i + 1}`);
    if (typeof taken === 'string') out.refused.push(taken);
    else out.keys.push({ name: `key ${i + 1}`, key: taken });
  });
  return out;
}

/** The key, or one sentence saying why it is refused. */
function parsePublicPem(text: string, where: string): KeyObject | string {
  if (PRIVATE_PEM.test(text)) {
    return `The trusted key file ${where} holds a PRIVATE key, so it is refused and grants nothing: only the vendor's public keys belong in keys/license/ (remove the file; a private key must never be on this host).`;
  }
  if (!PUBLIC_PEM.test(text.trim())) return `The trusted key file ${where} is not a PEM public key; it is ignored.`;
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    return `The trusted key file ${where} is not a readable PEM public key; it is ignored.`;
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    return `The trusted key file ${where} is not an Ed25519 public key; it is ignored.`;
  }
  return key;
}

/** A path relative to the working directory when that is shorter (messages stay readable). */
function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && r.length < p.length ? r : p;
}

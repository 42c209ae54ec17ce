/**
 * Verifies the signed license document (licensing.md, "The license document").
 *
 * `{"payload": "<base64url>", "signature": "<base64url>"}`: the signature is Ed25519 over
 * the ASCII bytes of the payload *string*; the payload is UTF-8 JSON. Checks run in this
 * order and the first failing one is the reason (a code and one human sentence, never a
 * stack trace):
 *
 *   license_file_not_set, license_key_unavailable, license_unreadable, license_not_json,
 *   license_bad_base64url, license_bad_signature, license_bad_payload,
 *   license_wrong_host, license_not_yet_valid, license_expired.
 *
 * The signature must verify with one of the trusted vendor keys (trusted-keys.ts); no
 * configuration adds one. Times need an explicit zone.
 *
 * A document that fails any check grants nothing — host features and seat counts alike.
 * A valid document grants each feature it lists with a count ≥ 1; the others are `missing`.
 */
import { verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FEATURE_IDS, FEATURE_NAMES, featureLabel, type FeatureId } from './features.ts';
import { loadTrustedKeys, type TrustedKeys } from './trusted-keys.ts';

export type LicenseFailureCode =
  | 'license_file_not_set'
  | 'license_key_unavailable'
  | 'license_unreadable'
  | 'license_not_json'
  | 'license_bad_base64url'
  | 'license_bad_signature'
  | 'license_bad_payload'
  | 'license_wrong_host'
  | 'license_not_yet_valid'
  | 'license_expired';

export type FeatureState = 'granted' | 'missing' | 'wrong_host' | 'expired' | 'invalid';

export interface LicensePayload {
  id: string;
  licensee: string;
  hostId: string;
  /** ISO 8601 */
  issuedAt: string;
  /** ISO 8601, or null for a license that does not expire. */
  expiresAt: string | null;
  /** Feature id (as a string key) → count. Unknown ids are kept but ignored. */
  features: Record<string, number>;
}

export interface FeatureStatus {
  feature: FeatureId;
  name: string;
  state: FeatureState;
  /** What the document lists for this feature (0 when absent or unreadable). */
  listed: number;
  /** What is actually granted: `listed` when `state` is `granted`, else 0. */
  granted: number;
  /** `missing` or the document's failure code; null when granted. */
  code: string | null;
  /** One human sentence; null when granted. */
  reason: string | null;
}

export interface LicenseCheck {
  /** True when every document-level check passed (a feature may still be missing). */
  valid: boolean;
  code: LicenseFailureCode | null;
  reason: string | null;
  /** The decoded payload when the signature verified and the fields are well-formed. */
  payload: LicensePayload | null;
  features: Record<FeatureId, FeatureStatus>;
  /** The file checked (null when none configured). */
  file: string | null;
  hostId: string;
  /** ISO time of the check. */
  checkedAt: string;
}

export interface VerifyOptions {
  /**
   * The vendor keys to verify with (trusted-keys.ts); default: the package's own
   * `keys/license/`. Only code passes this — never configuration.
   */
  trustedKeys?: TrustedKeys;
  /** This host's id (host-id.ts). */
  hostId: string;
  /** Default: the current time. */
  now?: Date;
  /** How far in the future `issuedAt` may be before the document is not yet valid (default 5 min). */
  clockSkewMs?: number;
  /** For messages: the file the text came from. */
  file?: string | null;
}

export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

class Fail extends Error {
  constructor(
    readonly code: LicenseFailureCode,
    message: string,
  ) {
    super(message);
  }
}

/** Strict base64url: alphabet `A-Z a-z 0-9 - _`, no padding, canonical trailing bits. */
export function isStrictBase64url(s: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return false;
  return Buffer.from(s, 'base64url').toString('base64url') === s;
}

function errnoText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return typeof code === 'string' ? code : 'read error';
}

/** Reads and verifies the license file. Never throws. */
export function checkLicenseFile(file: string | null, opts: VerifyOptions): LicenseCheck {
  const base = { ...opts, file };
  if (!file) {
    return failed(
      base,
      'license_file_not_set',
      `LICENSE_FILE is not set, so nothing grants feature ${featureLabel(42)} to this host (${opts.hostId}).`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return failed(base, 'license_unreadable', `The license file ${file} cannot be read (${errnoText(e)}).`);
  }
  return verifyLicenseText(text, base);
}

/** Verifies a license document's text. Never throws. */
export function verifyLicenseText(text: string, opts: VerifyOptions): LicenseCheck {
  try {
    return check(text, opts);
  } catch (e) {
    if (e instanceof Fail) return failed(opts, e.code, e.message);
    return failed(opts, 'license_not_json', `The license document could not be checked (${e instanceof Error ? e.message : String(e)}).`);
  }
}

function check(text: string, opts: VerifyOptions): LicenseCheck {
  const now = opts.now ?? new Date();
  const trusted = opts.trustedKeys ?? loadTrustedKeys();
  if (!trusted.keys.length) {
    throw new Fail(
      'license_key_unavailable',
      `No trusted vendor key ships with this connector (no Ed25519 public key in ${trusted.dir ?? 'the keys given'}), so no license document can be verified; reinstall the package.`,
    );
  }
  const where = opts.file ? `The license file ${opts.file}` : 'The license document';

  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new Fail('license_not_json', `${where} is not JSON.`);
  }
  if (!isRecord(doc) || typeof doc.payload !== 'string' || typeof doc.signature !== 'string') {
    throw new Fail('license_not_json', `${where} is not a JSON object with string fields "payload" and "signature".`);
  }
  const { payload, signature } = doc;
  if (!isStrictBase64url(payload)) {
    throw new Fail('license_bad_base64url', `${where} has a "payload" that is not base64url without padding.`);
  }
  if (!isStrictBase64url(signature)) {
    throw new Fail('license_bad_base64url', `${where} has a "signature" that is not base64url without padding.`);
  }
  const sig = Buffer.from(signature, 'base64url');
  const signed = Buffer.from(payload, 'ascii');
  const ok = sig.length === 64 && trusted.keys.some((k) => edVerify(null, signed, k.key, sig));
  if (!ok) {
    throw new Fail(
      'license_bad_signature',
      `${where} is not signed by the vendor: its signature does not match any trusted vendor key (the keys that ship in keys/license/).`,
    );
  }
  const p = parsePayload(Buffer.from(payload, 'base64url').toString('utf8'), where);

  const base: LicenseCheck = {
    valid: true,
    code: null,
    reason: null,
    payload: p,
    features: grantFeatures(p),
    file: opts.file ?? null,
    hostId: opts.hostId,
    checkedAt: now.toISOString(),
  };
  if (normalizeHostId(p.hostId) !== normalizeHostId(opts.hostId)) {
    return failed(
      opts,
      'license_wrong_host',
      `License ${p.id} is for host ${p.hostId}, but this host's id is ${opts.hostId}.`,
      p,
      'wrong_host',
    );
  }
  const skew = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (Date.parse(p.issuedAt) - skew > now.getTime()) {
    return failed(
      opts,
      'license_not_yet_valid',
      `License ${p.id} is not valid yet: it is issued at ${p.issuedAt} and this host's clock says ${now.toISOString()}.`,
      p,
      'invalid',
    );
  }
  if (p.expiresAt !== null && Date.parse(p.expiresAt) <= now.getTime()) {
    return failed(opts, 'license_expired', `License ${p.id} expired at ${p.expiresAt}.`, p, 'expired');
  }
  return base;
}

function parsePayload(json: string, where: string): LicensePayload {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Fail('license_bad_payload', `${where} has a signed payload that is not JSON.`);
  }
  const bad = (field: string, what: string): never => {
    throw new Fail('license_bad_payload', `${where} has a signed payload whose "${field}" ${what}.`);
  };
  if (!isRecord(v)) return bad('payload', 'is not a JSON object');
  if (typeof v.id !== 'string' || !v.id.trim()) bad('id', 'is missing or empty');
  if (typeof v.licensee !== 'string') bad('licensee', 'is missing or not a string');
  if (typeof v.hostId !== 'string' || !v.hostId.trim()) bad('hostId', 'is missing or empty');
  if (!isIsoTime(v.issuedAt)) bad('issuedAt', 'is missing or not an ISO 8601 time');
  if (!hasZone(v.issuedAt)) bad('issuedAt', `has no time zone ("${String(v.issuedAt)}"); a time must end in Z or ±hh:mm`);
  if (v.expiresAt !== null && !isIsoTime(v.expiresAt)) bad('expiresAt', 'is neither null nor an ISO 8601 time');
  // Without a zone the moment depends on this server's time zone: refused, not guessed.
  if (v.expiresAt !== null && !hasZone(v.expiresAt))
    bad('expiresAt', `has no time zone ("${String(v.expiresAt)}"); a time must end in Z or ±hh:mm`);
  if (!isRecord(v.features)) return bad('features', 'is missing or not an object');
  const features: Record<string, number> = {};
  for (const [k, n] of Object.entries(v.features)) {
    if (!/^\d+$/.test(k)) bad(`features.${k}`, 'is not a numeric feature id');
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) bad(`features.${k}`, 'is not a non-negative integer');
    features[k] = n as number;
  }
  return {
    id: v.id as string,
    licensee: v.licensee as string,
    hostId: v.hostId as string,
    issuedAt: v.issuedAt as string,
    expiresAt: v.expiresAt as string | null,
    features,
  };
}

function grantFeatures(p: LicensePayload): Record<FeatureId, FeatureStatus> {
  const out = {} as Record<FeatureId, FeatureStatus>;
  for (const f of FEATURE_IDS) {
    const listed = p.features[String(f)] ?? 0;
    out[f] =
      listed > 0
        ? { feature: f, name: FEATURE_NAMES[f], state: 'granted', listed, granted: listed, code: null, reason: null }
        : {
            feature: f,
            name: FEATURE_NAMES[f],
            state: 'missing',
            listed: 0,
            granted: 0,
            code: 'missing',
            reason: `License ${p.id} does not grant feature ${featureLabel(f)}.`,
          };
  }
  return out;
}

function failed(
  opts: VerifyOptions,
  code: LicenseFailureCode,
  reason: string,
  payload: LicensePayload | null = null,
  state?: FeatureState,
): LicenseCheck {
  const features = {} as Record<FeatureId, FeatureStatus>;
  const featureState: FeatureState = state ?? (code === 'license_file_not_set' ? 'missing' : 'invalid');
  for (const f of FEATURE_IDS) {
    features[f] = {
      feature: f,
      name: FEATURE_NAMES[f],
      state: featureState,
      listed: payload?.features[String(f)] ?? 0,
      granted: 0,
      code,
      reason,
    };
  }
  return {
    valid: false,
    code,
    reason,
    payload,
    features,
    file: opts.file ?? null,
    hostId: opts.hostId,
    checkedAt: (opts.now ?? new Date()).toISOString(),
  };
}

/** Host ids compare case-insensitively, ignoring surrounding spaces. */
export function normalizeHostId(id: string): string {
  return id.trim().toUpperCase();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A full date-time with an explicit zone (`Z` or `±hh:mm`): the same instant on every host. */
function hasZone(v: unknown): boolean {
  return typeof v === 'string' && /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v);
}

function isIsoTime(v: unknown): v is string {
  return (
    typeof v === 'string' &&
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) &&
    !Number.isNaN(Date.parse(v))
  );
}

/**
 * The moments at which this result changes by the clock alone (not-yet-valid → valid,
 * valid → expired), so a gate can re-check exactly then. Null when none is ahead.
 */
export function nextTimeBoundary(result: LicenseCheck, now: Date, clockSkewMs = DEFAULT_CLOCK_SKEW_MS): number | null {
  const p = result.payload;
  if (!p) return null;
  const candidates: number[] = [];
  const validFrom = Date.parse(p.issuedAt) - clockSkewMs;
  if (validFrom > now.getTime()) candidates.push(validFrom);
  if (p.expiresAt !== null) {
    const exp = Date.parse(p.expiresAt);
    if (exp > now.getTime()) candidates.push(exp);
  }
  return candidates.length ? Math.min(...candidates) : null;
}

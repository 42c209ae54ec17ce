import { loadTrustedKeys, trustedKeysOf } from '../../src/licensing/trusted-keys.ts';
import { describe, expect, it } from 'vitest';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { checkLicenseFile, isStrictBase64url, verifyLicenseText, type LicenseCheck } from '../../src/licensing/license-document.ts';
import { computeHostId, describeHostId, type HostIdentitySource } from '../../src/licensing/host-id.ts';
import { signPayload } from '../../vendor/license-signing.ts';
import { doc, newKeys, tempDir } from './license-fixtures.ts';

const HOST = 'H1-AAAA-BBBB-CCCC-DDDD';
const keys = newKeys();
const verify = (text: string, now?: Date): LicenseCheck =>
  verifyLicenseText(text, { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: HOST, now });

/** Independent strictness check: alphabet, no padding, and decoding round-trips exactly. */
function strict(s: string): boolean {
  return /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1 && Buffer.from(s, 'base64url').toString('base64url') === s;
}

function withField(text: string, field: 'payload' | 'signature', value: string): string {
  const d = JSON.parse(text) as Record<string, string>;
  return JSON.stringify({ ...d, [field]: value });
}

describe('license document verification', () => {
  const good = doc(keys, { hostId: HOST, id: 'LIC-0001', licensee: 'ООО Ромашка' });

  it('accepts a good document and grants its features', () => {
    const r = verify(good);
    expect(r.valid).toBe(true);
    expect(r.code).toBeNull();
    expect(r.payload?.licensee).toBe('ООО Ромашка');
    expect(r.features[42].state).toBe('granted');
    expect(r.features[48]).toMatchObject({ state: 'granted', granted: 5 });
    expect(r.features[49]).toMatchObject({ state: 'granted', granted: 3 });
    expect(r.features[31]).toMatchObject({ state: 'missing', code: 'missing', granted: 0 });
    expect(r.features[31].reason).toContain('31');
  });

  for (const field of ['payload', 'signature'] as const) {
    it(`rejects every character of the ${field} flipped, with the reason that applies`, () => {
      const original = (JSON.parse(good) as Record<string, string>)[field];
      const seen = new Set<string>();
      for (let i = 0; i < original.length; i++) {
        for (const mask of [0x01, 0x20]) {
          const c = String.fromCharCode(original.charCodeAt(i) ^ mask);
          const flipped = original.slice(0, i) + c + original.slice(i + 1);
          const expected = strict(flipped) ? 'license_bad_signature' : 'license_bad_base64url';
          const r = verify(withField(good, field, flipped));
          expect(r.valid, `${field}[${i}]^${mask}`).toBe(false);
          expect(r.code, `${field}[${i}]^${mask}`).toBe(expected);
          expect(r.features[42].state).toBe('invalid');
          seen.add(expected);
        }
      }
      // Both kinds of failure occurred, so the loop really exercised each branch.
      expect([...seen].sort()).toEqual(['license_bad_base64url', 'license_bad_signature']);
    });

    it(`rejects every decoded byte of the ${field} flipped as a bad signature`, () => {
      const bytes = Buffer.from((JSON.parse(good) as Record<string, string>)[field], 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        const b = Buffer.from(bytes);
        b[i] ^= 0xff;
        const r = verify(withField(good, field, b.toString('base64url')));
        expect(r.code, `${field} byte ${i}`).toBe('license_bad_signature');
        expect(r.payload).toBeNull();
      }
    });
  }

  it('rejects padding and standard base64 as not base64url', () => {
    const sig = (JSON.parse(good) as { signature: string }).signature;
    const padded = Buffer.from(sig, 'base64url').toString('base64'); // 64 bytes → '==' padding
    expect(padded.endsWith('=')).toBe(true);
    expect(verify(withField(good, 'signature', padded)).code).toBe('license_bad_base64url');
    expect(isStrictBase64url('ab+/')).toBe(false);
  });

  it('says which host the document is for and which host this is', () => {
    const r = verify(doc(keys, { hostId: 'H1-ZZZZ-ZZZZ-ZZZZ-ZZZZ' }));
    expect(r.code).toBe('license_wrong_host');
    expect(r.reason).toContain('H1-ZZZZ-ZZZZ-ZZZZ-ZZZZ');
    expect(r.reason).toContain(HOST);
    for (const f of [31, 42, 48, 49] as const) expect(r.features[f]).toMatchObject({ state: 'wrong_host', granted: 0 });
    expect(r.features[48].listed).toBe(5);
  });

  it('compares host ids case-insensitively', () => {
    expect(verify(doc(keys, { hostId: HOST.toLowerCase() })).valid).toBe(true);
  });

  it('rejects an expired document and says when it expired', () => {
    const expiresAt = new Date(Date.now() - 60_000).toISOString();
    const r = verify(doc(keys, { hostId: HOST, expiresAt }));
    expect(r.code).toBe('license_expired');
    expect(r.reason).toContain(expiresAt);
    expect(r.features[42].state).toBe('expired');
    expect(r.features[48].granted).toBe(0);
  });

  it('rejects a document issued in the future beyond the clock skew, and accepts within it', () => {
    const issuedAt = new Date(Date.now() + 60 * 60_000).toISOString();
    const r = verify(doc(keys, { hostId: HOST, issuedAt }));
    expect(r.code).toBe('license_not_yet_valid');
    expect(r.reason).toContain(issuedAt);
    const near = new Date(Date.now() + 60_000).toISOString();
    expect(verify(doc(keys, { hostId: HOST, issuedAt: near })).valid).toBe(true);
  });

  it('reports feature 42 missing when the document does not list it', () => {
    const r = verify(doc(keys, { hostId: HOST, features: { 48: 2 } }));
    expect(r.valid).toBe(true);
    expect(r.features[42]).toMatchObject({ state: 'missing', code: 'missing' });
  });

  it('rejects text that is not JSON, or JSON without the two fields', () => {
    expect(verify('not json {').code).toBe('license_not_json');
    expect(verify('[1,2]').code).toBe('license_not_json');
    expect(verify('{"payload": 1, "signature": "x"}').code).toBe('license_not_json');
  });

  it('rejects a correctly signed payload with bad fields, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ id: 'L', licensee: '', issuedAt: new Date().toISOString(), expiresAt: null, features: {} }, 'hostId'],
      [{ id: 'L', licensee: '', hostId: HOST, issuedAt: 'yesterday', expiresAt: null, features: {} }, 'issuedAt'],
      [{ id: 'L', licensee: '', hostId: HOST, issuedAt: new Date().toISOString(), expiresAt: null, features: { 42: -1 } }, 'features.42'],
      [{ id: 'L', licensee: '', hostId: HOST, issuedAt: new Date().toISOString(), features: {} }, 'expiresAt'],
      ['a string', 'payload'],
    ];
    for (const [payload, field] of cases) {
      const r = verify(JSON.stringify(signPayload(payload, keys.privateKeyPem)));
      expect(r.code).toBe('license_bad_payload');
      expect(r.reason).toContain(`"${field}"`);
    }
  });

  it('refuses expiresAt / issuedAt without a time zone, naming the field (issue 11 item 13)', () => {
    const base = { id: 'LIC-TZ', licensee: '', hostId: HOST, issuedAt: '2026-01-01T00:00:00Z', expiresAt: null, features: { 42: 1 } };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, expiresAt: '2099-01-01T00:00:00' }, 'expiresAt'],
      [{ ...base, expiresAt: '2099-01-01' }, 'expiresAt'],
      [{ ...base, issuedAt: '2026-01-01T00:00:00' }, 'issuedAt'],
    ];
    for (const [payload, field] of cases) {
      const r = verify(JSON.stringify(signPayload(payload, keys.privateKeyPem)));
      expect(r.code).toBe('license_bad_payload');
      expect(r.reason).toBe(
        `The license document has a signed payload whose "${field}" has no time zone ("${String(payload[field])}"); a time must end in Z or ±hh:mm.`,
      );
      expect(r.features[42].granted).toBe(0);
    }
    for (const expiresAt of ['2099-01-01T00:00:00Z', '2099-01-01T03:00:00+03:00', '2099-01-01T03:00:00.5+0300']) {
      expect(verify(JSON.stringify(signPayload({ ...base, expiresAt }, keys.privateKeyPem))).valid).toBe(true);
    }
  });

  it('rejects a document signed with another key', () => {
    const other = newKeys();
    expect(verify(doc(other, { hostId: HOST })).code).toBe('license_bad_signature');
  });

  it('reads the file and the trusted keys from a directory, and names an unreadable file', async () => {
    const t = await tempDir();
    try {
      await mkdir(t.file('keys'));
      await writeFile(t.file('keys/pub.pem'), keys.publicKeyPem);
      await writeFile(t.file('lic.json'), good);
      const ok = checkLicenseFile(t.file('lic.json'), { trustedKeys: loadTrustedKeys(t.file('keys')), hostId: HOST });
      expect(ok.valid).toBe(true);
      const missing = checkLicenseFile(t.file('nope.json'), { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: HOST });
      expect(missing.code).toBe('license_unreadable');
      expect(missing.reason).toContain(t.file('nope.json'));
      if (process.getuid?.() !== 0) {
        await chmod(t.file('lic.json'), 0o000);
        expect(checkLicenseFile(t.file('lic.json'), { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: HOST }).code).toBe(
          'license_unreadable',
        );
      }
      const noKey = checkLicenseFile(t.file('lic.json'), { trustedKeys: loadTrustedKeys(t.file('absent')), hostId: HOST });
      expect(noKey.code).toBe('license_key_unavailable');
      expect(noKey.reason).toContain('No trusted vendor key ships with this connector');
    } finally {
      await t.remove();
    }
  });

  it('says LICENSE_FILE is not set, with every feature missing', () => {
    const r = checkLicenseFile(null, { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: HOST });
    expect(r.code).toBe('license_file_not_set');
    expect(r.reason).toContain('LICENSE_FILE');
    expect(r.features[42].state).toBe('missing');
  });

  it('rejects a key that is not Ed25519', () => {
    const r = verifyLicenseText(good, { trustedKeys: trustedKeysOf(['not a key']), hostId: HOST });
    expect(r.code).toBe('license_key_unavailable');
  });
});

describe('host id', () => {
  const fake = (mid: string | null, macs: string[] = ['aa:bb:cc:dd:ee:ff'], host = 'srv1'): HostIdentitySource => ({
    machineId: () => mid,
    macAddresses: () => macs,
    hostname: () => host,
  });

  it('is stable, readable, and never shows the machine id', () => {
    const a = computeHostId(fake('3d1219c7c4c5404aaa1f6d2a48adfda4'));
    expect(a).toBe(computeHostId(fake('3d1219c7c4c5404aaa1f6d2a48adfda4')));
    expect(a).toMatch(/^H1-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
    expect(a.toLowerCase()).not.toContain('3d12');
    expect(computeHostId(fake('0123456789abcdef0123456789abcdef'))).not.toBe(a);
  });

  it('falls back to MAC addresses and hostname, independent of interface order', () => {
    const one = describeHostId(fake(null, ['aa:aa:aa:aa:aa:01', 'aa:aa:aa:aa:aa:02']));
    expect(one.basis).toBe('mac-and-hostname');
    expect(computeHostId(fake(null, ['AA:AA:AA:AA:AA:02', 'aa:aa:aa:aa:aa:01']))).toBe(one.hostId);
    expect(computeHostId(fake(null, ['aa:aa:aa:aa:aa:01', 'aa:aa:aa:aa:aa:02'], 'srv2'))).not.toBe(one.hostId);
  });

  it('is the same on two calls on this machine', () => {
    expect(computeHostId()).toBe(computeHostId());
  });
});

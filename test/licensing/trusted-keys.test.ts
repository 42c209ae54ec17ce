/**
 * Regression for issue 11 item 2, "a customer can license a host with their own key": with
 * LICENSE_PUBLIC_KEY a customer's own key pair + `license issue` gave a valid document.
 * Now only the vendor keys shipped in the package's keys/license/ are trusted; every way
 * configuration offers a key is ignored, and a private key in that folder grants nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { runDoctor } from '../../src/cli/doctor-command.ts';
import { computeHostId } from '../../src/licensing/host-id.ts';
import { checkLicenseFile } from '../../src/licensing/license-document.ts';
import { LicenseGate } from '../../src/licensing/license-gate.ts';
import { loadTrustedKeys, PACKAGE_KEYS_DIR } from '../../src/licensing/trusted-keys.ts';
import { issueLicense } from '../../vendor/license-signing.ts';
import { newKeys, recordingLogger, tempDir } from './license-fixtures.ts';

const REFUSED = /is not signed by the vendor: its signature does not match any trusted vendor key/;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A customer's own key pair and a document it signed for this host, with the key offered every way. */
async function selfIssued() {
  const t = await tempDir();
  cleanups.push(t.remove);
  const keys = newKeys();
  const hostId = computeHostId();
  const license = t.file('license.json');
  await writeFile(license, issueLicense({ privateKeyPem: keys.privateKeyPem, hostId, features: { 42: 1, 48: 5 } }));
  // Next to the license file, under the names the old tools wrote and a few more.
  for (const n of ['license-public.pem', 'license.pem', 'public.pem']) await writeFile(t.file(n), keys.publicKeyPem);
  // keys/license/ relative to the working directory (not the package's).
  await mkdir(t.file('keys/license'), { recursive: true });
  await writeFile(t.file('keys/license/customer.pem'), keys.publicKeyPem);
  await writeFile(t.file('.env'), `LICENSE_FILE=${license}\nLICENSE_PUBLIC_KEY=${t.file('public.pem')}\n`);
  const env = {
    LICENSE_FILE: license,
    LICENSE_PUBLIC_KEY: keys.publicKeyPem,
    LICENSE_KEY: t.file('public.pem'),
    LICENSE_KEYS_DIR: t.file('keys/license'),
    TRUSTED_KEYS_DIR: t.file('keys/license'),
  };
  return { t, keys, hostId, license, env };
}

describe('trusted license keys', () => {
  it('the package ships at least one vendor public key and no private key', async () => {
    const trusted = loadTrustedKeys();
    expect(trusted.dir).toBe(PACKAGE_KEYS_DIR);
    expect(trusted.refused).toEqual([]);
    expect(trusted.keys.length).toBeGreaterThanOrEqual(1);
    for (const name of await readdir(PACKAGE_KEYS_DIR)) {
      expect(await readFile(join(PACKAGE_KEYS_DIR, name), 'utf8')).not.toMatch(/PRIVATE KEY/);
    }
  });

  it('refuses a self-issued document in process although its key is offered through env, .env and files', async () => {
    const { t, license, env, hostId } = await selfIssued();
    const config = loadConfig(env, { purpose: 'cli', envFile: t.file('.env') });
    expect(Object.keys(config.license)).toEqual(['file']); // nothing else of the license is configurable
    const gate = new LicenseGate({ file: config.license.file, hostId, pollIntervalMs: 0 });
    cleanups.push(() => gate.close());
    expect(gate.state()).toMatchObject({ chatsLicensed: false, code: 'license_bad_signature' });
    expect(gate.state().reason).toBe(
      `The license file ${license} is not signed by the vendor: its signature does not match any trusted vendor key (the keys that ship in keys/license/).`,
    );
    expect(checkLicenseFile(license, { hostId }).code).toBe('license_bad_signature');

    const out: string[] = [];
    const code = await runDoctor([], {
      io: { out: (l) => out.push(l), err: (l) => out.push(l) },
      env: { ...env, API_TOKEN: 'x'.repeat(24), ONEC_BASE_URL: 'http://127.0.0.1:1/x', ONEC_USER: 'u', REDIS_URL: 'redis://127.0.0.1:1' },
      envFile: t.file('.env'),
      hostId,
      timeoutMs: 300,
    });
    expect(code).toBe(1);
    expect(out.find((l) => l.startsWith('✗ License document:'))).toMatch(REFUSED);
  });

  it('the real `chat-connector license verify` refuses it too, run where the .env and the key files are', () => {
    return selfIssued().then(({ t, env }) => {
      const bin = join(process.cwd(), 'bin', 'chat-connector.js');
      const r = spawnSync(process.execPath, [bin, 'license', 'verify'], {
        cwd: t.dir,
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stdout).toMatch(/^NOT valid \[license_bad_signature\]: /);
      expect(r.stdout).toMatch(REFUSED);
      expect(r.status).toBe(1);
    });
  });

  it('a PEM holding a private key in the keys folder is refused with a sentence and grants nothing', async () => {
    const { t, keys, hostId, license } = await selfIssued();
    const dir = t.file('trusted');
    await mkdir(dir);
    await writeFile(join(dir, 'oops.pem'), keys.privateKeyPem);
    const trusted = loadTrustedKeys(dir);
    expect(trusted.keys).toEqual([]);
    expect(trusted.refused).toHaveLength(1);
    expect(trusted.refused[0]).toContain('holds a PRIVATE key, so it is refused and grants nothing');
    expect(trusted.refused[0]).not.toContain(keys.privateKeyPem.split('\n')[1]);

    const logger = recordingLogger();
    const gate = new LicenseGate({ file: license, hostId, trustedKeysDir: dir, logger, pollIntervalMs: 0 });
    cleanups.push(() => gate.close());
    expect(gate.state()).toMatchObject({ chatsLicensed: false, code: 'license_key_unavailable' });
    expect(logger.lines.some((l) => l.startsWith('error: The trusted key file') && l.includes('PRIVATE key'))).toBe(true);

    // Beside a real public key, the private one still adds nothing: its own documents stay refused.
    await writeFile(join(dir, 'vendor.pem'), newKeys().publicKeyPem);
    const mixed = loadTrustedKeys(dir);
    expect(mixed.keys.map((k) => k.name)).toEqual(['vendor.pem']);
    expect(checkLicenseFile(license, { trustedKeys: mixed, hostId }).code).toBe('license_bad_signature');
  });

  it('several vendor keys (rotation): a document signed by any of them is valid', async () => {
    const t = await tempDir();
    cleanups.push(t.remove);
    const [oldKey, newKey] = [newKeys(), newKeys()];
    await writeFile(t.file('2025.pem'), oldKey.publicKeyPem);
    await writeFile(t.file('2026.pem'), newKey.publicKeyPem);
    const trusted = loadTrustedKeys(t.dir);
    for (const k of [oldKey, newKey]) {
      await writeFile(t.file('lic.json'), issueLicense({ privateKeyPem: k.privateKeyPem, hostId: 'H1-ROTA', features: { 42: 1 } }));
      expect(checkLicenseFile(t.file('lic.json'), { trustedKeys: trusted, hostId: 'H1-ROTA' }).valid).toBe(true);
    }
  });
});

import { trustedKeysOf } from '../../src/licensing/trusted-keys.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLicenseCommand, type LicenseCommandContext } from '../../src/cli/license-command.ts';
import { runVendorLicense } from '../../vendor/vendor-license.ts';
import { computeHostId } from '../../src/licensing/host-id.ts';
import { checkLicenseFile, verifyLicenseText } from '../../src/licensing/license-document.ts';
import { issueLicense, keygen } from '../../vendor/license-signing.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { newKeys, tempDir } from './license-fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The customer CLI's context; `trustedKeysDir` is what code (never configuration) may pass. */
function ctx(license: { file: string | null; trustedKeysDir?: string }) {
  const out: string[] = [];
  const err: string[] = [];
  const prefix = uniquePrefix('licli');
  cleanups.push(() => cleanupPrefix(prefix));
  const c: LicenseCommandContext = {
    license: { file: license.file },
    trustedKeysDir: license.trustedKeysDir,
    redisUrl: REDIS_URL,
    queuePrefix: prefix,
    seatTtlS: 300,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  };
  return { c, out, err };
}

async function dir() {
  const t = await tempDir();
  cleanups.push(t.remove);
  return t;
}

describe('chat-connector license', () => {
  it("host-id prints this host's id", async () => {
    const { c, out } = ctx({ file: null });
    expect(await runLicenseCommand(['host-id'], c)).toBe(0);
    expect(out).toEqual([computeHostId()]);
    const j = ctx({ file: null });
    expect(await runLicenseCommand(['host-id', '--json'], j.c)).toBe(0);
    expect(JSON.parse(j.out[0])).toMatchObject({ hostId: computeHostId() });
  });

  it('the customer CLI has no keygen or issue: signing is the vendor tool', async () => {
    for (const sub of ['keygen', 'issue']) {
      const x = ctx({ file: null });
      expect(await runLicenseCommand([sub, '--out', '/tmp/x'], x.c)).toBe(2);
      expect(x.err[0]).toContain(`unknown subcommand "${sub}"`);
    }
  });

  it('vendor keygen + issue, customer verify + report round trip, the private key never printed', async () => {
    const t = await dir();
    const k = ctx({ file: null });
    expect(await runVendorLicense(['keygen', '--out', t.file('vendor'), '--name', 'v1'], k.c)).toBe(0);
    const priv = join(t.dir, 'vendor', 'v1.private.key');
    const pub = join(t.dir, 'vendor', 'v1.pem');
    const keysDir = t.file('keys');
    await mkdir(keysDir);
    await copyFile(pub, join(keysDir, 'v1.pem'));
    expect((await stat(priv)).mode & 0o777).toBe(0o600);
    const privPem = await readFile(priv, 'utf8');
    const privBody = privPem.split('\n')[1];

    const lic = t.file('license.json');
    const i = ctx({ file: null });
    const code = await runVendorLicense(
      [
        'issue',
        '--key',
        priv,
        '--host',
        computeHostId(),
        '--feature',
        '42',
        '--feature',
        '48=25',
        '--feature=49=10',
        '--licensee',
        'ООО Ромашка',
        '--id',
        'LIC-0042',
        '--expires',
        '2099-01-01T00:00:00Z',
        '--out',
        lic,
      ],
      i.c,
    );
    expect(i.err).toEqual([]);
    expect(code).toBe(0);
    expect(i.out[0]).toContain('LIC-0042');

    const v = ctx({ file: lic, trustedKeysDir: keysDir });
    expect(await runLicenseCommand(['verify'], v.c)).toBe(0);
    expect(v.out[0]).toMatch(/^valid: LIC-0042 for ООО Ромашка/);
    expect(v.out[0]).toContain('48=25');

    const rep = ctx({ file: lic, trustedKeysDir: keysDir });
    expect(await runLicenseCommand(['report', '--json'], rep.c)).toBe(0);
    const report = JSON.parse(rep.out.join('\n')) as {
      hostId: string;
      chatsLicensed: boolean;
      features: Array<{ id: number; seats: { total: number } | null }>;
    };
    expect(report).toMatchObject({ hostId: computeHostId(), chatsLicensed: true });
    expect(report.features.find((f) => f.id === 48)!.seats!.total).toBe(25);
    const text = ctx({ file: lic, trustedKeysDir: keysDir });
    expect(await runLicenseCommand(['report'], text.c)).toBe(0);
    expect(text.out).toContain('Chat module: licensed');

    for (const line of [...k.out, ...i.out, ...v.out, ...rep.out, ...text.out, ...k.err, ...i.err]) {
      expect(line).not.toContain(privBody);
    }
    // A second keygen into the same directory refuses to overwrite the key.
    const again = ctx({ file: null });
    expect(await runVendorLicense(['keygen', '--out', t.file('vendor'), '--name', 'v1'], again.c)).toBe(2);
    expect(again.err[0]).toContain('already exists');
    expect(await readFile(priv, 'utf8')).toBe(privPem);
  });

  it('verify says exactly why a document is not valid, exit 1', async () => {
    const t = await dir();
    const keys = newKeys();
    const good = issueLicense({ privateKeyPem: keys.privateKeyPem, hostId: computeHostId(), features: { 42: 1 } });
    const d = JSON.parse(good) as { payload: string; signature: string };
    const last = d.signature.at(-2) === 'A' ? 'B' : 'A';
    await writeFile(t.file('bad.json'), JSON.stringify({ ...d, signature: d.signature.slice(0, -2) + last + d.signature.at(-1) }));
    const expected = checkLicenseFile(t.file('bad.json'), { trustedKeys: trustedKeysOf([keys.publicKeyPem]), hostId: computeHostId() });
    await mkdir(t.file('keys'));
    await writeFile(t.file('keys/k.pem'), keys.publicKeyPem);
    const v = ctx({ file: t.file('bad.json'), trustedKeysDir: t.file('keys') });
    expect(await runLicenseCommand(['verify'], v.c)).toBe(1);
    expect(expected.valid).toBe(false);
    expect(v.out).toEqual([`NOT valid [${expected.code}]: ${expected.reason}`]);

    const wrongHost = issueLicense({ privateKeyPem: keys.privateKeyPem, hostId: 'H1-AAAA-AAAA-AAAA-AAAA', features: { 42: 1 } });
    await writeFile(t.file('other.json'), wrongHost);
    const w = ctx({ file: t.file('other.json'), trustedKeysDir: t.file('keys') });
    expect(await runLicenseCommand(['verify'], w.c)).toBe(1);
    expect(w.out[0]).toContain('license_wrong_host');
    expect(w.out[0]).toContain(computeHostId());

    const none = ctx({ file: null, trustedKeysDir: t.file('keys') });
    expect(await runLicenseCommand(['verify'], none.c)).toBe(1);
    expect(none.out[0]).toContain('LICENSE_FILE is not set');
  });

  it('bad arguments: one line saying what is wrong, exit 2', async () => {
    const t = await dir();
    const keys = newKeys();
    await writeFile(t.file('k.pem'), keys.privateKeyPem);
    const k = t.file('k.pem');
    const h = computeHostId();
    const cases: Array<[string[], string]> = [
      [[], 'subcommand is required'],
      [['frobnicate'], 'unknown subcommand "frobnicate"'],
      [['issue', '--host', h, '--feature', '42'], '--key'],
      [['issue', '--key', k, '--feature', '42'], '--host'],
      [['issue', '--key', k, '--host', h], 'at least one --feature'],
      [['issue', '--key', k, '--host', h, '--feature', '99'], '--feature 99 is not one of'],
      [['issue', '--key', k, '--host', h, '--feature', '42=2'], 'per host'],
      [['issue', '--key', k, '--host', h, '--feature', '48=0'], 'at least 1'],
      [['issue', '--key', k, '--host', h, '--feature', '48=x'], 'ID or ID=COUNT'],
      [['issue', '--key', k, '--host', h, '--feature', '48', '--feature', '48=3'], 'more than once'],
      [['issue', '--key', k, '--host', h, '--feature', '42', '--expires', 'tomorrow'], '--expires "tomorrow"'],
      [['issue', '--key', k, '--host', h, '--feature', '42', '--bogus'], 'unknown option --bogus'],
      [['issue', '--key', t.file('absent.pem'), '--host', h, '--feature', '42'], 'cannot be read'],
      [['issue', '--key', k, '--host'], '--host needs a value'],
    ];
    for (const [args, msg] of cases) {
      const x = ctx({ file: null });
      expect(await runVendorLicense(args, x.c), args.join(' ')).toBe(2);
      expect(x.err, args.join(' ')).toHaveLength(1);
      expect(x.err[0], args.join(' ')).toContain(msg);
      expect(x.out).toEqual([]);
      expect(x.err[0]).not.toContain(keys.privateKeyPem.split('\n')[1]);
    }
    // A public key given as the signing key: refused without echoing it.
    await writeFile(t.file('pub.pem'), keys.publicKeyPem);
    const p = ctx({ file: null });
    expect(await runVendorLicense(['issue', '--key', t.file('pub.pem'), '--host', h, '--feature', '42'], p.c)).toBe(2);
    expect(p.err[0]).toContain('not a PEM private key');
    const v = ctx({ file: null });
    expect(await runLicenseCommand(['verify', 'extra'], v.c)).toBe(2);
    expect(v.err[0]).toContain('takes no argument');
  });

  it('prints the document when issued without --out, and keygen tools agree with it', async () => {
    const t = await dir();
    const kp = await keygen(t.dir);
    const x = ctx({ file: null });
    expect(
      await runVendorLicense(
        ['issue', '--key', kp.privateKeyPath, '--host', 'H1-BBBB-BBBB-BBBB-BBBB', '--feature', '49=3', '--expires', 'never'],
        x.c,
      ),
    ).toBe(0);
    const r = verifyLicenseText(x.out.join('\n'), { trustedKeys: trustedKeysOf([kp.publicKeyPem]), hostId: 'H1-BBBB-BBBB-BBBB-BBBB' });
    expect(r.valid).toBe(true);
    expect(r.payload?.expiresAt).toBeNull();
    expect(r.features[49].granted).toBe(3);
    expect(r.features[42].state).toBe('missing');
  });
});

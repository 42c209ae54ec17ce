import { afterEach, describe, expect, it } from 'vitest';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLicenseCommand, type LicenseCommandContext } from '../../src/cli/license-command.ts';
import { computeHostId } from '../../src/licensing/host-id.ts';
import { checkLicenseFile, verifyLicenseText } from '../../src/licensing/license-document.ts';
import { issueLicense, keygen } from '../../src/licensing/license-tools.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { newKeys, tempDir } from './license-fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function ctx(license: { file: string | null; publicKey: string | null }) {
  const out: string[] = [];
  const err: string[] = [];
  const prefix = uniquePrefix('licli');
  cleanups.push(() => cleanupPrefix(prefix));
  const c: LicenseCommandContext = {
    license,
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
    const { c, out } = ctx({ file: null, publicKey: null });
    expect(await runLicenseCommand(['host-id'], c)).toBe(0);
    expect(out).toEqual([computeHostId()]);
    const j = ctx({ file: null, publicKey: null });
    expect(await runLicenseCommand(['host-id', '--json'], j.c)).toBe(0);
    expect(JSON.parse(j.out[0])).toMatchObject({ hostId: computeHostId() });
  });

  it('keygen + issue + verify round trip, the private key never printed', async () => {
    const t = await dir();
    const k = ctx({ file: null, publicKey: null });
    expect(await runLicenseCommand(['keygen', '--out', t.dir], k.c)).toBe(0);
    const priv = join(t.dir, 'license-private.pem');
    const pub = join(t.dir, 'license-public.pem');
    expect((await stat(priv)).mode & 0o777).toBe(0o600);
    const privPem = await readFile(priv, 'utf8');
    const privBody = privPem.split('\n')[1];

    const lic = t.file('license.json');
    const i = ctx({ file: null, publicKey: null });
    const code = await runLicenseCommand(
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

    const v = ctx({ file: lic, publicKey: pub });
    expect(await runLicenseCommand(['verify'], v.c)).toBe(0);
    expect(v.out[0]).toMatch(/^valid: LIC-0042 for ООО Ромашка/);
    expect(v.out[0]).toContain('48=25');

    const rep = ctx({ file: lic, publicKey: pub });
    expect(await runLicenseCommand(['report', '--json'], rep.c)).toBe(0);
    const report = JSON.parse(rep.out.join('\n')) as {
      hostId: string;
      chatsLicensed: boolean;
      features: Array<{ id: number; seats: { total: number } | null }>;
    };
    expect(report).toMatchObject({ hostId: computeHostId(), chatsLicensed: true });
    expect(report.features.find((f) => f.id === 48)!.seats!.total).toBe(25);
    const text = ctx({ file: lic, publicKey: pub });
    expect(await runLicenseCommand(['report'], text.c)).toBe(0);
    expect(text.out).toContain('Chat module: licensed');

    for (const line of [...k.out, ...i.out, ...v.out, ...rep.out, ...text.out, ...k.err, ...i.err]) {
      expect(line).not.toContain(privBody);
    }
    // A second keygen into the same directory refuses to overwrite the key.
    const again = ctx({ file: null, publicKey: null });
    expect(await runLicenseCommand(['keygen', '--out', t.dir], again.c)).toBe(2);
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
    const expected = checkLicenseFile(t.file('bad.json'), { publicKey: keys.publicKeyPem, hostId: computeHostId() });
    const v = ctx({ file: t.file('bad.json'), publicKey: keys.publicKeyPem });
    expect(await runLicenseCommand(['verify'], v.c)).toBe(1);
    expect(expected.valid).toBe(false);
    expect(v.out).toEqual([`NOT valid [${expected.code}]: ${expected.reason}`]);

    const wrongHost = issueLicense({ privateKeyPem: keys.privateKeyPem, hostId: 'H1-AAAA-AAAA-AAAA-AAAA', features: { 42: 1 } });
    await writeFile(t.file('other.json'), wrongHost);
    const w = ctx({ file: t.file('other.json'), publicKey: keys.publicKeyPem });
    expect(await runLicenseCommand(['verify'], w.c)).toBe(1);
    expect(w.out[0]).toContain('license_wrong_host');
    expect(w.out[0]).toContain(computeHostId());

    const none = ctx({ file: null, publicKey: keys.publicKeyPem });
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
      [['verify', 'extra'], 'takes no argument'],
    ];
    for (const [args, msg] of cases) {
      const x = ctx({ file: null, publicKey: null });
      expect(await runLicenseCommand(args, x.c), args.join(' ')).toBe(2);
      expect(x.err, args.join(' ')).toHaveLength(1);
      expect(x.err[0], args.join(' ')).toContain(msg);
      expect(x.out).toEqual([]);
      expect(x.err[0]).not.toContain(keys.privateKeyPem.split('\n')[1]);
    }
    // A public key given as the signing key: refused without echoing it.
    await writeFile(t.file('pub.pem'), keys.publicKeyPem);
    const p = ctx({ file: null, publicKey: null });
    expect(await runLicenseCommand(['issue', '--key', t.file('pub.pem'), '--host', h, '--feature', '42'], p.c)).toBe(2);
    expect(p.err[0]).toContain('not a PEM private key');
  });

  it('prints the document when issued without --out, and keygen tools agree with it', async () => {
    const t = await dir();
    const kp = await keygen(t.dir);
    const x = ctx({ file: null, publicKey: null });
    expect(
      await runLicenseCommand(
        ['issue', '--key', kp.privateKeyPath, '--host', 'H1-BBBB-BBBB-BBBB-BBBB', '--feature', '49=3', '--expires', 'never'],
        x.c,
      ),
    ).toBe(0);
    const r = verifyLicenseText(x.out.join('\n'), { publicKey: kp.publicKeyPem, hostId: 'H1-BBBB-BBBB-BBBB-BBBB' });
    expect(r.valid).toBe(true);
    expect(r.payload?.expiresAt).toBeNull();
    expect(r.features[49].granted).toBe(3);
    expect(r.features[42].state).toBe('missing');
  });
});

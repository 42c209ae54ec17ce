import { trustedKeysOf } from '../../src/licensing/trusted-keys.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { rename, rm, writeFile } from 'node:fs/promises';
import { LicenseGate, type LicenseGateState } from '../../src/licensing/license-gate.ts';
import { doc, newKeys, recordingLogger, tempDir } from './license-fixtures.ts';

const HOST = 'H1-GATE-TEST-HOST-AAAA';
const keys = newKeys();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(opts: { pollIntervalMs?: number; now?: () => Date; clockSkewMs?: number } = {}) {
  const t = await tempDir();
  const file = t.file('license.json');
  const logger = recordingLogger();
  const make = (f: string | null = file) => {
    const gate = new LicenseGate({
      file: f,
      trustedKeys: trustedKeysOf([keys.publicKeyPem]),
      hostId: HOST,
      logger,
      pollIntervalMs: 0,
      ...opts,
    });
    cleanups.push(() => gate.close());
    return gate;
  };
  cleanups.push(t.remove);
  /** Writes like an editor: a temp file renamed over the target. */
  const put = async (text: string) => {
    const tmp = t.file(`.license.json.${Math.random().toString(36).slice(2)}`);
    await writeFile(tmp, text);
    await rename(tmp, file);
  };
  return { file, logger, make, put };
}

describe('LicenseGate', () => {
  it('is not licensed when LICENSE_FILE is unset, and says so', async () => {
    const { make, logger } = await setup();
    const gate = make(null);
    expect(gate.state()).toMatchObject({ chatsLicensed: false, code: 'license_file_not_set' });
    expect(gate.state().reason).toContain('LICENSE_FILE is not set');
    expect(logger.lines.some((l) => l.startsWith('error: chat module not licensed: LICENSE_FILE is not set'))).toBe(true);
  });

  it('becomes licensed when a valid document is written, through the directory watch', async () => {
    const { make, put, logger } = await setup({ pollIntervalMs: 0 });
    const gate = make();
    expect(gate.state()).toMatchObject({ chatsLicensed: false, code: 'license_unreadable' });
    const changed = once(gate, 'change') as Promise<[LicenseGateState]>;
    await put(doc(keys, { hostId: HOST }));
    const [s] = await changed;
    expect(s.chatsLicensed).toBe(true);
    expect(s.reason).toBeNull();
    expect(gate.state().chatsLicensed).toBe(true);
    expect(logger.lines).toContain('info: chat module licensed: starting');
  });

  it('notices a replaced document through the periodic check as well', async () => {
    const { make, file } = await setup({ pollIntervalMs: 50 });
    const gate = make();
    // Write in place (no rename); whichever of watch and poll sees it first emits once.
    const changed = once(gate, 'change') as Promise<[LicenseGateState]>;
    await writeFile(file, doc(keys, { hostId: HOST }));
    expect((await changed)[0].chatsLicensed).toBe(true);
  });

  it('stops at the expiry moment and starts again when a renewed document arrives', async () => {
    const { make, put, logger } = await setup();
    await put(doc(keys, { hostId: HOST, expiresAt: new Date(Date.now() + 1_000) }));
    const gate = make();
    expect(gate.state().chatsLicensed).toBe(true);
    const [expired] = (await once(gate, 'change')) as [LicenseGateState];
    expect(expired).toMatchObject({ chatsLicensed: false, code: 'license_expired' });
    expect(logger.lines.some((l) => /^error: chat module not licensed: License .* expired at .*; stopping$/.test(l))).toBe(true);
    const back = once(gate, 'change') as Promise<[LicenseGateState]>;
    await put(doc(keys, { hostId: HOST, expiresAt: null }));
    expect((await back)[0].chatsLicensed).toBe(true);
  });

  it('starts at the moment a not-yet-valid document becomes valid', async () => {
    const { make, put } = await setup({ clockSkewMs: 0 });
    await put(doc(keys, { hostId: HOST, issuedAt: new Date(Date.now() + 800) }));
    const gate = make();
    expect(gate.state().code).toBe('license_not_yet_valid');
    const [s] = (await once(gate, 'change')) as [LicenseGateState];
    expect(s.chatsLicensed).toBe(true);
  });

  it('follows an injected clock, and emits only when the answer changes', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const { make, put } = await setup({ now: () => now });
    await put(
      doc(keys, {
        hostId: HOST,
        issuedAt: '2025-12-01T00:00:00Z',
        expiresAt: '2026-02-01T00:00:00Z',
      }),
    );
    const gate = make();
    const seen: LicenseGateState[] = [];
    gate.on('change', (s) => seen.push(s));
    expect(gate.state().chatsLicensed).toBe(true);
    gate.recheck();
    expect(seen).toHaveLength(0);
    now = new Date('2026-02-01T00:00:00Z');
    gate.recheck();
    expect(seen.map((s) => s.code)).toEqual(['license_expired']);
    gate.recheck();
    expect(seen).toHaveLength(1);
  });

  it('is not licensed by a valid document without feature 42, nor by one for another host', async () => {
    const { make, put, file } = await setup();
    await put(doc(keys, { hostId: HOST, features: { 48: 3 } }));
    const gate = make();
    expect(gate.state()).toMatchObject({ chatsLicensed: false, code: 'license_feature_missing' });
    expect(gate.state().reason).toContain('42');
    await put(doc(keys, { hostId: 'H1-OTHR-OTHR-OTHR-OTHR' }));
    const other = make();
    expect(other.state()).toMatchObject({ chatsLicensed: false, code: 'license_wrong_host' });
    await rm(file);
    expect(other.recheck().code).toBe('license_unreadable');
  });
});

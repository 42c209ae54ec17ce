/** Keys and documents for the licensing tests (in memory; files only where a test needs them). */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueLicense, type IssueOptions } from '../../vendor/license-signing.ts';
import type { Logger } from '../../src/core/index.ts';

export interface TestKeys {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function newKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

export function doc(keys: TestKeys, o: Partial<Omit<IssueOptions, 'privateKeyPem'>> & { hostId: string }): string {
  return issueLicense({ privateKeyPem: keys.privateKeyPem, features: { 42: 1, 48: 5, 49: 3 }, ...o });
}

export async function tempDir(): Promise<{ dir: string; file: (name: string) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lic-test-'));
  return { dir, file: (n) => join(dir, n), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger that keeps `level: message` lines. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (a: object | string, b?: string) => {
    lines.push(`${level}: ${typeof a === 'string' ? a : (b ?? '')}`);
  };
  const l: Logger & { lines: string[] } = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => l,
  };
  return l;
}

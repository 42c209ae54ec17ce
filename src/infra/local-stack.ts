/**
 * Everything the connector talks to, on this machine: Redis (embedded when none answers),
 * the 1C emulator, the emulated Telegram Bot API with bots, and a throwaway license for
 * this host. The demo, the end-to-end tests, the benchmarks and the soak all start from
 * here, so they exercise the same product parts the same way.
 *
 * The throwaway license is signed by a throwaway key that no configuration can make
 * trusted (licensing.md, "Trusted keys"): in-process connectors get its directory as the
 * `trustedKeysDir` option (code), and a connector process runs from `packageCopy()` — a
 * temporary copy of the package whose `keys/license/` holds that key instead of the
 * vendor's.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../config/config.ts';
import type { FeatureId } from '../licensing/features.ts';
import { computeHostId } from '../licensing/host-id.ts';
import { issueLicense, keygen } from '../../vendor/license-signing.ts';
import { OnecEmulator } from '../onec/emulator/index.ts';
import type { OnecEmulatorOptions } from '../onec/emulator/index.ts';
import { TelegramEmulator } from '../emulators/telegram/index.ts';
import { ensureRedis, type EmbeddedRedis } from './embedded-redis.ts';

export interface LocalBot {
  token: string;
  id: number;
  username: string;
}

export interface LocalStackOptions {
  /** Bots on the emulated Bot API (default one: `demo_shop_bot`). */
  bots?: { username: string; id?: number }[];
  onec?: OnecEmulatorOptions;
  /** Feature grants of the throwaway license (default 42 and 10 seats of 48 and 49); null = no license file. */
  features?: Partial<Record<FeatureId, number>> | null;
  /** Extra environment for the connector's config (wins over the stack's). */
  env?: Record<string, string>;
  /** Redis URL to try first (default REDIS_URL). */
  redisUrl?: string;
  /** HTTP port for the connector (default 0: a free one). */
  httpPort?: number;
}

export interface LocalStack {
  redis: EmbeddedRedis;
  onec: OnecEmulator;
  telegram: TelegramEmulator;
  bots: LocalBot[];
  /** The connector's configuration, pointing at all of the above. */
  config: Readonly<Config>;
  env: Record<string, string>;
  dir: string;
  licenseFile: string;
  privateKeyPath: string;
  publicKeyPath: string;
  /** The directory holding only the throwaway public key: pass it as `trustedKeysDir` (code, never config). */
  keysDir: string;
  /**
   * A temporary copy of the package (its `bin/`, `src/`, `vendor/`, `package.json`; `node_modules`
   * linked) whose `keys/license/` trusts the throwaway key: spawn `<bin>` to run a connector
   * process. Made on first call, removed by `stop()`.
   */
  packageCopy(): { root: string; bin: string };
  hostId: string;
  /** Writes a new license document for this host (or another) to the license file. */
  writeLicense(
    features: Partial<Record<FeatureId, number>>,
    opts?: { hostId?: string; expiresAt?: string | null; issuedAt?: string },
  ): void;
  stop(): Promise<void>;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const redis = await ensureRedis({ url: opts.redisUrl });
  const onec = new OnecEmulator(opts.onec ?? {});
  await onec.start();
  const telegram = new TelegramEmulator();
  await telegram.start();
  const bots: LocalBot[] = (opts.bots ?? [{ username: 'demo_shop_bot' }]).map((b, i) => {
    const id = b.id ?? 7_000_000_000 + i + Math.floor(Math.random() * 1000) * 10;
    const token = `${id}:${randomBytes(24).toString('base64url')}`;
    telegram.addBot({ token, id, username: b.username, firstName: b.username });
    return { token, id, username: b.username };
  });

  const dir = mkdtempSync(join(tmpdir(), 'chat-connector-stack-'));
  const keys = await keygen(join(dir, 'signing'), 'throwaway');
  const keysDir = join(dir, 'trusted-keys');
  mkdirSync(keysDir);
  writeFileSync(join(keysDir, 'throwaway.pem'), keys.publicKeyPem);
  const hostId = computeHostId();
  const licenseFile = join(dir, 'license.json');
  const privateKeyPem = readFileSync(keys.privateKeyPath, 'utf8');
  const writeLicense: LocalStack['writeLicense'] = (features, o = {}) => {
    const doc = issueLicense({
      privateKeyPem,
      hostId: o.hostId ?? hostId,
      features,
      licensee: 'Demo LLC',
      id: `LIC-DEMO-${randomBytes(3).toString('hex')}`,
      expiresAt: o.expiresAt === undefined ? null : o.expiresAt,
      issuedAt: o.issuedAt,
    });
    writeFileSync(`${licenseFile}.tmp`, doc);
    // Rename: the gate must never see a half-written document.
    renameSync(`${licenseFile}.tmp`, licenseFile);
  };
  if (opts.features !== null) writeLicense(opts.features ?? { 42: 1, 48: 10, 49: 10 });

  const service = (opts.onec?.users ?? []).find((u) => u.serviceRights !== false) ?? { login: 'service', password: 'service-pass' };
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `cc-${randomBytes(4).toString('hex')}`,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(opts.httpPort ?? 0),
    API_TOKEN: randomBytes(24).toString('base64url'),
    ONEC_BASE_URL: onec.url,
    ONEC_USER: service.login,
    ONEC_PASSWORD: service.password,
    TELEGRAM_BOT_TOKENS: bots.map((b) => b.token).join(','),
    TELEGRAM_API_ROOT: telegram.apiRoot,
    LICENSE_FILE: licenseFile,
    MEDIA_DIR: join(dir, 'media'),
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const config = loadConfig(env, { purpose: 'start', envFile: false });
  let copy: { root: string; bin: string } | null = null;
  return {
    redis,
    onec,
    telegram,
    bots,
    config,
    env,
    dir,
    licenseFile,
    privateKeyPath: keys.privateKeyPath,
    publicKeyPath: keys.publicKeyPath,
    keysDir,
    packageCopy: () => (copy ??= copyPackage(join(dir, 'package'), keys.publicKeyPem)),
    hostId,
    writeLicense,
    async stop() {
      await telegram.stop().catch(() => undefined);
      await onec.stop().catch(() => undefined);
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The package as installed, but trusting `publicKeyPem` instead of the vendor's keys. Source
 * files are copied, not linked: Node resolves a linked module to its real place, where
 * `keys/license/` is the vendor's.
 */
function copyPackage(root: string, publicKeyPem: string): { root: string; bin: string } {
  for (const part of ['bin', 'src', 'vendor']) cpSync(join(PACKAGE_ROOT, part), join(root, part), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) cpSync(join(PACKAGE_ROOT, file), join(root, file));
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  mkdirSync(join(root, 'keys', 'license'), { recursive: true });
  writeFileSync(join(root, 'keys', 'license', 'throwaway.pem'), publicKeyPem);
  return { root, bin: join(root, 'bin', 'chat-connector.js') };
}

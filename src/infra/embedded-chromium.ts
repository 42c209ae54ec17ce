/**
 * A browser for the dashboard's browser test, set up by the test launcher the way
 * embedded-redis sets up Redis: CHROMIUM_PATH when it exists, else Debian's `chromium`
 * where it is installed, else installed with apt-get when we are root, else one line
 * saying how — the browser test is then skipped with that line as its reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type ChromiumResult = { path: string; installed: boolean } | { path: null; reason: string };

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Finds Chromium, installing Debian's package when missing and possible (root with apt-get). */
export function ensureChromium(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): ChromiumResult {
  const found = findChromium();
  if (found) return { path: found, installed: false };
  if (process.env.CHROMIUM_PATH) return { path: null, reason: `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist.` };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  const how = 'install it with "sudo apt-get install chromium" (Debian/Ubuntu) or set CHROMIUM_PATH';
  if (!isRoot || !hasApt)
    return {
      path: null,
      reason: `Chromium is not installed and cannot be installed here (${hasApt ? 'not root' : 'no apt-get'}): ${how}.`,
    };
  log("chromium is not installed; installing Debian's chromium with apt-get (for the dashboard browser test) …");
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const path = r.status === 0 ? findChromium() : null;
  return path
    ? { path, installed: true }
    : { path: null, reason: `apt-get could not install chromium (exit ${r.status ?? 'signal'}): ${how}.` };
}

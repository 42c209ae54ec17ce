/**
 * A Debian tool a test needs (systemd-analyze, promtool), set up the way `npm test` sets up
 * Redis: used when present, installed with apt-get when missing and we are root, otherwise
 * one line saying how — and the caller skips with that line as the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface ToolOrReason {
  path: string | null;
  /** Why the tool is missing, as one sentence (null when found). */
  reason: string | null;
}

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || null : null;
}

let updated = false;

/** Finds `bin`, installing Debian package `pkg` when missing and possible. */
export function ensureDebianTool(bin: string, pkg: string): ToolOrReason {
  const found = which(bin);
  if (found) return { path: found, reason: null };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !which('apt-get')) {
    return { path: null, reason: `${bin} is missing; install it with: sudo apt-get install ${pkg}` };
  }
  process.stderr.write(`installing Debian's ${pkg} for ${bin}…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    if (!updated) execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    updated = true;
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, stdio: 'ignore' });
  } catch {
    return { path: null, reason: `${bin} is missing and "apt-get install ${pkg}" failed; install it by hand` };
  }
  const installed = which(bin);
  return installed ? { path: installed, reason: null } : { path: null, reason: `${pkg} installed but ${bin} is not on PATH` };
}

/**
 * deploy/systemd: the units pass `systemd-analyze verify` (with the package path pointed at
 * this checkout, since verify checks that ExecStart's files exist), keep the hardening and
 * the restart policy, and give a stop more time than the connector's shutdown bound.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_BOUND_MS } from '../../src/cli/start-command.ts';
import { ensureDebianTool, type ToolOrReason } from '../helpers/debian-tool.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const unitsDir = join(root, 'deploy', 'systemd');
const UNITS = ['chat-connector.service', 'chat-connector-worker@.service', 'chat-connector-workers.target'];

let tool: ToolOrReason = { path: null, reason: 'not checked yet' };
let work = '';

beforeAll(() => {
  tool = ensureDebianTool('systemd-analyze', 'systemd');
  if (tool.reason) process.stderr.write(`systemd unit tests skipped: ${tool.reason}\n`);
  work = mkdtempSync(join(tmpdir(), 'cc-units-'));
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Copies the units with the install path replaced, plus one instance of the template. */
function placeUnits(dir: string, edit: (name: string, text: string) => string = (_n, t) => t): string[] {
  for (const u of UNITS)
    writeFileSync(join(dir, u), edit(u, readFileSync(join(unitsDir, u), 'utf8').replaceAll('/opt/chat-connector', root)));
  cpSync(join(dir, 'chat-connector-worker@.service'), join(dir, 'chat-connector-worker@inbound.service'));
  return ['chat-connector.service', 'chat-connector-worker@inbound.service', 'chat-connector-workers.target'].map((u) => join(dir, u));
}

function verify(files: string[]): { status: number | null; output: string } {
  const r = spawnSync(tool.path!, ['verify', '--man=no', ...files], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function directives(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(join(unitsDir, unit), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

describe('systemd units', () => {
  it('every file in deploy/systemd is one of the known units', () => {
    expect(readdirSync(unitsDir).sort()).toEqual([...UNITS].sort());
  });

  it('pass systemd-analyze verify with no warning', (ctx) => {
    if (!tool.path) return ctx.skip();
    const dir = mkdtempSync(join(work, 'ok-'));
    const r = verify(placeUnits(dir));
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('verify catches a planted mistake (so the check above can fail)', (ctx) => {
    if (!tool.path) return ctx.skip();
    const dir = mkdtempSync(join(work, 'bad-'));
    const files = placeUnits(dir, (name, text) =>
      name === 'chat-connector.service' ? text.replace('Restart=on-failure', 'Restart=sometimes') : text,
    );
    expect(verify(files).output).toMatch(/chat-connector\.service:\d+: Failed to parse service restart specifier/);
  });

  for (const unit of ['chat-connector.service', 'chat-connector-worker@.service']) {
    it(`${unit}: dedicated user, EnvironmentFile, hardening, restart, stop timeout above the shutdown bound`, () => {
      const d = directives(unit);
      expect(d.get('User')).toEqual(['chat-connector']);
      expect(d.get('EnvironmentFile')?.[0]).toMatch(/^\/etc\/chat-connector\//);
      expect(d.get('NoNewPrivileges')).toEqual(['yes']);
      expect(d.get('ProtectSystem')).toEqual(['strict']);
      expect(d.get('ReadWritePaths')).toEqual(['/var/lib/chat-connector']);
      expect(d.get('WorkingDirectory')).toEqual(['/var/lib/chat-connector']);
      expect(d.get('Restart')).toEqual(['on-failure']);
      expect(d.get('KillSignal')).toEqual(['SIGTERM']);
      const stopS = Number(d.get('TimeoutStopSec')?.[0]);
      expect(stopS * 1000).toBeGreaterThan(SHUTDOWN_BOUND_MS);
      expect(d.get('ExecStart')?.[0]).toMatch(/bin\/chat-connector\.js (start|worker %i)$/);
    });
  }
});

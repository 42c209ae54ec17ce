import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OnecEmulator } from '../../src/onec/emulator/index.ts';
import { SERVICE } from '../onec/onec-test-helpers.ts';

let emu: OnecEmulator;
beforeAll(async () => {
  // Slow enough that Ctrl+C lands while the run holds its session.
  emu = new OnecEmulator({ latency: { perCallMs: 100 } });
  await emu.start();
});
afterAll(async () => {
  await emu.stop();
});

it('Ctrl+C in the middle of `chat-connector onec-check` finishes every 1C session it opened, then exits 130', async () => {
  const child = spawn(
    process.execPath,
    ['bin/chat-connector.js', 'onec-check', '--url', emu.url, '--user', SERVICE.login, '--password', SERVICE.password],
    { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let openWhenInterrupted = -1;
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    if (openWhenInterrupted < 0 && out.includes('✓ session-cookie')) {
      openWhenInterrupted = emu.state().sessions.open;
      child.kill('SIGINT');
    }
  });
  expect(await exited).toBe(130);
  expect(openWhenInterrupted).toBeGreaterThan(0);
  expect(err).toContain('onec-check: interrupted');
  expect(out).toMatch(/· [a-z0-9-]+: not run — interrupted/);
  expect(out).toMatch(/✓ sessions-finished \(\d+ ms\) — (\d+) opened, \1 finished/);
  expect(emu.state().sessions.open).toBe(0);
});

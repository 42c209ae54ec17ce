import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runOnecCheckCommand } from '../../src/cli/onec-check-command.ts';
import { CHECK_NAMES, runOnecCheck, type OnecCheckReport } from '../../src/onec/check/index.ts';
import { CONTRACT_FAULT_NAMES, OnecEmulator, type ContractFault } from '../../src/onec/emulator/index.ts';
import { IVANOV, SERVICE } from './onec-test-helpers.ts';

/** Which check names the rule each broken variant breaks: exactly this one must fail. */
const CAUGHT_BY: Record<Exclude<ContractFault, 'none'>, string> = {
  'ascii-basic-auth': 'basic-auth-utf8',
  'wrong-password-200': 'bad-password-401',
  'no-www-authenticate': 'bad-password-401',
  'cookie-not-kept': 'session-cookie',
  'finish-ignored': 'session-finish',
  'sessions-never-end': 'license-release',
  'wrong-missing-header-text': 'missing-session-header',
  'wrong-dead-session-text': 'dead-session-text',
  'licenses-shape': 'licenses-shape',
  'rejects-kinds': 'messages-accepted',
  'no-duplicate': 'messages-duplicate',
  'results-out-of-order': 'results-one-per-item',
  'fewer-results': 'results-one-per-item',
  'batch-500-refused': 'messages-500',
  'statuses-no-duplicate': 'statuses',
  'routing-no-duplicate': 'routing',
  'auth-wrong-password-200': 'auth-wrong-password',
  'wrong-pin-200': 'auth-wrong-pin',
  'html-error-page': 'error-bodies',
  'wrong-content-type': 'json-answers',
  'slow-statuses': 'response-times',
};

// Below the 2 s of `slow-statuses`, far above any honest call of the emulator.
const MAX_CALL_MS = 1_800;

const marks = (r: OnecCheckReport): Record<string, string> => Object.fromEntries(r.checks.map((c) => [c.name, c.mark]));

describe('onec-check against the bundled 1C emulator', () => {
  let emu: OnecEmulator;
  beforeAll(async () => {
    emu = new OnecEmulator();
    await emu.start();
  });
  afterAll(async () => {
    await emu.stop();
  });
  beforeEach(() => {
    // `sessions-never-end` keeps licenses: every test starts from a fresh infobase.
    emu.reset();
    emu.setContractFault('none');
  });
  const check = (extra: Partial<Parameters<typeof runOnecCheck>[0]> = {}): Promise<OnecCheckReport> =>
    runOnecCheck({ url: emu.url, service: SERVICE, cyrillic: IVANOV, maxCallMs: MAX_CALL_MS, ...extra });

  it('passes every check, stores the test chat in order, and leaves no session open', async () => {
    emu.setContractFault('none');
    const before = emu.state().sessions.opened;
    const r = await check();
    expect(r.checks.filter((c) => c.mark !== 'pass')).toEqual([]);
    expect(r.checks.map((c) => c.name)).toEqual(CHECK_NAMES);
    expect(r.ok).toBe(true);
    const st = emu.state();
    expect(st.sessions.open).toBe(0);
    expect(st.sessions.opened - before).toBe(r.sessions.opened);
    expect(r.chatId).toMatch(/^test:onec-check:[0-9a-f]+$/);
    // 6 mixed + 500: each stored once, in seq order, only under the test chat key.
    const stored = st.messages.byChat[r.chatId];
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 506 }, (_, i) => i + 1));
    expect(Object.keys(st.messages.byChat).every((k) => k.startsWith('test:onec-check:'))).toBe(true);
    expect(emu.storedMessage(`${r.chatId}:2`)).toMatchObject({ kind: 'photo', media: [{ mime: 'image/jpeg' }] });
    expect(emu.storedMessage(`${r.chatId}:1:edit:1`)).toMatchObject({ kind: 'edit', target: `${r.chatId}:1` });
    // It never logs an operator in.
    expect(st.auth.ok).toBe(0);
  });

  it('skips basic-auth-utf8 (and still passes) without a Cyrillic user', async () => {
    emu.setContractFault('none');
    const r = await check({ cyrillic: null });
    expect(marks(r)['basic-auth-utf8']).toBe('skip');
    expect(r.checks.filter((c) => c.mark !== 'pass' && c.name !== 'basic-auth-utf8')).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('says outright when 1C has no second free license, and still finishes its sessions', async () => {
    emu.takeLicenses(emu.state().licenses.free - 1);
    const r = await check();
    const release = r.checks.find((c) => c.name === 'license-release');
    expect(release).toMatchObject({ mark: 'fail', got: expect.stringMatching(/^500 /) });
    expect(release?.note).toMatch(/^1C has no free client license/);
    expect(emu.state().sessions.open).toBe(0);
    expect(r.checks.at(-1)).toMatchObject({ name: 'sessions-finished', mark: 'pass' });
  });

  it('has a broken variant for every rule it names in its table', () => {
    expect(Object.keys(CAUGHT_BY).sort()).toEqual([...CONTRACT_FAULT_NAMES].sort());
    for (const name of Object.values(CAUGHT_BY)) expect(CHECK_NAMES).toContain(name);
  });

  it.each(CONTRACT_FAULT_NAMES.map((f) => [f, CAUGHT_BY[f]] as const))(
    'variant %s fails exactly %s and passes every other check',
    async (fault, caughtBy) => {
      emu.setContractFault(fault);
      try {
        const r = await check();
        const failed = r.checks.filter((c) => c.mark !== 'pass');
        expect(failed.map((c) => `${c.name}:${c.mark}`)).toEqual([`${caughtBy}:fail`]);
        expect(failed[0].expected).toBeTruthy();
        expect(failed[0].got).toMatch(/^(\d{3} |no answer|\d+ |POST |GET |200 on )/);
        expect(r.ok).toBe(false);
        expect(emu.state().sessions.open).toBe(0);
      } finally {
        emu.setContractFault('none');
      }
    },
  );

  it.each([1, 4, 7, 12, 18, 24])('an interrupt after call %i finishes every session it opened', async (n) => {
    emu.setContractFault('none');
    const ac = new AbortController();
    let calls = 0;
    const r = await check({
      signal: ac.signal,
      onCall: () => {
        if (++calls === n) ac.abort();
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.checks.some((c) => c.mark === 'not-run' && c.note === 'interrupted')).toBe(true);
    expect(r.sessions.open).toBe(0);
    expect(emu.state().sessions.open).toBe(0);
    expect(r.checks.at(-1)).toMatchObject({ name: 'sessions-finished', mark: 'pass' });
  });

  it('as a command: one line per check, exit 0; a broken variant prints ✗ with status and body, exit 1; --json', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
    const args = ['--url', emu.url, '--user', SERVICE.login, '--password', SERVICE.password];
    emu.setContractFault('none');
    expect(await runOnecCheckCommand(args, { io, env: {}, envFile: false, handleSignals: false })).toBe(0);
    expect(lines.filter((l) => /^[✓✗–·] /.test(l))).toHaveLength(CHECK_NAMES.length);
    expect(lines).toContain(
      '– basic-auth-utf8: skipped — no Cyrillic user to prove UTF-8 with: pass --cyrillic-user and --cyrillic-password (an unknown Cyrillic name got 401, as it should)',
    );
    expect(lines.find((l) => l.startsWith('✓ session-start ('))).toMatch(/^✓ session-start \(\d+ ms\)$/);

    lines.length = 0;
    emu.setContractFault('wrong-dead-session-text');
    try {
      expect(await runOnecCheckCommand([...args, '--json'], { io, env: {}, envFile: false, handleSignals: false })).toBe(1);
    } finally {
      emu.setContractFault('none');
    }
    const report = JSON.parse(lines.join('\n')) as OnecCheckReport;
    expect(report.checks.find((c) => c.mark === 'fail')).toMatchObject({
      name: 'dead-session-text',
      expected: '400 "Сеанс отсутствует или удален"',
      got: '400 Сеанс не найден',
    });
    expect(JSON.stringify(report)).not.toContain(SERVICE.password);
  });

  it('as a command: takes its defaults from the ONEC_* settings, whatever else the environment holds', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
    const env = {
      ONEC_BASE_URL: emu.url,
      ONEC_USER: SERVICE.login,
      ONEC_PASSWORD: SERVICE.password,
      TELEGRAM_BOT_TOKENS: 'not-a-token',
    };
    emu.setContractFault('licenses-shape');
    try {
      expect(await runOnecCheckCommand([], { io, env, envFile: false, handleSignals: false })).toBe(1);
    } finally {
      emu.setContractFault('none');
    }
    expect(lines.find((l) => l.startsWith('✗'))).toBe(
      '✗ licenses-shape: expected 200 {"total": n, "used": n, "free": n} with used + free = total and used ≥ 1, got 200 {"total":"20","used":1,"free":19} — "total" is "20", not a whole number',
    );
    lines.length = 0;
    expect(await runOnecCheckCommand([], { io, env: {}, envFile: false, handleSignals: false })).toBe(2);
    expect(lines[0]).toBe('ERR onec-check: no 1C service URL: pass --url or set ONEC_BASE_URL.');
    lines.length = 0;
    expect(await runOnecCheckCommand(['--url', emu.url], { io, env: { ONEC_USER: 'x', ONEC_TIMEOUT_MS: 'soon' }, envFile: false })).toBe(2);
    expect(lines).toEqual(['ERR config: ONEC_TIMEOUT_MS must be a whole number from 100 to 600000, got "soon"']);
  });
});

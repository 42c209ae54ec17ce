/**
 * Every import rule of .dependency-cruiser.cjs fails on a planted violation: each case writes
 * a small tree with one forbidden import into a temporary directory, cruises it with the
 * project's own rule set through dependency-cruiser's API, and expects that rule's name among
 * the violations. A clean little tree passes every rule (`npm run lint` cruises the real one).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseOptions, type IConfiguration, type ICruiseResult } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function violations(files: Record<string, string>): Promise<{ rule: string; from: string; to: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'import-rules-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const roots = [...new Set(Object.keys(files).map((p) => p.split('/')[0]))];
  const options: ICruiseOptions = {
    ...config.options,
    tsConfig: undefined,
    ruleSet: { forbidden: config.forbidden },
    validate: true,
    baseDir: dir,
    outputType: 'json',
  };
  const out = await cruise(roots, options);
  const result = (typeof out.output === 'string' ? JSON.parse(out.output) : out.output) as ICruiseResult;
  return result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

const imp = (to: string) => `import { x } from '${to}';\nexport const y = x;\n`;
const leaf = 'export const x = 1;\n';

/** Rule name → a tree that breaks it. */
const CASES: Record<string, Record<string, string>> = {
  'no-circular': { 'src/cli/main.ts': imp('../core/a.ts'), 'src/core/a.ts': imp('./b.ts'), 'src/core/b.ts': imp('./a.ts') },
  'no-orphans': { 'src/core/lonely.ts': leaf },
  'no-unreachable': { 'src/cli/main.ts': imp('../core/a.ts'), 'src/core/a.ts': leaf, 'src/ops/dead.ts': imp('../core/a.ts') },
  'not-to-unresolvable': { 'src/cli/main.ts': imp('../core/missing.ts') },
  'core-imports-nothing-of-ours': { 'src/core/a.ts': imp('../lanes/q.ts'), 'src/lanes/q.ts': leaf },
  'channel-imports-only-core': { 'src/channels/telegram/t.ts': imp('../whatsapp/w.ts'), 'src/channels/whatsapp/w.ts': leaf },
  'base-layer-imports-only-core': { 'src/onec/o.ts': imp('../licensing/l.ts'), 'src/licensing/l.ts': leaf },
  'redis-users-import-core-and-redis': { 'src/coordination/c.ts': imp('../lanes/l.ts'), 'src/lanes/l.ts': leaf },
  'lanes-import-core-and-redis': { 'src/lanes/l.ts': imp('../coordination/c.ts'), 'src/coordination/c.ts': leaf },
  'http-basics-import-only-core': { 'src/http/app.ts': imp('../lanes/q.ts'), 'src/lanes/q.ts': leaf },
  'infra-imports-core-and-config': { 'src/infra/logger.ts': imp('../lanes/q.ts'), 'src/lanes/q.ts': leaf },
  'local-harness-imports-no-feature': { 'src/infra/local-stack.ts': imp('../operators/o.ts'), 'src/operators/o.ts': leaf },
  'emulators-standalone': { 'src/emulators/telegram/e.ts': imp('../../core/a.ts'), 'src/core/a.ts': leaf },
  'routes-depend-on-deps-interfaces': {
    'src/http/routes/message-routes.ts': imp('../../outbound/outbound-store.ts'),
    'src/outbound/outbound-store.ts': leaf,
  },
  'routes-import-no-channel': { 'src/http/routes/x-routes.ts': imp('../../channels/telegram/t.ts'), 'src/channels/telegram/t.ts': leaf },
  'features-import-no-channel': {
    'src/ops/doctor.ts': imp('../channels/whatsapp/redis-keys.ts'),
    'src/channels/whatsapp/redis-keys.ts': leaf,
  },
  'features-not-composition-root': { 'src/routing/r.ts': imp('../connector.ts'), 'src/connector.ts': leaf },
  'feature-contract-imports-no-feature': {
    'src/features/feature-contract.ts': imp('../outbound/outbound-service.ts'),
    'src/outbound/outbound-service.ts': leaf,
  },
  'features-import-no-cli': { 'src/operators/operators-feature.ts': imp('../cli/c.ts'), 'src/cli/c.ts': leaf },
  'composition-root-not-cli': { 'src/connector.ts': imp('./cli/c.ts'), 'src/cli/c.ts': leaf },
  'src-not-tests-or-tools': { 'src/lanes/q.ts': imp('../../test/helpers/h.ts'), 'test/helpers/h.ts': leaf },
  'workers-only-entry': { 'workers/http.ts': imp('../src/lanes/q.ts'), 'src/lanes/q.ts': leaf },
  'test-not-bench': { 'test/lanes/x.test.ts': imp('../../bench/inbound-bench.ts'), 'bench/inbound-bench.ts': leaf },
  'tools-not-test': { 'bench/b.ts': imp('../test/helpers/h.ts'), 'test/helpers/h.ts': leaf },
};

describe('import rules (.dependency-cruiser.cjs)', () => {
  it('has a planted violation for every rule', () => {
    expect(Object.keys(CASES).sort()).toEqual((config.forbidden ?? []).map((r) => r.name).sort());
  });

  for (const [rule, files] of Object.entries(CASES)) {
    it(`${rule} fails on a planted violation`, async () => {
      const found = await violations(files);
      expect(
        found.map((v) => v.rule),
        JSON.stringify(found),
      ).toContain(rule);
    });
  }

  it('a clean little tree passes every rule', async () => {
    const found = await violations({
      'src/cli/main.ts': imp('../connector.ts'),
      'src/connector.ts': imp('./ops/o.ts'),
      'src/ops/o.ts': imp('../core/a.ts'),
      'src/core/a.ts': leaf,
      'workers/http.ts': imp('../src/cli/main.ts'),
    });
    expect(found).toEqual([]);
  });
});

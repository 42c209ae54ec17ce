/**
 * `npm run lint` runs ESLint with the project's own eslint.config.js (typescript-eslint's
 * recommended type-checked rules); each case plants one violation in a file inside the
 * project (the type-aware rules need the file in the TypeScript project), lints it through
 * ESLint's Node API, and expects that rule to fire. A clean file next to them passes.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tag = randomBytes(4).toString('hex');
const planted: Record<string, string> = {
  'no-floating-promises': `async function work(): Promise<void> {}\nexport function start(): void {\n  work();\n}\n`,
  'no-misused-promises': `import { EventEmitter } from 'node:events';\nexport const bus = new EventEmitter();\nbus.on('x', async () => {\n  await Promise.resolve();\n});\n`,
  'no-unsafe-member-access': `export const value: unknown = JSON.parse('{}').field;\n`,
  clean: `export async function ok(): Promise<number> {\n  return (await Promise.resolve(1)) + 1;\n}\n`,
};
const fileOf = (name: string) => join(root, 'test/lint', `planted-${tag}-${name}.ts`);
const results = new Map<string, ESLint.LintResult>();

beforeAll(async () => {
  for (const [name, text] of Object.entries(planted)) writeFileSync(fileOf(name), text);
  const eslint = new ESLint({ cwd: root });
  for (const r of await eslint.lintFiles(Object.keys(planted).map(fileOf))) {
    const name = Object.keys(planted).find((n) => r.filePath === fileOf(n));
    if (name) results.set(name, r);
  }
}, 300_000);
afterAll(() => {
  for (const name of Object.keys(planted)) rmSync(fileOf(name), { force: true });
});

describe('eslint (project config)', () => {
  for (const rule of Object.keys(planted).filter((n) => n !== 'clean')) {
    it(`fails on a planted ${rule}`, () => {
      const found = results.get(rule)?.messages.map((m) => m.ruleId) ?? [];
      expect(found).toContain(`@typescript-eslint/${rule}`);
    });
  }

  it('passes a clean file', () => {
    expect(results.get('clean')?.messages ?? ['not linted']).toEqual([]);
  });
});

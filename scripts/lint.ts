/**
 * The one project rule neither tsc nor dependency-cruiser checks: no `any` (strict types are
 * the rule). The import graph is checked by dependency-cruiser (.dependency-cruiser.cjs);
 * `npm run lint` runs tsc, dependency-cruiser, this, and prettier --check.
 * Prints one line per violation and exits non-zero when there is any.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const problems: string[] = [];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

// This file is left out: its pattern spells the word it looks for.
const files = ['src', 'workers', 'test', 'bench', 'soak', 'scripts']
  .flatMap((d) => walk(join(root, d)))
  .filter((f) => !f.endsWith('scripts/lint.ts'));
for (const f of files) {
  const rel = relative(root, f);
  readFileSync(f, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(\*|\/\*)/.test(line)) return;
      const code = line.replace(/\/\/.*$/, '');
      if (/:\s*any\b|\bas any\b|<any>/.test(code)) problems.push(`${rel}:${i + 1}: uses "any" (strict types are the rule)`);
    });
}

for (const p of problems) console.log(p);
console.log(problems.length ? `${problems.length} problem(s)` : `lint: ${files.length} files, no "any"`);
process.exit(problems.length ? 1 : 0);

/**
 * Project rules tsc does not check: no `any`; the layering of the design (core imports
 * nothing of ours, channels import only core); no import cycles. Prints one line per
 * violation and exits non-zero when there is any.
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

const files = [...walk(join(root, 'src')), ...walk(join(root, 'workers'))];
const graph = new Map<string, string[]>();
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const rel = relative(root, f);
  text.split('\n').forEach((line, i) => {
    if (/^\s*(\*|\/\*)/.test(line)) return;
    const code = line.replace(/\/\/.*$/, '');
    if (/:\s*any\b|\bas any\b|<any>/.test(code)) problems.push(`${rel}:${i + 1}: uses "any" (strict types are the rule)`);
  });
  const deps: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(f), spec);
    const trel = relative(root, target);
    deps.push(target);
    if (rel.startsWith('src/core/') && !trel.startsWith('src/core/'))
      problems.push(`${rel}: core imports ${trel} (core imports nothing else of ours)`);
    const ch = /^src\/channels\/([^/]+)\//.exec(rel);
    if (ch && !trel.startsWith('src/core/') && !trel.startsWith(`src/channels/${ch[1]}/`))
      problems.push(`${rel}: the ${ch[1]} channel imports ${trel} (channels import only core)`);
  }
  graph.set(f, deps);
}

// Cycles: depth-first search with colours; report each cycle once by its smallest member.
const state = new Map<string, 1 | 2>();
const stack: string[] = [];
const seen = new Set<string>();
function dfs(n: string): void {
  state.set(n, 1);
  stack.push(n);
  for (const d of graph.get(n) ?? []) {
    if (!graph.has(d)) continue;
    if (state.get(d) === 1) {
      const cycle = stack.slice(stack.indexOf(d)).map((p) => relative(root, p));
      const key = [...cycle].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${[...cycle, relative(root, d)].join(' -> ')}`);
      }
    } else if (!state.has(d)) dfs(d);
  }
  stack.pop();
  state.set(n, 2);
}
for (const f of graph.keys()) if (!state.has(f)) dfs(f);

for (const p of problems) console.log(p);
console.log(problems.length ? `${problems.length} problem(s)` : `lint: ${files.length} files, no problems`);
process.exit(problems.length ? 1 : 0);

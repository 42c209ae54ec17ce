/**
 * `npm run onec-ext-check [dir]`: the static checks of the 1C extension (default
 * `onec/extension`). One line per problem as `file:line: message`; exit 1 when any.
 */
import { resolve } from 'node:path';
import { checkExtension } from '../src/onec/extension-check/extension-check.ts';

const dir = resolve(process.argv[2] ?? 'onec/extension');
const problems = checkExtension(dir);
for (const p of problems) process.stdout.write(`${p.file}:${p.line}: ${p.message}\n`);
process.stdout.write(
  problems.length === 0 ? `✓ ${dir}: the extension passes the static checks\n` : `✗ ${problems.length} problem(s) in ${dir}\n`,
);
process.exitCode = problems.length === 0 ? 0 : 1;

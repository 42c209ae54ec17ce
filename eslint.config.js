// typescript-eslint's recommended type-checked rules over every TypeScript folder, and
// ESLint's recommended rules over the panel's browser modules. Formatting is Prettier's
// (`npm run format:check`); eslint-config-prettier turns off every stylistic rule that could
// disagree with it. Each tuned rule says why.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'test-artifacts/**', 'onec/**', 'deploy/**', 'docs/**', 'keys/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tsc already reports undefined names, with the real lib and @types (typescript-eslint's advice).
      'no-undef': 'off',
      // Async functions here implement Promise-returning contracts (fastify plugins, sinks, stores,
      // fakes); dropping `async` would turn their throws into synchronous ones.
      '@typescript-eslint/require-await': 'off',
      // `const { secret: _omit, ...rest } = x` and `_arg` are this codebase's "deliberately unused".
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // String(v) is applied on purpose to parsed input (JSON, XML, form fields) narrowed from
      // `unknown`; the rule cannot tell that from an accidental object.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest types its asymmetric matchers (expect.any, expect.stringMatching) as `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // The panel's plain ES modules run in the browser; the rest of the JS is Node tooling.
    files: ['src/panel/static/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ignores: ['src/panel/static/**'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  prettier,
);

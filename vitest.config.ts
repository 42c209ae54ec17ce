import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: a few files at a time keeps the process-spawning tests honest about time.
    maxWorkers: 3,
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{shared,controller,runtime,test}/src/**/*.test.ts'],
    globalSetup: ['test/src/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // End-to-end files start several processes each; two at a time fit 2 cores.
    maxWorkers: 2,
    reporters: process.env.CI === 'true' ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples and docs import the package by name; tests run them against the source.
    alias: [
      { find: /^steadyrpc\/testing$/, replacement: src('testing/index.ts') },
      { find: /^steadyrpc\/viem$/, replacement: src('viem.ts') },
      { find: /^steadyrpc\/ethers$/, replacement: src('ethers.ts') },
      { find: /^steadyrpc$/, replacement: src('index.ts') },
    ],
  },
  test: {
    environment: 'node',
    testTimeout: 10_000,
    projects: [
      {
        // Fake clock and fake sockets: fast, in parallel.
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts', 'examples/**/*.test.ts'], exclude: ['test/integration/**', 'test/adversarial/**', 'test/browser/**', 'test/runtimes/**', 'test/audit/**/*.integration.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        // Real anvil nodes and real time: one file at a time, after the unit tests, so timings
        // (failback < 2 s) are not measured on a machine busy with other test files.
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/runtimes/**/*.test.ts', 'test/audit/**/*.integration.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        // The adversarial suite (issue 13): each probe against the real proxy over real anvil nodes
        // and misbehaving relays. Short inside `npm test`; `npm run test:adversarial` runs it long.
        extends: true,
        test: { name: 'adversarial', include: ['test/adversarial/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 2 } },
      },
      {
        // Headless Chromium (issue 14): the viem and ethers pages bundled for the browser, against
        // real anvil nodes behind fault proxies. One file at a time, after everything else, so a
        // browser and its nodes never share the machine with another real-time suite.
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 3 } },
      },
    ],
  },
});

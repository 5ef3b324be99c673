/**
 * `npm run test:fleet` (issue 16): the fleet behind HAProxy. Not part of `npm test` (it needs the
 * haproxy binary); its own config, and a .spec.ts name the unit project's
 * *.test.ts pattern does not match, so `npm test` never picks it up.
 */
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(
  { ...base, test: { ...base.test, projects: undefined } },
  defineConfig({ test: { name: 'fleet', include: ['test/fleet/**/*.spec.ts'], fileParallelism: false, testTimeout: 170_000, hookTimeout: 60_000 } }),
);

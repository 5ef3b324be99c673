import { defineConfig } from 'tsup';

const entry = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  // viem and ethers are optional peer dependencies: tsup keeps them external, and only these
  // entries import them.
  'viem/index': 'src/viem.ts',
  'ethers/index': 'src/ethers.ts',
};

export default defineConfig([
  {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: true,
  },
  {
    entry,
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    // Shared chunks, so both entries see the same classes (`instanceof SteadyRpcError` holds
    // across `steadyrpc` and `steadyrpc/testing`).
    splitting: true,
    // p-limit is ESM-only; bundle it into the CommonJS build so `require('steadyrpc')`
    // works on every Node 20 release, not only those with require(esm).
    noExternal: ['p-limit', 'yocto-queue'],
  },
]);

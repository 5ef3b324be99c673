// After `npm run build`: every public entry loads under both module systems, the entries share
// their classes (an error thrown by the test kit is a SteadyRpcError of the root entry), viem and
// ethers stay external (the adapters extend the installed packages' classes), and the root entry
// loads neither of them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const expected = {
  steadyrpc: ['NodePool', 'HealthChecker', 'UpstreamSession', 'SteadyRpcError', 'systemClock', 'WsSocketTransport', 'SharedSocketTransport', 'createEip1193Provider', 'ProviderRpcError'],
  'steadyrpc/testing': ['FakeClock', 'FakeHttpTransport', 'FakeNode', 'FakeSocketTransport'],
  'steadyrpc/viem': ['resilientTransport'],
  'steadyrpc/ethers': ['ResilientProvider'],
};

for (const [system, load] of [
  ['cjs', async (name) => require(name)],
  ['esm', async (name) => import(name)],
]) {
  const mods = {};
  for (const [entry, names] of Object.entries(expected)) {
    mods[entry] = await load(entry);
    for (const name of names) assert.ok(mods[entry][name] !== undefined, `${system}: ${entry} exports ${name}`);
  }
  const error = await new mods['steadyrpc/testing'].FakeHttpTransport()
    .post({ url: 'http://nowhere.test/' }, '{}', new AbortController().signal)
    .catch((e) => e);
  assert.ok(error instanceof mods.steadyrpc.SteadyRpcError, `${system}: entries share SteadyRpcError`);
  const ethers = await load('ethers');
  assert.equal(Object.getPrototypeOf(mods['steadyrpc/ethers'].ResilientProvider), ethers.SocketProvider, `${system}: ethers is external, not bundled`);
  console.log(`${system}: ${Object.values(expected).flat().length} exports present, classes shared, ethers external`);
}

// The root entry must not load viem or ethers (they are optional peers). ESM: a resolve hook that
// refuses them; CJS: nothing of theirs in require.cache.
const refuseHook = `export async function resolve(specifier, context, next) {
  if (/^(viem|ethers)(\\/|$)/.test(specifier)) throw new Error('loaded ' + specifier);
  return next(specifier, context);
}`;
const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(refuseHook)}`)});`;
const node = (args) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const withHook = (code) => node(['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', code]);
withHook(`await import('steadyrpc'); await import('steadyrpc/testing');`);
assert.throws(() => withHook(`await import('steadyrpc/viem');`), /loaded viem/, 'the hook catches an import of viem');
node(['-e', `require('steadyrpc'); require('steadyrpc/testing');
const loaded = Object.keys(require.cache).filter((path) => /[\\\\/]node_modules[\\\\/](viem|ethers)[\\\\/]/.test(path));
if (loaded.length > 0) { console.error(loaded.join('\\n')); process.exit(1); }`]);
console.log('root entry loads neither viem nor ethers (esm and cjs)');

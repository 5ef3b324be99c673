// After `npm run build`: every public entry loads under both module systems, the entries share
// their classes (an error thrown by the test kit is a SteadyRpcError of the root entry), viem and
// ethers stay external (the adapters extend the installed packages' classes), and the root entry
// loads neither of them. Then the same under the `browser` condition (what bundlers for the web
// resolve): the browser builds load, share their classes, and never load `ws`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

// The `browser` condition, under both module systems: every entry resolves to dist/browser, loads
// without `ws` (a resolve hook refuses it; CJS: nothing of it in require.cache), has the same
// exports as the Node build, shares SteadyRpcError with the test kit, and its WsSocketTransport
// fails at construction with a clear ERR_CONFIG instead of at the first connect. The ethers entry
// is only resolved here: under Node with the browser condition, ethers itself fails to load (its
// `ws` import gets ws's browser stub); test/packaging/browserBundle.test.ts loads it bundled.
const browserCheck = (load, resolvePath) => `
const expected = ${JSON.stringify(expected)};
const mods = {};
for (const [entry, names] of Object.entries(expected)) {
  const path = ${resolvePath}(entry);
  if (!/[\\\\/]dist[\\\\/]browser[\\\\/]/.test(path)) throw new Error(entry + ' resolved to ' + path + ', not dist/browser');
  if (entry === 'steadyrpc/ethers') continue;
  mods[entry] = await ${load}(entry);
  for (const name of names) if (mods[entry][name] === undefined) throw new Error(entry + ' lacks ' + name);
}
const error = await new mods['steadyrpc/testing'].FakeHttpTransport().post({ url: 'http://nowhere.test/' }, '{}', new AbortController().signal).catch((e) => e);
if (!(error instanceof mods.steadyrpc.SteadyRpcError)) throw new Error('the browser entries do not share SteadyRpcError');
let thrown;
try { new mods.steadyrpc.WsSocketTransport(); } catch (e) { thrown = e; }
if (thrown?.code !== 'ERR_CONFIG' || !/StandardWebSocketTransport/.test(thrown.message)) throw new Error('WsSocketTransport in the browser build: ' + thrown);
`;
const nodeSafe = Object.keys(expected).filter((entry) => entry !== 'steadyrpc/ethers');
const names = (system) => {
  const list = system === 'esm' ? `Object.keys(await import(entry))` : `Object.keys(require(entry))`;
  return `const out = {}; for (const entry of ${JSON.stringify(nodeSafe)}) out[entry] = ${list}.sort(); console.log(JSON.stringify(out));`;
};
// Only the package's own files are held to it: ethers, for one, imports ws itself under Node (its
// browser mapping is a bundler's `browser` field, which Node does not read).
const ownDist = pathToFileURL(join(dirname(require.resolve('steadyrpc/package.json')), 'dist')).href;
const refuseWs = `export async function resolve(specifier, context, next) {
  if (/^ws(\\/|$)/.test(specifier) && context.parentURL?.startsWith(${JSON.stringify(ownDist)})) throw new Error('loaded ' + specifier + ' from ' + context.parentURL);
  return next(specifier, context);
}`;
const registerWs = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(refuseWs)}`)});`;
const esmNode = (conditions, code) =>
  node([...conditions, '--import', `data:text/javascript,${encodeURIComponent(registerWs)}`, '--input-type=module', '-e', code]);
esmNode(['--conditions=browser'], `${browserCheck('import', '((e) => import.meta.resolve(e))')}`);
assert.throws(() => esmNode([], `await import('steadyrpc');`), /loaded ws/, 'the hook catches an import of ws');
node(['--conditions=browser', '-e', `(async () => {${browserCheck('require', 'require.resolve')}
const own = Object.values(require.cache).filter((m) => m.filename.startsWith(${JSON.stringify(fileURLToPath(ownDist))}));
const loaded = own.flatMap((m) => m.children.filter((c) => /[\\\\/]node_modules[\\\\/]ws[\\\\/]/.test(c.filename)).map((c) => m.filename + ' loaded ' + c.filename));
if (own.length === 0 || loaded.length > 0) throw new Error(loaded.join(', ') || 'no module of the package in require.cache');
})().catch((e) => { console.error(e); process.exit(1); });`]);
for (const [system, flags] of [['esm', ['--input-type=module']], ['cjs', []]]) {
  const nodeNames = node([...flags, '-e', names(system)]);
  const browserNames = node(['--conditions=browser', ...flags, '-e', names(system)]);
  assert.deepEqual(JSON.parse(browserNames), JSON.parse(nodeNames), `${system}: the browser build exports what the Node build does`);
}
console.log('browser condition: every entry resolves to dist/browser; root, testing and viem load without ws, export what the Node build does and share their classes (esm and cjs)');

// After `npm run build`: every public entry loads under both module systems, and the entries
// share their classes (an error thrown by the test kit is a SteadyRpcError of the root entry).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const expected = {
  steadyrpc: ['NodePool', 'HealthChecker', 'UpstreamSession', 'SteadyRpcError', 'systemClock', 'WsSocketTransport'],
  'steadyrpc/testing': ['FakeClock', 'FakeHttpTransport', 'FakeNode', 'FakeSocketTransport'],
};

for (const [system, load] of [
  ['cjs', async (name) => require(name)],
  ['esm', async (name) => import(name)],
]) {
  const root = await load('steadyrpc');
  const testing = await load('steadyrpc/testing');
  for (const [entry, names] of Object.entries(expected)) {
    const mod = entry === 'steadyrpc' ? root : testing;
    for (const name of names) assert.ok(mod[name] !== undefined, `${system}: ${entry} exports ${name}`);
  }
  const error = await new testing.FakeHttpTransport()
    .post({ url: 'http://nowhere.test/' }, '{}', new AbortController().signal)
    .catch((e) => e);
  assert.ok(error instanceof root.SteadyRpcError, `${system}: entries share SteadyRpcError`);
  console.log(`${system}: ${Object.values(expected).flat().length} exports present, classes shared`);
}

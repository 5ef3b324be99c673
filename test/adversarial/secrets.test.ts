/**
 * Issue 13, point 2, as an operator sees it: the proxy run as its own process, with planted
 * credentials in its node URLs (a live node and a dead one, so errors are made), shows none of them
 * in anything it prints from start to drained exit, on its admin listener, or to its clients.
 * The library's surfaces (events, errors, snapshots, metrics) and the in-process proxy are covered
 * shape by shape in test/secrets.test.ts and test/integration/secrets.test.ts; this probe reuses
 * their planted secrets (test/helpers/secrets.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCODED_TAIL, PLANTED, SECRET_TAIL, USERINFO, leaksIn } from '../helpers/secrets.js';
import { freePort } from '../integration/helpers/anvil.js';
import { poll } from '../integration/helpers/wsClient.js';
import { spawnProxy } from './helpers/childProxy.js';
import { TextClient, postText } from './helpers/raw.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

describe('the proxy process shows no planted credential', { timeout: 60_000 }, () => {
  it('in its output from start to exit, on its admin listener, or to its clients', async () => {
    const live = new URL(stack.node('a').relay.httpUrl).host;
    const dead = `127.0.0.1:${await freePort()}`;
    const keyTail = `/v2/${PLANTED.pathKey}/${PLANTED.shortPathKey}?id=${PLANTED.queryValue}`;
    const proxy = await spawnProxy(
      [
        '--upstream', `dead=http://${USERINFO}${dead}${SECRET_TAIL},ws://${USERINFO}${dead}${keyTail}`,
        '--upstream', `live=http://${USERINFO}${live}${keyTail},ws://${USERINFO}${live}${ENCODED_TAIL}?id=${PLANTED.queryValue}`,
        '--status-urls',
        '--health-interval-ms', '200',
        '--drain-ms', '2000',
      ],
      { admin: true },
    );
    const seen: string[] = [];
    try {
      await poll('ready on the live node', async () => (await fetch(`${proxy.url}/readyz`)).ok, 15_000);
      const client = await TextClient.connect(proxy.wsUrl);
      seen.push(await client.ask('{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'));
      seen.push(await client.ask('{"jsonrpc":"2.0","id":2,"method":"no_such_method","params":[]}'));
      seen.push((await postText(proxy.url, '{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber","params":[]}')).text);
      for (const path of ['/status', '/metrics', '/readyz', '/livez']) seen.push(await (await fetch(`${proxy.adminUrl}${path}`)).text());
      proxy.kill('SIGTERM');
      const closed = await client.closed;
      seen.push(closed.reason);
      expect(await proxy.exited).toEqual({ code: 0, signal: null });
    } finally {
      await proxy.stop();
    }
    const output = proxy.output();
    expect(output).toContain('dead');
    expect(output).toContain('SIGTERM: draining');
    expect(seen.join('\n')).toContain('"dead"'); // /status names the node …
    expect({ leaks: leaksIn(output), output: output.slice(0, 2_000) }).toEqual({ leaks: [], output: expect.any(String) });
    expect(leaksIn(seen.join('\n'))).toEqual([]); // … and shows none of its secrets
  });
});

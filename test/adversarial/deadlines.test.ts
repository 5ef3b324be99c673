/**
 * Issue 13, point 5: half-open and slow-drip connections are closed at their deadline, and a
 * well-behaved client is served meanwhile. Raw TCP sockets against the real proxy over anvil.
 * The short run shrinks the deadlines through options; the long run (ADVERSARIAL_LONG=1) also
 * measures the defaults on Node's real sweep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_DEADLINE_DEFAULTS, parseCommandLine, worstCaseCloseMs, type ProxyDeadlines, type ProxyServer } from '../../examples/proxy-server.js';
import { COUNTS, LONG } from './helpers/settings.js';
import { TextClient, postText, rawConnect, statusLine, upgradeRequest, type RawConnection } from './helpers/raw.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

type Kind = 'silent' | 'drip-headers' | 'drip-upgrade' | 'partial-upgrade' | 'drip-body' | 'idle-keepalive' | 'silent-websocket';

/** Opens one misbehaving connection of `kind`. */
async function misbehave(proxy: ProxyServer, kind: Kind, dripMs: number): Promise<RawConnection> {
  const conn = await rawConnect(proxy.url);
  const upgrade = upgradeRequest(proxy.wsUrl);
  switch (kind) {
    case 'silent':
      break;
    case 'drip-headers':
      conn.drip(`GET /livez HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(10_000)}`, dripMs);
      break;
    case 'drip-upgrade':
      conn.drip(upgrade.slice(0, -2), dripMs);
      break;
    case 'partial-upgrade':
      conn.socket.write(upgrade.slice(0, -2));
      break;
    case 'drip-body':
      conn.socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
      conn.drip('['.repeat(100_000), dripMs);
      break;
    case 'idle-keepalive':
      conn.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
      break;
    case 'silent-websocket':
      // A completed upgrade, then nothing: never a pong to the proxy's pings.
      conn.socket.write(upgrade);
      break;
  }
  return conn;
}

/** When each kind must be closed, in ms after opening: [not before, not after]. */
function window(kind: Kind, d: ProxyDeadlines, pingMs: number, slackMs: number): [number, number] {
  const worst = worstCaseCloseMs(d);
  switch (kind) {
    case 'drip-body':
      return [d.requestTimeoutMs - 50, worst.body + slackMs];
    case 'idle-keepalive':
      return [d.keepAliveTimeoutMs - 50, worst.idle + slackMs];
    case 'silent-websocket':
      return [pingMs - 50, 2 * pingMs + slackMs];
    default:
      return [d.headersTimeoutMs - 50, worst.headers + slackMs];
  }
}

const KINDS: Kind[] = ['silent', 'drip-headers', 'drip-upgrade', 'partial-upgrade', 'drip-body', 'idle-keepalive', 'silent-websocket'];

/** Opens `perKind` connections of every kind, checks a good client meanwhile, and checks each close. */
async function probe(proxy: ProxyServer, deadlines: ProxyDeadlines, pingMs: number, perKind: number, dripMs: number, slackMs: number) {
  const opened = await Promise.all(KINDS.flatMap((kind) => Array.from({ length: perKind }, async () => ({ kind, conn: await misbehave(proxy, kind, dripMs) }))));
  // A well-behaved client is served while they hang on.
  const client = await TextClient.connect(proxy.wsUrl);
  expect(JSON.parse(await client.ask('{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'))).toMatchObject({ id: 1, result: '0x7a69' });
  expect(JSON.parse((await postText(proxy.url, '{"jsonrpc":"2.0","id":2,"method":"eth_chainId","params":[]}')).text)).toMatchObject({ id: 2, result: '0x7a69' });
  const results = await Promise.all(opened.map(async ({ kind, conn }) => ({ kind, ...(await conn.closed) })));
  client.close();
  const byKind = new Map<Kind, number[]>();
  for (const { kind, afterMs, received } of results) {
    byKind.set(kind, [...(byKind.get(kind) ?? []), afterMs]);
    const [earliest, latest] = window(kind, deadlines, pingMs, slackMs);
    expect(afterMs, `${kind} closed after ${afterMs} ms`).toBeGreaterThanOrEqual(earliest);
    expect(afterMs, `${kind} closed after ${afterMs} ms`).toBeLessThanOrEqual(latest);
    if (kind === 'idle-keepalive') expect(statusLine(received)).toBe('HTTP/1.1 200 OK');
    else if (kind === 'silent-websocket') expect(statusLine(received)).toBe('HTTP/1.1 101 Switching Protocols');
    else expect(statusLine(received)).toBe('HTTP/1.1 408 Request Timeout');
  }
  const summary = [...byKind].map(([kind, ms]) => `${kind}: ${Math.min(...ms)}–${Math.max(...ms)} ms`).join(', ');
  console.log(`closed (${results.length} connections): ${summary}`);
}

describe('slow and silent client connections are closed at their deadline', { timeout: 120_000 }, () => {
  it('with deadlines shrunk through options: every kind at once, a good client served meanwhile', async () => {
    const deadlines: ProxyDeadlines = { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 500, checkIntervalMs: 250 };
    const proxy = await stack.proxy({ deadlines, pingIntervalMs: 500 });
    await probe(proxy, deadlines, 500, Math.ceil(COUNTS.slowConnections / KINDS.length), 100, 1_000);
    await proxy.close();
  });

  it("an HTTP request whose answer is slow (the node takes its time) is not cut by these deadlines", { timeout: 30_000 }, async () => {
    const proxy = await stack.proxy({ deadlines: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_500, keepAliveTimeoutMs: 1_000, checkIntervalMs: 250 } });
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 4_000 });
    try {
      const answer = await postText(proxy.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] }));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ id: 1, result: expect.stringMatching(/^0x/) });
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      await proxy.close();
    }
  });

  it('the defaults close every kind within 60 s, Node’s sweep included', () => {
    const worst = worstCaseCloseMs(PROXY_DEADLINE_DEFAULTS);
    expect(worst).toEqual({ headers: 25_000, body: 35_000, idle: 6_000 });
    for (const ms of Object.values(worst)) expect(ms).toBeLessThanOrEqual(60_000);
    // A dead upgraded socket: two ping intervals (serveSocket's default 20 s).
    expect(2 * 20_000).toBeLessThanOrEqual(60_000);
  });

  it('the deadline flags reach the options', () => {
    const options = parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--headers-timeout-ms', '7000', '--http-request-timeout-ms', '9000', '--http-keepalive-timeout-ms', '3000', '--deadline-check-interval-ms', '1000']);
    expect(options).toMatchObject({ deadlines: { headersTimeoutMs: 7_000, requestTimeoutMs: 9_000, keepAliveTimeoutMs: 3_000, checkIntervalMs: 1_000 } });
  });

  // Up to 42 s of real time: in the long run only (the arithmetic above stands for it in the short one).
  if (LONG) {
    it('with the defaults, measured on Node’s own sweep', { timeout: 120_000 }, async () => {
      const proxy = await stack.proxy();
      await probe(proxy, PROXY_DEADLINE_DEFAULTS, 20_000, Math.ceil(COUNTS.slowConnections / KINDS.length), 2_000, 2_000);
      await proxy.close();
    });
  }

  it(`${COUNTS.halfOpenUpgrades} half-open upgrades are all closed at the headers deadline`, { timeout: 60_000 }, async () => {
    const deadlines: ProxyDeadlines = { headersTimeoutMs: 2_000, requestTimeoutMs: 3_000, keepAliveTimeoutMs: 1_000, checkIntervalMs: 500 };
    const proxy = await stack.proxy({ deadlines });
    const conns = await Promise.all(Array.from({ length: COUNTS.halfOpenUpgrades }, () => misbehave(proxy, 'partial-upgrade', 0)));
    const closed = await Promise.all(conns.map((c) => c.closed));
    const worst = Math.max(...closed.map((c) => c.afterMs));
    console.log(`${conns.length} half-open upgrades closed after ${Math.min(...closed.map((c) => c.afterMs))}–${worst} ms`);
    expect(worst).toBeLessThanOrEqual(worstCaseCloseMs(deadlines).headers + 2_000);
    await proxy.close();
  });
});

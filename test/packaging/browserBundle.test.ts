import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserVariants } from '../../scripts/browserVariants.mjs';

/**
 * What a web app gets: each public entry bundled from source for the browser, as the build's
 * `browser` condition makes it (each `X.ts` with an `X.browser.ts` swapped for it), then run in a
 * bare context holding only what browsers and web workers have. Node's globals are not there, so
 * anything reaching for them at load fails here, and the text is checked for them besides.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRIES = {
  steadyrpc: 'src/index.ts',
  'steadyrpc/viem': 'src/viem.ts',
  'steadyrpc/ethers': 'src/ethers.ts',
  'steadyrpc/testing': 'src/testing/index.ts',
} as const;
type Entry = keyof typeof ENTRIES;
const PEERS = ['viem', 'viem/*', 'ethers', 'ethers/*'];

interface Bundle {
  /** The bundle as an IIFE assigning the entry's exports to `entry`. */
  text: string;
  inputs: string[];
}

async function bundle(entry: Entry): Promise<Bundle> {
  const result = await build({
    entryPoints: [ENTRIES[entry]],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    conditions: ['browser'],
    target: 'es2022',
    format: 'iife',
    globalName: 'entry',
    external: PEERS,
    plugins: [browserVariants],
    // No comments (the checks below read the code only), identifiers kept (readable failures).
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent',
  });
  return { text: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

/** A WebSocket that records what it was asked to open and never connects. */
class RecordingWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static opened: string[] = [];
  readonly readyState = 0;
  readonly bufferedAmount = 0;
  binaryType = 'blob';
  onopen: unknown = null;
  onmessage: unknown = null;
  onclose: unknown = null;
  onerror: unknown = null;
  constructor(readonly url: string) {
    RecordingWebSocket.opened.push(url);
  }
  addEventListener(): void {}
  removeEventListener(): void {}
  send(): void {}
  close(): void {}
}

/**
 * The globals of a browser or web worker that steadyrpc may use, and no others: no `Buffer`,
 * `process`, `global`, `setImmediate`. `require` serves only viem and ethers, which the app has
 * (they are external to every bundle, as in the build).
 */
function browserGlobals(peers: Record<string, unknown>, fetchImpl: typeof fetch) {
  return {
    WebSocket: RecordingWebSocket,
    fetch: fetchImpl,
    TextEncoder,
    TextDecoder,
    btoa,
    atob,
    URL,
    URLSearchParams,
    AbortController,
    AbortSignal,
    Event,
    EventTarget,
    DOMException,
    Headers,
    Request,
    Response,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    structuredClone,
    crypto: globalThis.crypto,
    performance: globalThis.performance,
    navigator: { onLine: true, userAgent: 'test' },
    require: (name: string) => {
      if (!(name in peers)) throw new Error(`the bundle required ${name}, which is not a peer dependency`);
      return peers[name];
    },
  };
}

type Exports = Record<string, any>;

/** Runs the bundle in a fresh context with only browser globals; returns the entry's exports. */
function load(text: string, peers: Record<string, unknown>, fetchImpl: typeof fetch = async () => new Response('{}')): Exports {
  const context = vm.createContext(browserGlobals(peers, fetchImpl));
  vm.runInContext(text, context, { filename: 'bundle.js' });
  return (context as { entry: Exports }).entry;
}

const bundles = new Map<Entry, Bundle>();
let peers: Record<string, unknown>;

beforeAll(async () => {
  peers = { viem: await import('viem'), ethers: await import('ethers') };
  for (const entry of Object.keys(ENTRIES) as Entry[]) bundles.set(entry, await bundle(entry));
});

describe.each(Object.keys(ENTRIES) as Entry[])('the browser bundle of %s', (entry) => {
  it('holds no ws, no node: import and no Node global', () => {
    const { text, inputs } = bundles.get(entry)!;
    expect(inputs.filter((path) => /(^|\/)node_modules\/ws\//.test(path))).toEqual([]);
    expect(inputs.filter((path) => path.startsWith('node:'))).toEqual([]);
    // The Node-only modules are replaced by their browser variants, never bundled next to them.
    expect(inputs.filter((path) => /WsSocketTransport\.ts$|defaultSocketTransport\.ts$/.test(path))).toEqual([]);
    // eventemitter3 (ES5, CommonJS) is swapped for src/EventEmitter.browser.ts, the same class in a third of the bytes.
    expect(inputs.filter((path) => /(^|\/)node_modules\/eventemitter3\//.test(path))).toEqual([]);
    expect(text).not.toMatch(/\brequire\(["']node:|\bfrom\s*["']node:|\bimport\(["']node:/);
    // Node's globals appear only looked up on globalThis, where their absence is handled.
    for (const name of ['Buffer', 'process', 'setImmediate']) {
      expect(text).not.toMatch(new RegExp(`(?<![.\\w$])${name}(?![\\w$])`));
    }
  });

  it('loads in a context with only browser globals and exposes the same names as the Node entry', async () => {
    const exports = load(bundles.get(entry)!.text, peers);
    const nodeEntry = (await import(/* @vite-ignore */ `${ROOT}${ENTRIES[entry]}`)) as Exports;
    expect(Object.keys(exports).sort()).toEqual(Object.keys(nodeEntry).sort());
  });
});

describe('in the browser bundle of the root entry', () => {
  it('WsSocketTransport is exported, and constructing it fails at once with ERR_CONFIG naming the alternative', () => {
    const { WsSocketTransport, SteadyRpcError } = load(bundles.get('steadyrpc')!.text, peers);
    expect(typeof WsSocketTransport).toBe('function');
    let thrown: any;
    try {
      new WsSocketTransport();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SteadyRpcError);
    expect(thrown.code).toBe('ERR_CONFIG');
    expect(thrown.message).toMatch(/StandardWebSocketTransport/);
  });

  it('the default socket transport is StandardWebSocketTransport over the platform WebSocket, for sessions and health checks alike', () => {
    const { defaultSocketTransport, StandardWebSocketTransport, NodePool, HealthChecker, UpstreamSession } = load(bundles.get('steadyrpc')!.text, peers);
    const transport = defaultSocketTransport();
    expect(transport).toBeInstanceOf(StandardWebSocketTransport);
    RecordingWebSocket.opened = [];
    const socket = transport.open({ url: 'wss://node.test/ws' }, { onOpen() {}, onMessage() {}, onClose() {}, onError() {} });
    expect(RecordingWebSocket.opened).toEqual(['wss://node.test/ws']);
    socket.terminate();
    // Built with their defaults, neither reaches for ws (the Node build's default on Node).
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'wss://node.test/ws' }] });
    const checker = new HealthChecker(pool);
    const session = new UpstreamSession({ pool });
    session.close();
    checker.close();
    pool.close();
  });

  it('a session counts frame bytes without Buffer: a frame under the limit in UTF-16 units but over it in UTF-8 bytes is refused', () => {
    const { NodePool, UpstreamSession, RpcErrorCode } = load(bundles.get('steadyrpc')!.text, peers);
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'wss://node.test/ws' }] });
    const session = new UpstreamSession({ pool, maxFrameBytes: 80 });
    const answers: string[] = [];
    session.on('message', (text: string) => answers.push(text));
    const request = (pad: string) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'm', params: [pad] });
    const fits = request('é'.repeat(10));
    const tooLarge = request('€'.repeat(20));
    expect(new TextEncoder().encode(fits).length).toBeLessThanOrEqual(80);
    expect(tooLarge.length).toBeLessThanOrEqual(80);
    expect(new TextEncoder().encode(tooLarge).length).toBeGreaterThan(80);
    // The first waits for an upstream (none is up), the second is answered at once.
    session.send(fits);
    session.send(tooLarge);
    expect(answers.map((text) => JSON.parse(text).error?.code)).toEqual([RpcErrorCode.FRAME_TOO_LARGE]);
    session.close();
    pool.close();
  });

  it('FetchHttpTransport sends userinfo as Basic auth (UTF-8, base64) without Buffer', async () => {
    const seen: Array<{ url: string; authorization: string | undefined }> = [];
    const fetchImpl = (async (url: string, init: RequestInit) => {
      seen.push({ url, authorization: (init.headers as Record<string, string>).authorization });
      return new Response('{"jsonrpc":"2.0","id":1,"result":"0x1"}');
    }) as unknown as typeof fetch;
    const { FetchHttpTransport } = load(bundles.get('steadyrpc')!.text, peers, fetchImpl);
    await new FetchHttpTransport().post({ url: 'https://us%C3%A9r:p%40ss@node.test/rpc' }, '{}', new AbortController().signal);
    expect(seen).toEqual([{ url: 'https://node.test/rpc', authorization: `Basic ${Buffer.from('usér:p@ss').toString('base64')}` }]);
  });
});

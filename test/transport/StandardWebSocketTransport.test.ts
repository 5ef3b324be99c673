import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SocketCloseInfo, SocketEndpoint, SocketListener, UpstreamSocket } from '../../src/index.js';
import { StandardWebSocketTransport, isAuthOrPolicyClose, isSteadyRpcError } from '../../src/index.js';
import type { FakeWebSocketClass, FakeWebSocketOptions } from '../helpers/fakeWebSocket.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';

type Heard = { type: 'open' } | { type: 'message'; text: string } | { type: 'close'; info: SocketCloseInfo } | { type: 'error'; error: Error };

class Recorder implements SocketListener {
  readonly events: Heard[] = [];
  onOpen(): void {
    this.events.push({ type: 'open' });
  }
  onMessage(text: string): void {
    this.events.push({ type: 'message', text });
  }
  onClose(info: SocketCloseInfo): void {
    this.events.push({ type: 'close', info });
  }
  onError(error: Error): void {
    this.events.push({ type: 'error', error });
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
  texts(): string[] {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
  }
  close(): SocketCloseInfo | undefined {
    return this.events.flatMap((e) => (e.type === 'close' ? [e.info] : []))[0];
  }
  error(): Error | undefined {
    return this.events.flatMap((e) => (e.type === 'error' ? [e.error] : []))[0];
  }
}

/** Lets every queued microtask (and the Blob reads they start) run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function setup(options: FakeWebSocketOptions = {}, accept = true) {
  const WebSocket: FakeWebSocketClass = fakeWebSocketClass(options);
  if (accept) WebSocket.server.onConnect((socket) => socket.accept());
  const transport = new StandardWebSocketTransport({ WebSocket });
  const open = (endpoint: SocketEndpoint | string = 'ws://node.test/') => {
    const events = new Recorder();
    const before = WebSocket.instances.length;
    const socket: UpstreamSocket = transport.open(typeof endpoint === 'string' ? { url: endpoint } : endpoint, events);
    const ws = WebSocket.instances[before];
    return { socket, events, ws: () => ws!, server: () => ws!.socket };
  };
  return { WebSocket, transport, open };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('StandardWebSocketTransport options', () => {
  it('rejects options that are not an object, and a WebSocket that is not a class', () => {
    expect(() => new StandardWebSocketTransport(null as never)).toThrow(/Expected StandardWebSocketTransport options to be an object/);
    expect(() => new StandardWebSocketTransport({ WebSocket: 42 as never })).toThrow(/Expected a WebSocket class/);
  });

  it('defaults to the global WebSocket, and says what to do where there is none', () => {
    vi.stubGlobal('WebSocket', undefined);
    let error: unknown;
    try {
      new StandardWebSocketTransport();
    } catch (e) {
      error = e;
    }
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(/no global WebSocket, pass one as `WebSocket`/);
    const WebSocket = fakeWebSocketClass();
    vi.stubGlobal('WebSocket', WebSocket);
    new StandardWebSocketTransport().open({ url: 'ws://node.test/' }, new Recorder());
    expect(WebSocket.instances).toHaveLength(1);
  });
});

describe('StandardWebSocketTransport with a server that accepts', () => {
  it('opens, carries text both ways, and passes the subprotocols', async () => {
    const { open } = setup();
    const { socket, events, ws, server } = open({ url: 'ws://node.test/?key=k1', protocols: ['a', 'b'] });
    expect(ws().protocols).toEqual(['a', 'b']);
    expect(ws().url).toBe('ws://node.test/?key=k1');
    expect(events.types()).toEqual([]); // nothing inside open()
    await settle();
    expect(events.types()).toEqual(['open']);
    socket.send('{"up":1}');
    expect(server().sent).toEqual(['{"up":1}']);
    server().receive('{"down":1}');
    await settle();
    expect(events.texts()).toEqual(['{"down":1}']);
  });

  it('asks for binary frames as ArrayBuffers and hands them on as UTF-8 text', async () => {
    const { open } = setup({ frames: 'binary' });
    const { events, ws, server } = open();
    expect(ws().binaryType).toBe('arraybuffer');
    await settle();
    server().receive('{"x":"é😀"}');
    await settle();
    expect(events.texts()).toEqual(['{"x":"é😀"}']);
  });

  it('reads Blob frames (where binaryType cannot be set) and keeps the order of the frames and the close', async () => {
    const { open } = setup({ frames: 'binary', honoursBinaryType: false });
    const { events, ws, server } = open();
    await settle();
    expect(ws().binaryType).toBe('blob');
    server().receive('1');
    server().receive('2');
    server().serverClose(4000, 'bye');
    await settle();
    expect(events.types()).toEqual(['open', 'message', 'message', 'close']);
    expect(events.texts()).toEqual(['1', '2']);
    // A text frame arriving while a Blob is read waits behind it.
    const later = open();
    await settle();
    later.ws().emit('message', { data: new Blob(['first']) });
    later.ws().emit('message', { data: 'second' });
    await settle();
    expect(later.events.texts()).toEqual(['first', 'second']);
  });

  it('reports bufferedAmount from the socket', async () => {
    const { open } = setup();
    const { socket, ws } = open();
    await settle();
    ws().bufferedAmount = 1234;
    expect(socket.bufferedAmount).toBe(1234);
  });

  it('has no ping: the session keeps the socket honest with JSON-RPC keepalive calls', () => {
    const { open } = setup();
    expect(open().socket.ping).toBeUndefined();
  });

  it('send() on a socket that is not open throws ERR_TRANSPORT', async () => {
    const { open } = setup({}, false);
    const { socket, server } = open();
    expect(() => socket.send('x')).toThrow(/socket is not open/);
    await settle();
    server().accept();
    await settle();
    socket.send('x');
    socket.close();
    let error: unknown;
    try {
      socket.send('y');
    } catch (e) {
      error = e;
    }
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(server().sent).toEqual(['x']);
  });
});

describe('StandardWebSocketTransport binary frames', () => {
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it('Blob, text, ArrayBuffer and typed-array frames are delivered in arrival order, none overtaking another', async () => {
    const { open } = setup();
    const { events, ws } = open();
    await settle();
    const bytes = utf8('xx"4"yy');
    ws().emit('message', { data: new Blob(['"1"']) });
    ws().emit('message', { data: '"2"' });
    ws().emit('message', { data: utf8('"3"').buffer });
    ws().emit('message', { data: bytes.subarray(2, 5) }); // a view with an offset
    ws().emit('message', { data: new Blob(['"5"']) });
    ws().emit('message', { data: '"6"' });
    ws().emit('close', { code: 4000, reason: 'bye' });
    await settle();
    expect(events.texts()).toEqual(['"1"', '"2"', '"3"', '"4"', '"5"', '"6"']);
    expect(events.types().at(-1)).toBe('close');
    expect(events.close()).toEqual({ code: 4000, reason: 'bye' });
  });

  it('a Blob that cannot be read is reported, and the frames after it still come, in order', async () => {
    const { open } = setup();
    const { events, ws } = open();
    await settle();
    const broken = new Blob(['x']);
    (broken as unknown as { arrayBuffer: () => Promise<ArrayBuffer> }).arrayBuffer = () => Promise.reject(new Error('read failed'));
    ws().emit('message', { data: broken });
    ws().emit('message', { data: '"after"' });
    await settle();
    expect(events.types()).toEqual(['open', 'error', 'message']);
    expect(events.texts()).toEqual(['"after"']);
  });

  it('invalid UTF-8 in a binary frame is decoded with U+FFFD, as the ws transport (Buffer#toString) does', async () => {
    const { open } = setup();
    const { events, ws } = open();
    await settle();
    const bad = new Uint8Array([0x22, 0xff, 0xfe, 0x22]);
    ws().emit('message', { data: bad.buffer });
    await settle();
    expect(events.texts()).toEqual([Buffer.from(bad).toString()]);
  });

  it('an ArrayBuffer from another realm (iframe WebSocket, Firefox content script, jsdom) is decoded, not stringified', async () => {
    const { open } = setup();
    const { events, ws } = open();
    await settle();
    // An ArrayBuffer made in another JavaScript realm, holding the UTF-8 of '{"a":1}'.
    const foreign = vm.runInNewContext('const b = new ArrayBuffer(7); const v = new Uint8Array(b); [123,34,97,34,58,49,125].forEach((x, i) => (v[i] = x)); b') as ArrayBuffer;
    expect(foreign instanceof ArrayBuffer).toBe(false); // the premise: another realm's class
    ws().emit('message', { data: foreign });
    await settle();
    expect(events.texts()).toEqual(['{"a":1}']);
  });
});

describe('StandardWebSocketTransport close codes and reasons', () => {
  it.each([
    [1000, 1000],
    [1001, 1000],
    [1008, 1000],
    [1011, 1000],
    [1012, 1000],
    [1013, 1000],
    [3000, 3000],
    [4999, 4999],
  ])('close(%i) goes out as %i, with the reason', async (code, sent) => {
    const { open } = setup();
    const { socket, ws, events } = open();
    await settle();
    socket.close(code, 'r');
    expect(ws().closeCalls).toEqual([[sent, 'r']]);
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });

  it.each([999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5])('close(%s) is refused with ERR_CONFIG, as on the ws transport', async (code) => {
    const { open } = setup();
    const { socket, ws } = open();
    await settle();
    expect(() => socket.close(code)).toThrow(/Expected close code/);
    expect(ws().closeCalls).toEqual([]);
  });

  it.each([4401, 1008, 1003])('a server close %i arrives with its code and reason, and counts as auth or policy', async (code) => {
    const { open } = setup();
    const { events, server } = open();
    await settle();
    server().serverClose(code, 'go away');
    await settle();
    expect(events.close()).toEqual({ code, reason: 'go away' });
    expect(isAuthOrPolicyClose(events.close()!)).toBe(true);
  });

  it.each([1006, 1011, 1012, 1013])('a server close %i is not auth or policy (the session retries it)', async (code) => {
    const { open } = setup();
    const { events, server } = open();
    await settle();
    server().serverClose(code);
    await settle();
    expect(events.close()!.code).toBe(code);
    expect(isAuthOrPolicyClose(events.close()!)).toBe(false);
  });

  it('an upgrade refused with 401 is an error and a plain 1006: the standard API hides the status', async () => {
    const { open } = setup({}, false);
    const { events, server } = open();
    await settle();
    server().refuse(401);
    await settle();
    expect(events.types()).toEqual(['error', 'close']);
    expect(events.close()).toEqual({ code: 1006, reason: '' });
    expect(isAuthOrPolicyClose(events.close()!)).toBe(false);
  });

  it('close(code, reason) sends what the standard API allows: 1000 and 3000-4999 as they are, 1001-1014 as 1000', async () => {
    const { open } = setup();
    const a = open();
    const b = open();
    const c = open();
    await settle();
    a.socket.close(4000, 'mine');
    b.socket.close(1001, 'going away');
    c.socket.close();
    expect(a.ws().closeCalls).toEqual([[4000, 'mine']]);
    expect(b.ws().closeCalls).toEqual([[1000, 'going away']]);
    expect(c.ws().closeCalls).toEqual([[undefined, undefined]]);
    await settle();
    expect(a.events.close()).toEqual({ code: 4000, reason: 'mine' });
    expect(b.events.close()).toEqual({ code: 1000, reason: 'going away' });
    expect(a.events.types()).toEqual(['open', 'close']);
  });

  it('shortens a reason past 123 bytes on a whole character, and refuses a code no close frame may carry', async () => {
    const { open } = setup();
    const { socket, ws, events } = open();
    await settle();
    let error: unknown;
    try {
      socket.close(1005);
    } catch (e) {
      error = e;
    }
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect(ws().closeCalls).toEqual([]);
    socket.close(1000, 'é'.repeat(100));
    const sent = ws().closeCalls[0]![1]!;
    expect(new TextEncoder().encode(sent).length).toBe(122);
    expect(sent).toBe('é'.repeat(61));
    await settle();
    expect(events.close()!.code).toBe(1000);
  });

  it('close() while connecting gives exactly one onClose 1006 and no onError', async () => {
    const { open } = setup({}, false);
    const { socket, events } = open();
    socket.close();
    socket.close();
    await settle();
    expect(events.types()).toEqual(['close']);
    expect(events.close()!.code).toBe(1006);
  });
});

describe('StandardWebSocketTransport failures', () => {
  it('refuses an endpoint with headers at connect, with a clear error naming them and not their values', async () => {
    const { open, WebSocket } = setup();
    const { socket, events } = open({ url: 'ws://node.test/', headers: { authorization: 'Bearer s3cret' } });
    expect(WebSocket.instances).toHaveLength(0); // never connected without them
    expect(() => socket.send('x')).toThrow(/socket is not open/);
    await settle();
    expect(events.types()).toEqual(['error', 'close']);
    const error = events.error()!;
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect(error.message).toMatch(/cannot send headers \(authorization\)/);
    expect(error.message).not.toContain('s3cret');
    expect(events.close()).toEqual({ code: 1006, reason: '' });
  });

  it('an empty headers object is no headers', async () => {
    const { open } = setup();
    const { events } = open({ url: 'ws://node.test/', headers: {} });
    await settle();
    expect(events.types()).toEqual(['open']);
  });

  it('a URL the constructor rejects is reported through the listener after open() returns, without its secrets', async () => {
    const { open } = setup();
    const { socket, events } = open('http://user:secret@node.test/?apikey=abc');
    expect(events.types()).toEqual([]);
    expect(socket.bufferedAmount).toBe(0);
    socket.terminate(); // nothing to tear down: the failure still ends it once
    await settle();
    expect(events.types()).toEqual(['close']);
    const again = open('http://user:secret@node.test/?apikey=abc');
    await settle();
    expect(again.events.types()).toEqual(['error', 'close']);
    const error = again.events.error()!;
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(JSON.stringify([error.message, String((error as Error & { cause?: Error }).cause?.message)])).not.toMatch(/secret|abc/);
  });

  it("an error event's message is passed on as details, with the URL's secrets scrubbed", async () => {
    const { open } = setup();
    const { events, ws } = open('ws://node.test/?apikey=abc');
    await settle();
    ws().emit('error', { type: 'error', message: 'failed to connect to ws://node.test/?apikey=abc' });
    const error = events.error()!;
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(error.message).toMatch(/failed to connect/);
    expect(error.message).not.toContain('abc');
  });
});

describe('StandardWebSocketTransport odd event sequences', () => {
  it('an error event that no close follows is reported once, and the socket can still be closed and ends once', async () => {
    const { open } = setup({}, false);
    const { socket, events, ws } = open();
    await settle();
    ws().emit('error', { type: 'error' });
    await settle();
    expect(events.types()).toEqual(['error']);
    socket.close();
    await settle();
    expect(events.types()).toEqual(['error', 'close']);
    expect(events.close()!.code).toBe(1006);
  });

  it('a close before open ends it with the code given (1006 when none), no open after', async () => {
    const { open } = setup({}, false);
    const { events, ws } = open();
    await settle();
    ws().emit('error', { type: 'error' });
    ws().emit('close', { type: 'close' });
    ws().emit('open', { type: 'open' });
    await settle();
    expect(events.types()).toEqual(['error', 'close']);
    expect(events.close()).toEqual({ code: 1006, reason: '' });
  });

  it('a constructor SecurityError (ws:// from an https page) is an error then a close 1006, after open() returns', async () => {
    const Throwing = class {
      constructor() {
        throw Object.assign(new Error("Failed to construct 'WebSocket': An insecure WebSocket connection may not be initiated from a page loaded over HTTPS."), { name: 'SecurityError' });
      }
    };
    const transport = new StandardWebSocketTransport({ WebSocket: Throwing as never });
    const events = new Recorder();
    const socket = transport.open({ url: 'ws://node.test/?key=secret' }, events);
    expect(events.types()).toEqual([]);
    expect(() => socket.send('x')).toThrow(/not open/);
    await settle();
    expect(events.types()).toEqual(['error', 'close']);
    expect(isSteadyRpcError(events.error(), 'ERR_TRANSPORT')).toBe(true);
  });

  it('close(4000) while connecting: one close 1006, the error the platform fires on a failed connect is not news', async () => {
    const { open } = setup({}, false);
    const { socket, events, ws } = open();
    socket.close(4000, 'bye');
    ws().emit('error', { type: 'error' }); // what a browser fires when close() fails the connect
    await settle();
    expect(events.types()).toEqual(['close']);
    expect(events.close()!.code).toBe(1006);
  });

  it('send() while CLOSING (close frame received, close event not yet) throws ERR_TRANSPORT, where the platform would buffer it', async () => {
    const { open } = setup();
    const { socket, ws } = open();
    await settle();
    ws().readyState = 2;
    let error: unknown;
    try {
      socket.send('{"id":1}');
    } catch (e) {
      error = e;
    }
    // The UpstreamSocket contract (the ws transport does the same); the session fails the socket
    // and still counts its close (StandardWebSocketTransport.session.test.ts).
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
  });

  it('a Blob still being read when terminate() is called is not delivered; terminate then the real close gives one onClose', async () => {
    const { open } = setup();
    const { socket, events, ws } = open();
    await settle();
    ws().emit('message', { data: new Blob(['"pending"']) });
    socket.terminate();
    ws().emit('message', { data: '"stale"' });
    ws().emit('close', { code: 4401, reason: 'late' });
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
    expect(events.close()).toEqual({ code: 1006, reason: '' });
  });
});

describe('StandardWebSocketTransport: nothing after the end', () => {
  it('terminate() reports onClose 1006 in a microtask, stops listening at once and starts the close', async () => {
    const { open } = setup();
    const { socket, events, ws, server } = open();
    await settle();
    socket.terminate();
    expect(ws().listenerCount).toBe(0);
    expect(ws().closeCalls).toHaveLength(1);
    expect(events.types()).toEqual(['open']);
    await Promise.resolve();
    expect(events.types()).toEqual(['open', 'close']);
    expect(events.close()).toEqual({ code: 1006, reason: '' });
    server().receive('late');
    socket.terminate();
    socket.close();
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('a terminated socket whose peer never answers the close still ends, once', async () => {
    const WebSocket = fakeWebSocketClass({ server: undefined });
    WebSocket.server.onConnect((socket) => socket.accept());
    const transport = new StandardWebSocketTransport({ WebSocket });
    const events = new Recorder();
    const socket = transport.open({ url: 'ws://node.test/' }, events);
    await settle();
    WebSocket.instances[0]!.close = () => {}; // a dead peer: no close event ever comes
    socket.terminate();
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('events the socket fires after its close reach nobody, and it holds no listener', async () => {
    const { open } = setup();
    const { events, ws, server } = open();
    await settle();
    server().serverClose(1000);
    await settle();
    expect(ws().listenerCount).toBe(0);
    for (const type of ['open', 'message', 'error', 'close']) ws().emit(type, { type, data: 'stale', code: 1000, reason: '' });
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('errors after close() or terminate() are ours, not news', async () => {
    const { open } = setup();
    const { socket, events, ws } = open();
    await settle();
    socket.close();
    ws().emit('error', { type: 'error' });
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });
});

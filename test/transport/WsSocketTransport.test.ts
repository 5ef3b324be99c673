import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket as ServerSocket } from 'ws';
import { isSteadyRpcError } from '../../src/errors.js';
import type { SocketCloseInfo, SocketListener, UpstreamSocket } from '../../src/transport/SocketTransport.js';
import { WsSocketTransport } from '../../src/transport/WsSocketTransport.js';
import { closedPort } from '../helpers/localServers.js';

type Event =
  | { type: 'open' }
  | { type: 'message'; text: string; bytes?: Uint8Array }
  | { type: 'close'; info: SocketCloseInfo }
  | { type: 'error'; error: Error }
  | { type: 'pong' };

/** A listener that records every callback in order and lets a test await the next one of a kind. */
class Recorder implements SocketListener {
  readonly events: Event[] = [];
  #waiters: { type: Event['type']; seen: number; resolve: (event: Event) => void }[] = [];

  onOpen(): void {
    this.#push({ type: 'open' });
  }
  onMessage(text: string, bytes?: Uint8Array): void {
    this.#push({ type: 'message', text, bytes });
  }
  onClose(info: SocketCloseInfo): void {
    this.#push({ type: 'close', info });
  }
  onError(error: Error): void {
    this.#push({ type: 'error', error });
  }
  onPong(): void {
    this.#push({ type: 'pong' });
  }

  types(): Event['type'][] {
    return this.events.map((e) => e.type);
  }

  /** The `n`-th event (1-based) of a type, now or when it arrives. */
  next<T extends Event['type']>(type: T, n = 1): Promise<Extract<Event, { type: T }>> {
    const found = this.events.filter((e) => e.type === type)[n - 1];
    if (found) return Promise.resolve(found as Extract<Event, { type: T }>);
    return new Promise((resolve) => {
      this.#waiters.push({ type, seen: n, resolve: resolve as (event: Event) => void });
    });
  }

  #push(event: Event): void {
    this.events.push(event);
    const count = this.events.filter((e) => e.type === event.type).length;
    this.#waiters = this.#waiters.filter((w) => {
      if (w.type !== event.type || w.seen !== count) return true;
      w.resolve(event);
      return false;
    });
  }
}

/** Lets pending I/O callbacks and ticks run (several event-loop turns), without a timer. */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface EchoServer {
  url: string;
  wss: WebSocketServer;
  /** The next server-side connection and its upgrade request. */
  nextConnection(): Promise<[ServerSocket, http.IncomingMessage]>;
}

async function startWsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<EchoServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await once(wss, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    wss,
    nextConnection: () => once(wss, 'connection') as Promise<[ServerSocket, http.IncomingMessage]>,
  };
}

/**
 * An HTTP server that answers every upgrade with `status` and keeps the connection open, so only
 * the client can tear it down; `socketClosed` resolves when the client has hung up.
 */
async function startRefusingServer(status: number): Promise<{ url: string; socketClosed: Promise<void> }> {
  const server = http.createServer();
  let onSocketClosed!: () => void;
  const socketClosed = new Promise<void>((resolve) => (onSocketClosed = resolve));
  server.on('upgrade', (_req, socket: Socket) => {
    // The client hanging up is seen as 'end' (http servers allow half-open sockets), once the
    // socket is read to EOF.
    socket.on('end', () => {
      socket.destroy();
      onSocketClosed();
    });
    socket.on('error', () => {});
    socket.resume();
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: 4\r\n\r\nnope`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/`, socketClosed };
}


function openSocket(url: string, transport = new WsSocketTransport()): { socket: UpstreamSocket; events: Recorder } {
  const events = new Recorder();
  const socket = transport.open({ url }, events);
  cleanups.push(() => socket.terminate());
  return { socket, events };
}

describe('WsSocketTransport options', () => {
  it('rejects a maxPayload that is not a positive integer, naming the option', () => {
    for (const maxPayload of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new WsSocketTransport({ maxPayload })).toThrow(/Expected maxPayload to be an integer >= 1/);
    }
  });

  it('rejects a perMessageDeflate that is not a boolean', () => {
    expect(() => new WsSocketTransport({ perMessageDeflate: 'yes' as unknown as boolean })).toThrow(
      /Expected perMessageDeflate to be a boolean, got yes/,
    );
  });

  it('throws config errors as SteadyRpcError ERR_CONFIG', () => {
    try {
      new WsSocketTransport({ maxPayload: 0 });
      expect.unreachable();
    } catch (error) {
      expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    }
  });
});

describe('WsSocketTransport with a server that accepts', () => {
  it('opens, and carries text both ways', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { socket, events } = openSocket(server.url);
    await events.next('open');
    const [serverSocket] = await connection;
    serverSocket.on('message', (data) => serverSocket.send(`echo:${String(data)}`));

    socket.send('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}');
    socket.send('second');
    expect((await events.next('message', 1)).text).toBe('echo:{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}');
    expect((await events.next('message', 2)).text).toBe('echo:second');
    expect(events.types()).toEqual(['open', 'message', 'message']);
  });

  it('hands binary frames on as utf8 text', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    serverSocket.send(Buffer.from('{"ok":"é"}', 'utf8'), { binary: true });
    expect((await events.next('message')).text).toBe('{"ok":"é"}');
  });

  it('passes headers and subprotocols to the server', async () => {
    const server = await startWsServer({ handleProtocols: (protocols) => [...protocols].at(-1) ?? false });
    const connection = server.nextConnection();
    const events = new Recorder();
    const socket = new WsSocketTransport().open(
      { url: server.url, headers: { 'x-api-key': 'k-123', authorization: 'Bearer t' }, protocols: ['a', 'b'] },
      events,
    );
    cleanups.push(() => socket.terminate());
    const [serverSocket, request] = await connection;
    await events.next('open');
    expect(request.headers['x-api-key']).toBe('k-123');
    expect(request.headers.authorization).toBe('Bearer t');
    expect(request.headers['sec-websocket-protocol']).toBe('a,b');
    expect(serverSocket.protocol).toBe('b');
  });

  it('delivers the server close code and reason (4401) to onClose', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    serverSocket.close(4401, 'token expired');
    const { info } = await events.next('close');
    expect(info).toEqual({ code: 4401, reason: 'token expired' });
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('answers ping with onPong', async () => {
    const server = await startWsServer();
    const { socket, events } = openSocket(server.url);
    await events.next('open');
    socket.ping?.();
    await events.next('pong');
    expect(events.types()).toEqual(['open', 'pong']);
  });

  it('close(code, reason) runs the closing handshake and reports one onClose', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { socket, events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    const serverClosed = once(serverSocket, 'close');
    socket.close(1000, 'bye');
    socket.close(1000, 'again');
    const [code, reason] = (await serverClosed) as [number, Buffer];
    expect([code, String(reason)]).toEqual([1000, 'bye']);
    expect((await events.next('close')).info).toEqual({ code: 1000, reason: 'bye' });
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('terminate() ends the socket at once with 1006', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { socket, events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    const serverClosed = once(serverSocket, 'close');
    socket.terminate();
    expect((await events.next('close')).info.code).toBe(1006);
    await serverClosed;
    socket.terminate();
    socket.close();
    await settle();
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('send() on a socket that is not open throws ERR_TRANSPORT, and the socket stays usable', async () => {
    const server = await startWsServer();
    const { socket, events } = openSocket(server.url);
    expect(() => socket.send('too early')).toThrow(/socket is not open/);
    try {
      socket.send('too early');
    } catch (error) {
      expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    }
    await events.next('open');
    socket.send('now');
  });

  it('ping() before open does nothing', async () => {
    const server = await startWsServer();
    const { socket, events } = openSocket(server.url);
    socket.ping?.();
    await events.next('open');
    expect(events.types()).toEqual(['open']);
  });

  it('rejects a close code that may not be sent, without closing', async () => {
    const server = await startWsServer();
    const { socket, events } = openSocket(server.url);
    await events.next('open');
    expect(() => socket.close(1006)).toThrow(/Expected close code/);
    socket.send('still open');
    socket.close(4000, 'x'.repeat(200));
    expect((await events.next('close')).info).toEqual({ code: 4000, reason: 'x'.repeat(123) });
  });

  it('hands an ASCII text message on with the bytes it came as (the frame check reads those)', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    const text = '{"jsonrpc":"2.0","id":7,"result":"0x1b4"}';
    serverSocket.send(text);
    const message = await events.next('message');
    expect(message.text).toBe(text);
    expect(Buffer.from(message.bytes!).toString('utf8')).toBe(text);
  });

  it('hands text beyond ASCII on as UTF-8', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    const text = '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"é ✓ 𝄞 — ünïcödé"}}';
    serverSocket.send(text);
    serverSocket.send('{"after":"ascii"}');
    expect((await events.next('message', 1)).text).toBe(text);
    expect((await events.next('message', 2)).text).toBe('{"after":"ascii"}');
  });

  // RFC 6455 8.1: an endpoint that receives a text frame that is not UTF-8 fails the connection
  // (1007). The transport checks it itself (ws is told not to), as ws would.
  it('a text message that is not UTF-8 fails the socket: onError, then onClose 1007, and nothing of it or after it is handed on', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    const closed = once(serverSocket, 'close');
    serverSocket.send('{"first":1}');
    // A lone continuation byte, and an overlong encoding of '/': neither is UTF-8.
    serverSocket.send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0xc0, 0xaf, 0x22, 0x7d]), { binary: false });
    serverSocket.send('{"after":1}');
    const { info } = await events.next('close');
    expect(info.code).toBe(1007);
    expect(events.types()).toEqual(['open', 'message', 'error', 'close']);
    expect((await events.next('message')).text).toBe('{"first":1}');
    expect((await events.next('error')).error.message).toMatch(/^WebSocket error [^]*invalid UTF-8 sequence/);
    const [serverCode, serverReason] = (await closed) as [number, Buffer];
    expect(serverCode).toBe(1007);
    expect(String(serverReason)).toBe('invalid UTF-8 sequence');
  });

  it('a binary message that is not UTF-8 is handed on with U+FFFD for what does not decode', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url);
    const [serverSocket] = await connection;
    await events.next('open');
    serverSocket.send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), { binary: true });
    expect((await events.next('message')).text).toBe('{"a":"\uFFFD"}');
    expect(events.types()).toEqual(['open', 'message']);
  });

  // ws sends 1009 to the server but stops reading, so it never gets the echo: locally it is 1006.
  it('a message larger than maxPayload fails the socket: onError saying so, then onClose', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { events } = openSocket(server.url, new WsSocketTransport({ maxPayload: 1024 }));
    const [serverSocket] = await connection;
    await events.next('open');
    serverSocket.send('x'.repeat(2048));
    const { info } = await events.next('close');
    // Says why, so a session gives up on a call whose answer keeps doing it.
    expect(info).toEqual({ code: 1006, reason: '', messageTooBig: true });
    expect(events.types()).toEqual(['open', 'error', 'close']);
    expect((await events.next('error')).error.message).toMatch(/Max payload size exceeded/);
  });

  // Before, onClose waited for the connection to close: a send in between found the socket closing
  // and the session failed it as closed, not knowing an answer too big did it (chaos, seed 20261301).
  it('tells the close of a message past maxPayload at once, though the node never ends the connection', async () => {
    const server = await startWsServer();
    const connection = server.nextConnection();
    const { socket, events } = openSocket(server.url, new WsSocketTransport({ maxPayload: 1024 }));
    const [serverSocket] = await connection;
    await events.next('open');
    serverSocket.send('x'.repeat(2048));
    // The node reads nothing more: the 1009 and the end of the connection stay unread.
    (serverSocket as unknown as { _socket: Socket })._socket.pause();
    const { info } = await events.next('close');
    expect(info).toEqual({ code: 1006, reason: '', messageTooBig: true });
    expect(events.types()).toEqual(['open', 'error', 'close']);
    expect(() => socket.send('{}')).toThrow(/not open/);
    await settle();
    expect(events.types()).toEqual(['open', 'error', 'close']);
  });
});

describe('WsSocketTransport when the upgrade is refused', () => {
  it.each([401, 403])('reports HTTP %i as onClose with httpStatus, tears the connection down, and nothing else', async (status) => {
    const server = await startRefusingServer(status);
    const { events } = openSocket(server.url);
    const { info } = await events.next('close');
    expect(info).toEqual({ code: 1006, reason: `HTTP ${status}`, httpStatus: status });
    await server.socketClosed;
    await settle();
    expect(events.types()).toEqual(['close']);
  });

  it('reports a ws server that rejects in verifyClient with 401', async () => {
    const server = await startWsServer({ verifyClient: (_info, done) => done(false, 401, 'Unauthorized') });
    const { socket, events } = openSocket(server.url);
    expect((await events.next('close')).info.httpStatus).toBe(401);
    socket.close();
    socket.terminate();
    await settle();
    expect(events.types()).toEqual(['close']);
  });
});

describe('WsSocketTransport when the connection fails', () => {
  it('connection refused: onError, then exactly one onClose 1006', async () => {
    const port = await closedPort();
    const { events } = openSocket(`ws://127.0.0.1:${port}/`);
    const { info } = await events.next('close');
    expect(info.code).toBe(1006);
    await settle();
    expect(events.types()).toEqual(['error', 'close']);
    const { error } = await events.next('error');
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('never puts the credentials of the URL in the error message', async () => {
    const port = await closedPort();
    const { events } = openSocket(`ws://user:secret@127.0.0.1:${port}/?apikey=abc`);
    const { error } = await events.next('error');
    await events.next('close');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).not.toContain('user:secret');
    expect(error.message).not.toContain('secret');
    expect(error.message).not.toContain('abc');
  });

  it('a URL ws rejects at once is reported through the listener, after open() returns', async () => {
    const events = new Recorder();
    const socket = new WsSocketTransport().open({ url: 'ws://user:secret@[::1/?apikey=abc' }, events);
    expect(events.types()).toEqual([]);
    expect(() => socket.send('x')).toThrow(/socket is not open/);
    expect(socket.bufferedAmount).toBe(0);
    const { info } = await events.next('close');
    expect(info.code).toBe(1006);
    expect(events.types()).toEqual(['error', 'close']);
    const { error } = await events.next('error');
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(error.message).not.toContain('secret');
    expect(error.message).not.toContain('abc');
  });

  it('a non-ws URL scheme is reported the same way', async () => {
    const { events } = openSocket('ftp://127.0.0.1/');
    await events.next('close');
    expect(events.types()).toEqual(['error', 'close']);
  });

  it('close() before a failed construction is reported gives one onClose and no onError', async () => {
    const events = new Recorder();
    const socket = new WsSocketTransport().open({ url: 'not a url' }, events);
    socket.close();
    await events.next('close');
    await settle();
    expect(events.types()).toEqual(['close']);
  });
});

describe('WsSocketTransport closed while connecting', () => {
  it('close() while connecting gives exactly one onClose, no onError and no uncaught error', async () => {
    const server = await startWsServer();
    const { socket, events } = openSocket(server.url);
    socket.close(1000, 'never mind');
    socket.close();
    expect((await events.next('close')).info.code).toBe(1006);
    await settle();
    expect(events.types()).toEqual(['close']);
  });

  it('terminate() while connecting gives exactly one onClose', async () => {
    const server = await startWsServer();
    const { socket, events } = openSocket(server.url);
    socket.terminate();
    socket.terminate();
    await events.next('close');
    await settle();
    expect(events.types()).toEqual(['close']);
  });

  it('close() while connecting to a refused port gives one onClose and no onError', async () => {
    const port = await closedPort();
    const { socket, events } = openSocket(`ws://127.0.0.1:${port}/`);
    socket.close();
    await events.next('close');
    await settle();
    expect(events.types()).toEqual(['close']);
  });
});

/** Resolves after the ticks queued so far have run: the end of the current turn, for the transport. */
const endOfTurn = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

/** Opens a socket to a fresh server; resolves once both ends are open, with what the server receives. */
async function openPair(transport?: WsSocketTransport) {
  const server = await startWsServer();
  const connection = server.nextConnection();
  const { socket, events } = openSocket(server.url, transport);
  const [serverSocket] = await connection;
  await events.next('open');
  const received: string[] = [];
  serverSocket.on('message', (data) => received.push(String(data)));
  const serverClosed = once(serverSocket, 'close') as Promise<[number, Buffer]>;
  return { socket, events, serverSocket, received, serverClosed };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await settle(1);
}

const frames = (count: number, tag = '') =>
  Array.from({ length: count }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"eth_blockNumber${tag}"}`);

describe('WsSocketTransport coalescing the frames of one turn (coalesceWrites)', () => {
  it('rejects a coalesceWrites that is not a boolean', () => {
    expect(() => new WsSocketTransport({ coalesceWrites: 1 as unknown as boolean })).toThrow(
      /Expected coalesceWrites to be a boolean, got 1/,
    );
  });

  it.each([true, false])('with coalesceWrites %s, many frames sent in one turn all arrive, in order', async (coalesceWrites) => {
    const { socket, received } = await openPair(new WsSocketTransport({ coalesceWrites }));
    const sent = frames(2_000);
    for (const frame of sent) socket.send(frame);
    await until(() => received.length === sent.length);
    expect(received).toEqual(sent);
  });

  it('rejects a maxFramesPerWrite that is not an integer >= 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '16' as unknown as number]) {
      expect(() => new WsSocketTransport({ maxFramesPerWrite: bad })).toThrow(/Expected maxFramesPerWrite to be an integer >= 1/);
    }
  });

  it('holds the frames of a turn until it ends, counting them in bufferedAmount, then writes them', async () => {
    const { socket, received } = await openPair();
    const sent = frames(15);
    for (const frame of sent) socket.send(frame);
    const payloadBytes = sent.reduce((sum, frame) => sum + Buffer.byteLength(frame), 0);
    expect(socket.bufferedAmount).toBeGreaterThanOrEqual(payloadBytes);
    await endOfTurn();
    await until(() => received.length === sent.length);
    expect(received).toEqual(sent);
    await until(() => socket.bufferedAmount === 0);
  });

  it('writes a long turn in groups of maxFramesPerWrite as it goes, holding only the last partial group', async () => {
    const { socket, received } = await openPair(new WsSocketTransport({ maxFramesPerWrite: 16 }));
    const sent = frames(40);
    for (const frame of sent) socket.send(frame);
    // Two groups of 16 went out at once (a loopback socket with room takes them synchronously).
    const heldBytes = sent.slice(32).reduce((sum, frame) => sum + Buffer.byteLength(frame), 0);
    const header = 6; // a masked client frame under 126 bytes: 2 bytes of header, 4 of mask
    expect(socket.bufferedAmount).toBe(heldBytes + 8 * header);
    await endOfTurn();
    await until(() => received.length === sent.length);
    expect(received).toEqual(sent);
    await until(() => socket.bufferedAmount === 0);
  });

  it('holds a whole turn when maxFramesPerWrite allows it', async () => {
    const { socket } = await openPair(new WsSocketTransport({ maxFramesPerWrite: 1_000 }));
    const sent = frames(40);
    for (const frame of sent) socket.send(frame);
    const payloadBytes = sent.reduce((sum, frame) => sum + Buffer.byteLength(frame), 0);
    expect(socket.bufferedAmount).toBe(payloadBytes + 40 * 6);
    await endOfTurn();
    await until(() => socket.bufferedAmount === 0);
  });

  it('keeps the order across turns: each turn is corked and flushed on its own', async () => {
    const { socket, received } = await openPair();
    const first = frames(100, '-first');
    const second = frames(100, '-second');
    for (const frame of first) socket.send(frame);
    await endOfTurn();
    for (const frame of second) socket.send(frame);
    socket.ping?.();
    await until(() => received.length === 200);
    expect(received).toEqual([...first, ...second]);
  });

  it('close() right after sends in the same turn delivers the frames, then the close frame', async () => {
    const { socket, events, received, serverClosed } = await openPair();
    const sent = frames(100);
    for (const frame of sent) socket.send(frame);
    socket.close(1000, 'bye');
    const [code, reason] = await serverClosed;
    expect(received).toEqual(sent);
    expect([code, String(reason)]).toEqual([1000, 'bye']);
    expect((await events.next('close')).info).toEqual({ code: 1000, reason: 'bye' });
  });

  it('terminate() right after sends in the same turn drops the frames still held: it aborts, like any write still buffered', async () => {
    const { socket, events, received, serverClosed } = await openPair(new WsSocketTransport({ maxFramesPerWrite: 16 }));
    const sent = frames(100);
    for (const frame of sent) socket.send(frame);
    socket.terminate();
    expect((await events.next('close')).info.code).toBe(1006);
    const [code] = await serverClosed;
    expect(code).toBe(1006);
    await settle();
    // Six full groups were written as the turn went; the last four frames were still held.
    expect(received).toEqual(sent.slice(0, 96));
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('with coalesceWrites false, each frame is written when it is sent', async () => {
    const { socket, received } = await openPair(new WsSocketTransport({ coalesceWrites: false }));
    const sent = frames(10);
    for (const frame of sent) socket.send(frame);
    // Written at once (a loopback socket with room takes small writes synchronously): nothing held.
    expect(socket.bufferedAmount).toBe(0);
    await until(() => received.length === sent.length);
    expect(received).toEqual(sent);
  });
});

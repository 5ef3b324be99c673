import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedSocketTransport } from '../../src/index.js';
import type { SocketCloseInfo, SocketListener } from '../../src/transport/SocketTransport.js';
import { WsSocketTransport } from '../../src/transport/WsSocketTransport.js';
import { FakeClock, FakeSocketTransport } from '../../src/testing/index.js';
import { settle, user } from '../helpers/sharedUser.js';

// Socket transport defaults that docs/reference.md and the JSDoc of the transports' options state,
// each used without passing the option and checked at its boundary.

const request = (id: unknown, method: string, params: unknown[] = []) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

describe('SharedSocketTransport defaults', () => {
  /** A shared transport with the default settings over fake sockets; the test plays the node on `server()`. */
  function setup() {
    const clock = new FakeClock();
    const fake = new FakeSocketTransport();
    const shared = new SharedSocketTransport({ transport: fake, clock, random: () => 0.5 });
    return { clock, fake, shared, endpoint: { url: 'ws://a.test/' }, server: () => fake.last()! };
  }

  it('retryAfterMs is 250 ms: after a failed connect, opens fail at once until 250 ms have passed, not 1 ms less', async () => {
    const { clock, fake, shared, endpoint, server } = setup();
    shared.open(endpoint, user().listener);
    await settle();
    server().refuse(503);
    await clock.advance(250 - 1);
    const early = user();
    shared.open(endpoint, early.listener);
    await settle();
    expect(fake.sockets).toHaveLength(1);
    expect(early.events).toEqual([{ type: 'close', info: expect.objectContaining({ httpStatus: 503 }) }]);

    await clock.advance(1);
    const retry = user();
    shared.open(endpoint, retry.listener);
    expect(fake.sockets).toHaveLength(2);
    await settle();
    server().accept();
    expect(retry.types()).toEqual(['open']);
  });

  it('livenessWindowMs is 1 000 ms: eth_chainId is answered from the last answer for 999 ms of silence, and asked of the node at 1 000 ms', async () => {
    const { clock, shared, endpoint, server } = setup();
    const a = user();
    const socket = shared.open(endpoint, a.listener);
    await settle();
    server().accept();
    const chainIdsSent = () => (server().sentJson() as Array<{ method: string }>).filter((m) => m.method === 'eth_chainId').length;
    const answerLast = () => server().receive(`{"jsonrpc":"2.0","id":${(server().sentJson().at(-1) as { id: number }).id},"result":"0x7a69"}`);

    socket.send(request(1, 'eth_chainId'));
    expect(chainIdsSent()).toBe(1);
    answerLast(); // the last frame from the node
    await clock.advance(1_000 - 1);
    socket.send(request(2, 'eth_chainId'));
    expect(chainIdsSent()).toBe(1); // answered from the socket's traffic
    await settle();
    expect(a.messages()).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x7a69' },
      { jsonrpc: '2.0', id: 2, result: '0x7a69' },
    ]);

    await clock.advance(1);
    socket.send(request(3, 'eth_chainId'));
    expect(chainIdsSent()).toBe(2); // silent for a whole window: the node is asked
  });
});

describe('WsSocketTransport defaults (a real socket to a server on port 0)', () => {
  type Event = { type: 'open' } | { type: 'message'; text: string } | { type: 'close'; info: SocketCloseInfo } | { type: 'error'; error: Error };

  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * A WebSocket server written by hand: it accepts the upgrade (no extension), then writes the
   * header of one unmasked text frame announcing `payloadLength` bytes, and ends the connection.
   * ws checks maxPayload on the header, so no payload needs to be sent.
   */
  async function announcingServer(payloadLength: number) {
    const server = http.createServer();
    const upgrades: http.IncomingMessage[] = [];
    const sockets = new Set<Socket>();
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
      upgrades.push(req);
      sockets.add(socket);
      socket.on('error', () => {});
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      const header = Buffer.alloc(10);
      header[0] = 0x81; // FIN, text
      header[1] = 127; // a 64-bit length follows
      header.writeBigUInt64BE(BigInt(payloadLength), 2);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.end(header);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          // Upgraded sockets are the server's no more: a client still closing would hold close() up.
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    );
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, upgrades };
  }

  /** Opens a socket with the default settings and resolves with what its listener heard, once it closed. */
  function openUntilClosed(url: string): Promise<Event[]> {
    const events: Event[] = [];
    return new Promise((resolve) => {
      const listener: SocketListener = {
        onOpen: () => events.push({ type: 'open' }),
        onMessage: (text) => events.push({ type: 'message', text }),
        onError: (error) => events.push({ type: 'error', error }),
        onClose: (info) => {
          events.push({ type: 'close', info });
          resolve(events);
        },
      };
      const socket = new WsSocketTransport().open({ url }, listener);
      cleanups.push(() => socket.terminate());
    });
  }

  const MiB = 1024 * 1024;

  it('maxPayload is 64 MiB: a message announced at exactly 64 MiB is accepted (no error; the connection just ends)', async () => {
    const server = await announcingServer(64 * MiB);
    const events = await openUntilClosed(server.url);
    expect(events).toEqual([{ type: 'open' }, { type: 'close', info: expect.objectContaining({ code: 1006 }) }]);
  });

  it('maxPayload is 64 MiB: a message announced at 64 MiB + 1 byte fails the socket', async () => {
    const server = await announcingServer(64 * MiB + 1);
    const events = await openUntilClosed(server.url);
    expect(events.map((e) => e.type)).toEqual(['open', 'error', 'close']);
    expect((events[1] as { error: Error }).error.message).toMatch(/Max payload size exceeded/);
  });

  it('perMessageDeflate is false: the upgrade request offers no compression', async () => {
    const server = await announcingServer(0);
    await openUntilClosed(server.url);
    expect(server.upgrades).toHaveLength(1);
    expect(server.upgrades[0]!.headers['sec-websocket-extensions']).toBeUndefined();
  });
});

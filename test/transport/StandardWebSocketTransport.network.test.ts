import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { WebSocket as ServerSocket } from 'ws';
import type { SocketCloseInfo, SocketListener } from '../../src/index.js';
import { StandardWebSocketTransport, isSteadyRpcError } from '../../src/index.js';

/**
 * The transport over real sockets. Node 20 has no global WebSocket, so the `ws` package's client
 * class stands in for it through its standard (EventTarget-style) API; the browser, Bun and Node 22
 * runs use the platforms' own.
 */
type Heard = { type: 'open' } | { type: 'message'; text: string } | { type: 'close'; info: SocketCloseInfo } | { type: 'error'; error: Error };

class Recorder implements SocketListener {
  readonly events: Heard[] = [];
  #wake: (() => void) | undefined;
  onOpen = () => this.#push({ type: 'open' });
  onMessage = (text: string) => this.#push({ type: 'message', text });
  onClose = (info: SocketCloseInfo) => this.#push({ type: 'close', info });
  onError = (error: Error) => this.#push({ type: 'error', error });
  types = () => this.events.map((e) => e.type);
  /** Resolves once an event of `type` has been heard. */
  async until(type: Heard['type']): Promise<Heard> {
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) return found;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
  #push(event: Heard): void {
    this.events.push(event);
    this.#wake?.();
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<{ url: string; next: () => Promise<[ServerSocket]> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => [...protocols][0] ?? false });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    wss.close(() => resolve());
  }));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, next: () => once(wss, 'connection') as Promise<[ServerSocket]> };
}

function open(url: string, protocols?: string[]) {
  const events = new Recorder();
  const socket = new StandardWebSocketTransport({ WebSocket }).open({ url, protocols }, events);
  cleanups.push(() => socket.terminate());
  return { socket, events };
}

describe('StandardWebSocketTransport over a real socket', () => {
  it('opens with a subprotocol, carries text and binary frames, and reports the server close code and reason', async () => {
    const { url, next } = await server();
    const connection = next();
    const { socket, events } = open(url, ['jsonrpc']);
    const [peer] = await connection;
    expect(peer.protocol).toBe('jsonrpc');
    await events.until('open');
    const got = once(peer, 'message');
    socket.send('{"up":1}');
    expect(String((await got)[0])).toBe('{"up":1}');
    peer.send('{"text":1}');
    peer.send(Buffer.from('{"binary":"é"}'), { binary: true });
    peer.close(4401, 'unauthorized');
    const close = await events.until('close');
    expect(events.events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text)).toEqual(['{"text":1}', '{"binary":"é"}']);
    expect(close).toEqual({ type: 'close', info: { code: 4401, reason: 'unauthorized' } });
  });

  it('a refused connection is an error, then one close 1006', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { events } = open(`ws://127.0.0.1:${port}/?apikey=abc`);
    const close = await events.until('close');
    expect(close).toMatchObject({ info: { code: 1006 } });
    expect(events.types()).toEqual(['error', 'close']);
    const error = (events.events[0] as { error: Error }).error;
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(error.message).not.toContain('abc');
  });

  it('terminate() on a peer that went silent ends the socket at once', async () => {
    const { url, next } = await server();
    const connection = next();
    const { socket, events } = open(url);
    const [peer] = await connection;
    await events.until('open');
    peer.pause(); // reads nothing more: the close handshake would never finish
    socket.terminate();
    await events.until('close');
    expect(events.types()).toEqual(['open', 'close']);
  });

  it('close() runs the closing handshake, with the code and reason the server sees', async () => {
    const { url, next } = await server();
    const connection = next();
    const { socket, events } = open(url);
    const [peer] = await connection;
    await events.until('open');
    const closed = once(peer, 'close');
    socket.close(1000, 'steadyrpc: done');
    const [code, reason] = await closed;
    expect([code, String(reason)]).toEqual([1000, 'steadyrpc: done']);
    await events.until('close');
    expect(events.types()).toEqual(['open', 'close']);
  });
});

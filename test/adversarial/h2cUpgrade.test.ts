/**
 * A POST that offers an upgrade to HTTP/2 over cleartext (`Upgrade: h2c`), as `curl --http2` sends
 * to an http:// URL and Java's java.net.http.HttpClient (HTTP/2 by default) sends on its first
 * request. A server may ignore the offer and answer in HTTP/1.1 (RFC 9110, 7.8); Node does so, but
 * only while no 'upgrade' listener is set, and the proxy has one for its WebSockets: the POST went to
 * `ws`, which refused it with 400 (found with curl 7.88.1). Such a request is served as the POST it is.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../integration/helpers/wsClient.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const chainId = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_chainId', params: [] });

/** What `curl --http2 -d <body> http://host/` sends (curl 7.88.1), then `then` on the same connection. */
function h2cPost(body: string, then = ''): string {
  return (
    'POST / HTTP/1.1\r\nHost: proxy\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n' +
    'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n' +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}${then}`
  );
}

/** Writes `text` on a new connection; what came back once `responses` answers did (or the connection closed). */
async function exchange(proxyUrl: string, text: string, responses: number): Promise<string> {
  const { hostname, port } = new URL(proxyUrl);
  const client = net.connect(Number(port), hostname);
  try {
    await once(client, 'connect');
    let received = '';
    let closed = false;
    client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    client.on('close', () => (closed = true));
    client.write(text);
    // The proxy's answers are chunked: each ends with the last, empty chunk.
    const answered = () => (received.match(/\r\n0\r\n\r\n/g) ?? []).length >= responses;
    await poll(`${responses} response(s)`, async () => closed || answered(), 10_000);
    return received;
  } finally {
    client.destroy();
  }
}

describe('a POST offering an upgrade to h2c', { timeout: 30_000 }, () => {
  it('is answered in HTTP/1.1 as a POST, and the connection serves the next request', async () => {
    const proxy = await stack.proxy();
    try {
      const second = `POST / HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: ${chainId(2).length}\r\n\r\n${chainId(2)}`;
      const received = await exchange(proxy.url, h2cPost(chainId(1), second), 2);
      expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
      expect(received).toContain('{"jsonrpc":"2.0","id":1,"result":"0x7a69"}');
      expect(received).toContain('{"jsonrpc":"2.0","id":2,"result":"0x7a69"}');
      // Not switched: the offer is ignored, as RFC 9110 lets a server do.
      expect(received).not.toMatch(/101 Switching Protocols/i);
      expect(proxy.metrics.render()).toContain('steadyrpc_proxy_http_requests_total{outcome="answered"} 2');
    } finally {
      await proxy.close();
    }
  });

  it('a WebSocket upgrade is still one', async () => {
    const proxy = await stack.proxy();
    try {
      const { hostname, port } = new URL(proxy.url);
      const client = net.connect(Number(port), hostname);
      await once(client, 'connect');
      let received = '';
      client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      client.write('GET / HTTP/1.1\r\nHost: proxy\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      await poll('the handshake', async () => received.includes('\r\n\r\n'), 5_000);
      expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
      client.destroy();
    } finally {
      await proxy.close();
    }
  });
});

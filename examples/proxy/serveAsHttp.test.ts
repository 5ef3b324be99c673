import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveAsHttp } from './listeners.js';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => { server?.closeAllConnections(); server?.close(() => r()); if (!server) r(); }));

async function start(): Promise<number> {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (req.url === '/slow') await new Promise((r) => setTimeout(r, 400));
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url} len=${body.length} sum=${body.reduce((a, b) => (a + b) % 65521, 0)} x=${Buffer.from(String(req.headers['x-odd'] ?? ''), 'latin1').toString('hex')}|`);
    });
  });
  server.on('upgrade', (req, socket, head) => serveAsHttp(server!, req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function exchange(port: number, parts: Array<string | Buffer>, answers: number): Promise<string> {
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  let received = '';
  client.on('data', (c: Buffer) => (received += c.toString('latin1')));
  for (const part of parts) {
    client.write(part);
    await new Promise((r) => setTimeout(r, 30));
  }
  const until = Date.now() + 3000;
  while ((received.match(/\|/g) ?? []).length < answers && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  client.destroy();
  return received;
}

const offer = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';

describe('serveAsHttp', () => {
  it('a body larger than the first chunk, sent later', async () => {
    const port = await start();
    const body = Buffer.alloc(200_000, 7);
    const got = await exchange(port, [`POST /a HTTP/1.1\r\nHost: x\r\n${offer}Content-Length: ${body.length}\r\n\r\n`, body.subarray(0, 10), body.subarray(10)], 1);
    expect(got).toContain(`len=${body.length}`);
  });
  it('a chunked body, then a pipelined request', async () => {
    const port = await start();
    const got = await exchange(port, [`POST /b HTTP/1.1\r\nHost: x\r\n${offer}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`, '0\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n'], 2);
    expect(got).toContain('POST /b len=5');
    expect(got).toContain('GET /c len=0');
  });
  it('odd header bytes, no offer', async () => {
    const port = await start();
    const got = await exchange(port, [Buffer.from(`GET /d HTTP/1.1\r\nHost: x\r\nX-Odd: caf\xe9\t ok\r\n\r\n`, 'latin1')], 1);
    expect(got).toContain(`x=${Buffer.from('caf\xe9\t ok', 'latin1').toString('hex')}|`);
  });
  it('odd header bytes, offer', async () => {
    const port = await start();
    const got = await exchange(port, [Buffer.from(`GET /d HTTP/1.1\r\nHost: x\r\nX-Odd: caf\xe9\t ok\r\n${offer}\r\n`, 'latin1')], 1);
    expect(got).toContain(`x=${Buffer.from('caf\xe9\t ok', 'latin1').toString('hex')}|`);
  });
  it('a second h2c offer on the same connection, later', async () => {
    const port = await start();
    const got = await exchange(port, [`GET /e HTTP/1.1\r\nHost: x\r\n${offer}\r\n`, `GET /f HTTP/1.1\r\nHost: x\r\n${offer}\r\n`], 2);
    expect(got).toContain('GET /e');
    expect(got).toContain('GET /f');
  });
  it('plain then h2c pipelined', async () => {
    const port = await start();
    const got = await exchange(port, [`GET /e HTTP/1.1\r\nHost: x\r\n\r\nGET /f HTTP/1.1\r\nHost: x\r\n${offer}\r\n`], 2);
    expect(got).toContain('GET /e');
    expect(got).toContain('GET /f');
  });
  it('a slow request pipelined behind another outlives the keep-alive timeout', async () => {
    const port = await start();
    server!.keepAliveTimeout = 150;
    const got = await exchange(port, [`GET /e HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n${offer}\r\n`], 2);
    expect(got).toContain('GET /slow');
  });
  it('a second h2c offer on the same connection', async () => {
    const port = await start();
    const got = await exchange(port, [`GET /e HTTP/1.1\r\nHost: x\r\n${offer}\r\nGET /f HTTP/1.1\r\nHost: x\r\n${offer}\r\n`], 2);
    expect(got).toContain('GET /e');
    expect(got).toContain('GET /f');
  });
});

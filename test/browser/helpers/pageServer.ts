/**
 * A tiny loopback HTTP server for the browser test's pages: `/<name>.html` is a shell that loads
 * `/<name>.js` (the page's bundle) as a module. Every page is served under a strict Content
 * Security Policy (no inline script, no eval, connections to loopback only), so the test also shows
 * that steadyrpc, viem and ethers run under one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the pages may do: their own script, and HTTP/WebSocket to loopback ports (the fault proxies). */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; connect-src http://127.0.0.1:* ws://127.0.0.1:*";

export interface PageServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Serves `code` as `/<name>.js` and a shell at `/<name>.html`. */
  add(name: string, code: string): void;
  /** The page's address with `config` passed as JSON in the query. */
  url(name: string, config: unknown): string;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const scripts = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const [, name, kind] = /^\/([\w-]+)\.(html|js)$/.exec(path) ?? [];
    const headers = { 'content-security-policy': PAGE_CSP, 'cache-control': 'no-store' };
    if (name !== undefined && scripts.has(name)) {
      if (kind === 'js') {
        response.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' });
        response.end(scripts.get(name));
      } else {
        response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
        response.end(`<!doctype html><html><head><meta charset="utf-8"><title>${name}</title><script type="module" src="/${name}.js"></script></head><body></body></html>`);
      }
      return;
    }
    // No favicon, no 404 in the console.
    response.writeHead(path === '/favicon.ico' ? 204 : 404, headers);
    response.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    add(name, code) {
      scripts.set(name, code);
    },
    url(name, config) {
      return `${origin}/${name}.html?config=${encodeURIComponent(JSON.stringify(config))}`;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

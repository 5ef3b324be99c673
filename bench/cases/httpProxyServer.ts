/**
 * The reference proxy in its own process (as it would be deployed) for the HTTP case: POST / in
 * front of one mock, started over IPC by bench/cases/http.ts.
 */
import { startProxyServer } from '../../examples/proxy-server.js';
import { serve } from '../ipc.js';

let close: (() => Promise<void>) | undefined;

serve(
  {
    async start({ name, wsUrl, httpUrl }: { name: string; wsUrl: string; httpUrl: string }) {
      const proxy = await startProxyServer({ listen: { host: '127.0.0.1', port: 0 }, upstreams: [{ name, ws: wsUrl, http: httpUrl }] });
      close = () => proxy.close();
      return { url: proxy.url };
    },
  },
  {},
  () => {
    void (close?.() ?? Promise.resolve()).finally(() => process.exit(0));
  },
);

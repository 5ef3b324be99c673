/**
 * The middle hop of the proxy case, in its own process (as a proxy would be): either the
 * byte-forwarding pipe or the reference proxy (examples/proxy-server.ts) in front of one mock.
 */
import { startProxyServer } from '../examples/proxy-server.js';
import { serve } from './ipc.js';
import { startPipe } from './pipe.js';

export type HopKind = 'pipe' | 'proxy';

let close: (() => Promise<void>) | undefined;

serve(
  {
    async start({ kind, name, wsUrl, httpUrl }: { kind: HopKind; name: string; wsUrl: string; httpUrl: string }) {
      if (kind === 'pipe') {
        const pipe = await startPipe(wsUrl);
        close = () => pipe.close();
        return { url: pipe.url };
      }
      const proxy = await startProxyServer({
        listen: { host: '127.0.0.1', port: 0 },
        upstreams: [{ name, ws: wsUrl, http: httpUrl }],
      });
      close = () => proxy.close();
      return { url: proxy.wsUrl };
    },
  },
  {},
  () => {
    void (close?.() ?? Promise.resolve()).finally(() => process.exit(0));
  },
);

/**
 * The middle hop of the proxy case, in its own process (as a proxy would be): either the
 * byte-forwarding pipe or the reference proxy (examples/proxy-server.ts) in front of one mock
 * (`proxy-corked`: the same with the bench prototype transport, see CorkedTransport.ts).
 */
import { startProxyServer } from '../examples/proxy-server.js';
import { CorkedTransport } from './CorkedTransport.js';
import { serve } from './ipc.js';
import { startPipe } from './pipe.js';

export type HopKind = 'pipe' | 'proxy' | 'proxy-corked';

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
        // The prototype: upstream writes coalesced per turn (client-side writes are the example's own).
        ...(kind === 'proxy-corked' ? { session: { transport: new CorkedTransport() } } : {}),
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

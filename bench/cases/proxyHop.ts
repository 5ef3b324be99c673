/**
 * Case 2: a raw ws client through a middle hop (in its own process) to the mock: the
 * byte-forwarding pipe, or the reference proxy.
 */
import { openRawWs } from '../clients.js';
import type { HopKind } from '../hopServer.js';
import { Child } from '../ipc.js';
import { closedLoop, type LoadOptions, type LoadResult } from '../load.js';
import { startMocks } from '../upstreams.js';

export type ProxyMeasurement = { hop: HopKind } & LoadResult;

export async function proxyCase({ hop, load }: { hop: HopKind; load: LoadOptions }): Promise<ProxyMeasurement> {
  const [mock] = await startMocks(1);
  const server = await Child.start(`${hop} hop`, './hopServer.ts');
  try {
    const { url } = await server.request<{ url: string }>('start', { kind: hop, name: mock!.name, wsUrl: mock!.wsUrl, httpUrl: mock!.httpUrl });
    const client = await openRawWs(url);
    try {
      return { hop, ...(await closedLoop(() => client.peer.call('eth_blockNumber'), load)) };
    } finally {
      await client.close();
    }
  } finally {
    await server.stop();
    await mock!.stop();
  }
}

/** Case 1: request throughput and latency of one client against one mock upstream. */
import { isUnavailable, openClient, type ClientKind } from '../clients.js';
import { closedLoop, type LoadOptions, type LoadResult } from '../load.js';
import { startMocks } from '../upstreams.js';

export type RequestsMeasurement = { kind: string; unavailable?: string } & Partial<LoadResult>;

export async function requestsCase({ kind, load }: { kind: ClientKind; load: LoadOptions }): Promise<RequestsMeasurement> {
  const [mock] = await startMocks(1);
  try {
    const client = await openClient(kind, { name: mock!.name, wsUrl: mock!.wsUrl, httpUrl: mock!.httpUrl });
    if (isUnavailable(client)) return { kind, unavailable: client.unavailable };
    try {
      return { kind, ...(await closedLoop(() => client.call(), load)) };
    } finally {
      await client.close();
    }
  } finally {
    await mock!.stop();
  }
}

import { createPublicClient, type PublicClient } from 'viem';
import { resilientTransport, type ResilientTransport, type ResilientTransportOptions } from '../../src/viem.js';
import { adapterWorld, type AdapterWorld } from './world.js';

/** An address the fake nodes hold code and logs for. */
export const ADDRESS = '0x0000000000000000000000000000000000000001';

/** A viem public client on `resilientTransport` over the world's fake nodes (a new world unless given), settled. */
export async function viemClient(options: Partial<ResilientTransportOptions> & { world?: AdapterWorld } = {}): Promise<{ world: AdapterWorld; client: PublicClient<ResilientTransport> }> {
  const { world = adapterWorld(), ...rest } = options;
  const transport = resilientTransport({ ...world.nodesOptions(), ...rest } as ResilientTransportOptions);
  const client = createPublicClient({ transport });
  await world.settle();
  return { world, client };
}

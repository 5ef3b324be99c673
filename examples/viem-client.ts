/**
 * viem with a resilient transport: watch blocks over eth_subscribe and read a balance, across
 * failover and failback, with no other change to viem code.
 *
 *   npx tsx examples/viem-client.ts http://127.0.0.1:8545 http://127.0.0.1:8546
 */
import { pathToFileURL } from 'node:url';
import { createPublicClient, type Address } from 'viem';
import { resilientTransport } from 'steadyrpc/viem';

export interface ClientRun {
  blocks: bigint[];
  balances: bigint[];
}

/** Watches blocks and polls `address`'s balance for `seconds`, through nodes given as HTTP URLs. */
export async function main(urls: string[], address: Address, seconds: number, log = console.log): Promise<ClientRun> {
  const transport = resilientTransport({
    nodes: urls.map((http, i) => ({ name: `node${i}`, http, ws: http.replace(/^http/, 'ws') })),
  });
  const client = createPublicClient({ transport });
  const run: ClientRun = { blocks: [], balances: [] };
  const unwatch = client.watchBlockNumber({ onBlockNumber: (n) => run.blocks.push(n) && log(`viem: block ${n}`) });
  const deadline = Date.now() + seconds * 1_000;
  while (Date.now() < deadline) {
    run.balances.push(await client.getBalance({ address }));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  unwatch();
  client.transport.close();
  return run;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const urls = process.argv.slice(2);
  await main(urls.length > 0 ? urls : ['http://127.0.0.1:8545'], '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 30);
}

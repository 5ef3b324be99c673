/**
 * ethers v6 with a resilient provider: block events and balance reads that survive failover and
 * failback; no request ever hangs.
 *
 *   npx tsx examples/ethers-client.ts http://127.0.0.1:8545 http://127.0.0.1:8546
 */
import { pathToFileURL } from 'node:url';
import { ResilientProvider } from 'steadyrpc/ethers';

export interface ClientRun {
  blocks: number[];
  balances: bigint[];
}

export async function main(urls: string[], address: string, seconds: number, log = console.log): Promise<ClientRun> {
  const provider = new ResilientProvider({
    nodes: urls.map((http, i) => ({ name: `node${i}`, http, ws: http.replace(/^http/, 'ws') })),
  });
  const run: ClientRun = { blocks: [], balances: [] };
  await provider.on('block', (n: number) => run.blocks.push(n) && log(`ethers: block ${n}`));
  const deadline = Date.now() + seconds * 1_000;
  while (Date.now() < deadline) {
    run.balances.push(await provider.getBalance(address));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  provider.destroy();
  return run;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const urls = process.argv.slice(2);
  await main(urls.length > 0 ? urls : ['http://127.0.0.1:8545'], '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 30);
}

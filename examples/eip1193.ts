/**
 * An EIP-1193 provider for any library that takes one: `request`, and `message` events for
 * subscriptions whose id never changes across failover.
 *
 *   npx tsx examples/eip1193.ts http://127.0.0.1:8545 http://127.0.0.1:8546
 */
import { pathToFileURL } from 'node:url';
import { createEip1193Provider } from 'steadyrpc';

export interface ProviderRun {
  chainId: string;
  subscription: string;
  heads: string[];
  /** Subscription ids seen on `message` events: one, whatever happened to the nodes. */
  subscriptionIds: string[];
}

export async function main(urls: string[], seconds: number, log = console.log): Promise<ProviderRun> {
  const provider = createEip1193Provider({
    nodes: urls.map((http, i) => ({ name: `node${i}`, http, ws: http.replace(/^http/, 'ws') })),
  });
  const run: ProviderRun = { chainId: '', subscription: '', heads: [], subscriptionIds: [] };
  provider.on('connect', ({ chainId }) => log(`eip1193: connected to chain ${chainId}`));
  provider.on('message', ({ data }) => {
    run.heads.push((data.result as { number: string }).number);
    if (!run.subscriptionIds.includes(data.subscription)) run.subscriptionIds.push(data.subscription);
  });
  run.chainId = await provider.request<string>({ method: 'eth_chainId' });
  run.subscription = await provider.request<string>({ method: 'eth_subscribe', params: ['newHeads'] });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  provider.close();
  return run;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const urls = process.argv.slice(2);
  const run = await main(urls.length > 0 ? urls : ['http://127.0.0.1:8545'], 30);
  console.log(run);
}

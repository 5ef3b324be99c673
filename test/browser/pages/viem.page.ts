/**
 * A browser page using viem over steadyrpc: `createPublicClient` with `resilientTransport`,
 * `watchBlockNumber` over `eth_subscribe` (no polling), and `getBalance` calls.
 */
import { pageError, publish, readConfig, recordBlock, start, watchSession } from './pageKit.js';
import { createPublicClient, type Address } from 'viem';
import { watchBlockNumber } from 'viem/actions';
import { staticEnvironment } from 'steadyrpc';
import { resilientTransport } from 'steadyrpc/viem';

start(() => {
  const config = readConfig();
  const client = createPublicClient({
    transport: resilientTransport({
      nodes: config.nodes,
      health: config.health,
      session: config.environment === 'static' ? { ...config.session, environment: staticEnvironment } : config.session,
    }),
  });
  const { session } = client.transport;
  watchSession(session);
  const unwatch = watchBlockNumber(client, {
    poll: false,
    onBlockNumber: recordBlock,
    onError: (error) => pageError('watchBlockNumber', error),
  });
  publish({
    pool: client.transport.pool,
    session,
    balance: () => client.getBalance({ address: config.account as Address }),
    close: () => {
      unwatch();
      client.transport.close();
    },
  });
});

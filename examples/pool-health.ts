/**
 * A pool of two nodes with health checks, printing every switch. Run against your own nodes:
 *   PRIMARY=http://127.0.0.1:8545 BACKUP=http://127.0.0.1:8546 npx tsx examples/pool-health.ts
 */
import { HealthChecker, NodePool } from 'steadyrpc';

const pool = new NodePool({
  nodes: [
    { name: 'primary', http: process.env.PRIMARY ?? 'http://127.0.0.1:8545' },
    { name: 'backup', http: process.env.BACKUP ?? 'http://127.0.0.1:8546', tier: 'backup' },
  ],
});
const health = new HealthChecker(pool);

pool.on('switch', ({ from, to, reason }) => {
  console.log(`${new Date().toISOString()} switch ${from ?? '-'} -> ${to ?? '-'} (${reason})`);
});
health.on('probe', ({ name, ok, head, latencyMs, error }) => {
  console.log(`${name}: ${ok ? `head ${head} in ${latencyMs} ms` : error?.message}`);
});
health.start();

const shutdown = () => {
  health.close();
  pool.close();
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

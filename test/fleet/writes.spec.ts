/**
 * A write through HAProxy reaches the chain once, whatever happens to the replica it went to: a
 * rolling restart whose drain ends before the node answers, or a crash. The load balancer resends
 * only what a replica provably never carried out (examples/deploy/haproxy.cfg: `retry-on
 * conn-failure 503`), and a draining replica answers every request in progress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
import { poll, sleep } from '../integration/helpers/wsClient.js';
import { startFleet, type Fleet } from './fleet.js';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet({ relay: true, replicaArgs: ['--drain-ms', '1000'] });
}, 60_000);
afterAll(() => fleet?.stop(), 30_000);

const post = async (url: string, method: string, params: unknown[]) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return { status: response.status, text: await response.text() };
};
const nonce = async () => Number(JSON.parse((await post(fleet.anvils[0]!.httpUrl, 'eth_getTransactionCount', [DEV_ACCOUNT, 'latest'])).text).result);

/** Only replica `only` takes traffic: the others are stopped (SIGTERM) and HAProxy sees them DOWN. */
async function onlyReplica(only: number): Promise<void> {
  for (let i = 0; i < fleet.replicas.length; i++) {
    if (i === only || !fleet.replicas[i]!.child) continue;
    await fleet.stopReplica(i, 'SIGTERM');
    fleet.replicas[i]!.child = undefined;
    await fleet.waitState(i, 'DOWN');
  }
}

async function allReplicas(): Promise<void> {
  for (let i = 0; i < fleet.replicas.length; i++) {
    if (fleet.replicas[i]!.child) continue;
    await fleet.startReplica(i);
    await fleet.waitState(i, 'UP');
  }
}

/**
 * Sends a write whose answer the node holds 6 s through HAProxy while only replica `i` is up, brings
 * the others back, then stops `i` with `signal` before the answer; returns what the client got,
 * how `i` exited, how often the node received the write and how many transactions were mined.
 */
async function writeThenStop(i: number, signal: NodeJS.Signals) {
  const relay = fleet.relay!;
  await onlyReplica(i);
  const before = { received: relay.count('eth_sendTransaction'), nonce: await nonce() };
  relay.misbehave('eth_sendTransaction', { kind: 'slow', ms: 6_000 });
  try {
    const write = post(fleet.httpUrl, 'eth_sendTransaction', [{ from: DEV_ACCOUNT, to: DEV_ACCOUNT, value: '0x1' }]);
    await poll('the write reached the node', async () => relay.count('eth_sendTransaction') > before.received, 10_000, 20);
    await allReplicas();
    const exit = await fleet.stopReplica(i, signal);
    fleet.replicas[i]!.child = undefined;
    const answer = await write;
    await sleep(7_000); // the node's late answer, and a block or more
    const outcome = { exit: exit.signal ?? `code ${exit.code}`, stopMs: exit.ms, status: answer.status, answer: answer.text, received: relay.count('eth_sendTransaction') - before.received, mined: (await nonce()) - before.nonce };
    console.table([{ ...outcome, answer: outcome.answer.slice(0, 120) }]);
    return outcome;
  } finally {
    relay.misbehave('eth_sendTransaction', undefined);
    await allReplicas();
  }
}

describe('an eth_sendTransaction through HAProxy whose answer is late (6 s)', () => {
  it('its replica drains (1 s) before the answer: the client is told NOT_RESENT, the node got it once, one transaction is mined', async () => {
    const outcome = await writeThenStop(0, 'SIGTERM');
    expect(outcome.exit).toBe('code 0');
    expect(outcome.status).toBe(200);
    expect(JSON.parse(outcome.answer)).toMatchObject({ id: 1, error: { code: -32053 } });
    expect(outcome.received).toBe(1);
    expect(outcome.mined).toBe(1);
  });

  it('its replica crashes (SIGKILL) before the answer: HAProxy answers 502 and resends nothing; the node got it once, one transaction is mined', async () => {
    const outcome = await writeThenStop(1, 'SIGKILL');
    expect(outcome.status).toBe(502);
    expect(outcome.received).toBe(1);
    expect(outcome.mined).toBe(1);
  });
});

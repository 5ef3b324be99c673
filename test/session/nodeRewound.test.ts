// Found in review (the session's side of test/pool/nodeHeadWentDown.test.ts): the session kept the
// highest head its socket had shown, so once its node's head went down (a geth after an unclean
// shutdown, a snapshot restore) the node was still trusted at its old head, and its state at
// `latest`, older than the block the client had been given, went through.
import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../helpers/session.js';

const hex = (n: number) => `0x${n.toString(16)}`;

async function clientSaw105() {
  const h = await sessionHarness({ names: [['a', 'primary']] });
  const behind: Array<{ method: string; outcome: string }> = [];
  h.session.on('behind', (event) => behind.push(event));
  const a = h.nodes.a!;
  a.head = 105;
  h.send(rpc(1, 'eth_blockNumber'));
  await h.settle();
  expect(h.answers(1)).toEqual([expect.objectContaining({ result: hex(105) })]);
  // The node goes back to 100.
  a.head = 100;
  return { h, a, behind };
}

/** A read at latest sent now is held (`behind`), and answered once the node is back at 105. */
async function balanceHeldUntil105({ h, a, behind }: Awaited<ReturnType<typeof clientSaw105>>): Promise<void> {
  h.send(rpc(3, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
  await h.settle();
  expect(h.answers(3)).toEqual([]);
  expect(behind.map((e) => [e.method, e.outcome])).toContainEqual(['eth_getBalance', 'held']);
  a.head = 105;
  await h.clock.advance(500);
  expect(h.answers(3)).toEqual([expect.objectContaining({ result: expect.any(String) })]);
}

describe('a node whose head went down under the session', () => {
  it('is judged by its latest answer: a read at latest waits until it is back at the block the client has', async () => {
    const saw = await clientSaw105();
    const { h } = saw;
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(2)).toEqual([]);
    await balanceHeldUntil105(saw);
    expect(h.answers(2)).toEqual([expect.objectContaining({ result: hex(105) })]);
    h.session.close();
    h.pool.close();
  });

  it('is judged by a probe that read its head after the socket last told it', async () => {
    const saw = await clientSaw105();
    const { h } = saw;
    h.pool.update('a', { status: 'healthy', head: 100, headAt: h.clock.now() + 1 });
    await h.clock.advance(1);
    await balanceHeldUntil105(saw);
    h.session.close();
    h.pool.close();
  });
});

import { describe, expect, it } from 'vitest';
import type { FakeNode, FakeSocket } from '../../src/testing/index.js';
import { rpc, sessionHarness, subscribeNewHeads, type SessionHarness } from '../helpers/session.js';

// docs/architecture.md: "with none (a failover), the new link becomes active without that
// subscription, whose replay is tried again on it with a backoff from 500 ms doubling to 10 s
// (±20 % jitter), each try a `replay` event". The doubling, cap and jitter for ONE subscription are
// pinned by test/defaults/session.test.ts:125-171; this file pins what the sentence leaves open.

/** Serves `url` as `node` would, except that every eth_subscribe is answered with an error. */
function routeRefusingSubscribes(h: SessionHarness, url: string, node: FakeNode): void {
  h.sockets.route(url, (socket: FakeSocket) => {
    socket.onSend((text) => {
      const request = JSON.parse(text) as { method: string; id: number };
      if (request.method === 'eth_subscribe') {
        socket.receiveJson({ jsonrpc: '2.0', id: request.id, error: { code: -32000, message: 'subscriptions disabled' } });
        return;
      }
      socket.receiveJson(node.answer(request as never));
    });
    socket.accept();
  });
}

async function failoverWithFailingReplays(random: () => number, subscriptions = 1) {
  const h = await sessionHarness({ random });
  const ids: string[] = [];
  ids.push(await subscribeNewHeads(h));
  for (let i = 1; i < subscriptions; i++) {
    h.send(rpc(`s${i}`, 'eth_subscribe', ['newHeads']));
    await h.settle();
    ids.push(h.answers(`s${i}`)[0].result);
  }
  routeRefusingSubscribes(h, 'ws://b.test/', h.nodes.b!);
  const tries: Array<{ at: number; subscription: string; ok: boolean }> = [];
  h.session.on('replay', ({ subscription, ok }) => tries.push({ at: h.clock.now(), subscription, ok }));
  const start = h.clock.now();
  h.nodes.a!.cut();
  await h.settle();
  expect(h.session.state).toBe('ready'); // failover: b taken without the subscriptions
  return { h, ids, tries, start };
}

describe('replay retries after a failover (docs/architecture.md)', () => {
  // Vague in the doc: "whose replay is tried again ... from 500 ms doubling" reads as a backoff per
  // subscription. The backoff is per link (src/session/UpstreamLink.ts:52, advanced for every failed
  // replay in src/session/Replayer.ts:77-78): with several subscriptions refused at once, the k-th
  // waits 500·2^(k-1) ms for its first retry (capped at 10 s). This pins what the code does.
  it('several subscriptions share one backoff: the k-th failed replay waits 500·2^(k-1) ms for its first retry', async () => {
    const { h, ids, tries, start } = await failoverWithFailingReplays(() => 0.5, 4);
    expect(tries.map((t) => t.at - start)).toEqual([0, 0, 0, 0]);
    await h.clock.advance(4_000);
    const firstRetry = (id: string) => tries.filter((t) => t.subscription === id)[1]?.at! - start;
    expect(ids.map(firstRetry)).toEqual([500, 1_000, 2_000, 4_000]);
    await h.session.close();
  });
});

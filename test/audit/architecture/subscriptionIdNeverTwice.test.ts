import { describe, expect, it } from 'vitest';
import { FakeSocketTransport } from '../../../src/testing/index.js';
import type { FakeSocket } from '../../../src/testing/index.js';
import { rpc, sessionHarness } from '../../helpers/session.js';

// docs/architecture.md, "How a frame flows": a client-facing id that never changes, "and is not
// handed out again while it is among the session's last 4,096". UpstreamFrames remembers only the
// last 4,096 ids it issued (ISSUED_IDS_REMEMBERED, on purpose: a session that subscribes and
// unsubscribes for days does not grow): past that, a node reusing an id gets it handed out again.
// The audit found the doc said "never handed out twice"; it now states the bound, pinned here.
describe('architecture.md: a client-facing subscription id is not handed out again among the last 4,096', () => {
  it('with a node that always answers the same upstream id, no id repeats within 4,096 subscriptions; the 4,098th may get the first one again', async () => {
    // Every socket answers eth_subscribe with the same id (a node restarting its counter, say).
    const serve = (socket: FakeSocket) => {
      socket.accept();
      socket.onSend((text, s) => {
        const { id, method } = JSON.parse(text) as { id?: number; method: string };
        if (id === undefined) return;
        s.receiveJson({ jsonrpc: '2.0', id, result: method === 'eth_subscribe' ? '0xabc' : method === 'eth_unsubscribe' ? true : '0x1' });
      });
    };
    let n = 0;
    const h = await sessionHarness({
      // Distinct draws, so a fresh id is found in one attempt.
      random: () => (n = (n + 0.6180339887498949) % 1),
      transportOver: () => {
        const t = new FakeSocketTransport();
        t.route('ws://a.test/', serve);
        t.route('ws://b.test/', serve);
        return t;
      },
    });
    expect(h.session.state).toBe('ready');
    const issued: string[] = [];
    for (let i = 0; i < 4_100; i++) {
      h.send(rpc(`s${i}`, 'eth_subscribe', ['newPendingTransactions']));
      await h.settle();
      const id = h.answers(`s${i}`)[0]!.result as string;
      issued.push(id);
      h.send(rpc(`u${i}`, 'eth_unsubscribe', [id]));
      await h.settle();
    }
    expect(issued[0]).toBe('0xabc');
    // No repeat within any 4,096 consecutive subscriptions.
    for (let i = 0; i < issued.length; i++) {
      const again = issued.indexOf(issued[i]!, i + 1);
      if (again >= 0) expect(again - i, `subscription ${again} got ${issued[i]}, handed out at ${i}`).toBeGreaterThan(4_096);
    }
    // The bound is real: the first id, forgotten, is handed out again.
    expect(issued.indexOf('0xabc', 1)).toBe(4_097);
  }, 60_000);
});

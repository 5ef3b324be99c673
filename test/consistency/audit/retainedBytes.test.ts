// Audit of docs/guides/consistency.md:174-175 ("the delivered logs of the last 64 blocks up to
// `continuity.maxRetainedBytes` (2 MiB)"), :180-182 ("`stats()` shows […] `retainedBytes`; the gauge
// `steadyrpc_session_retained_log_bytes` sums the retained bytes"), :215-216 ("A log's retraction is
// remembered for `reorgDepth` blocks (and within `maxRetainedBytes`)") and docs/reference.md:124
// ("delivered logs kept per `logs` subscription") against src/session/RetainedLogs.ts.
//
// RetainedLogs keeps two things, each under its own budget of maxRetainedBytes: the delivered logs
// (RetainedLogs.ts:236-252, #prune) and the keys of retracted ones (:107-117, retire). `bytes`, which
// is what stats().retainedBytes and the gauge report (:63-65), is their sum. So one `logs`
// subscription may hold, and report, up to twice maxRetainedBytes: an operator who sized memory (or
// an alert) from "up to maxRetainedBytes per subscription" is off by up to 2×. The existing test
// "big logs over the byte budget: retained bytes stay within it" (test/session/forks/forkProbes.test.ts)
// never retracts anything, so it cannot see it. Passing test: it pins what the code does.
import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../../helpers/session.js';

describe('continuity.maxRetainedBytes bounds the logs kept and the retractions remembered separately', () => {
  it("one logs subscription's retainedBytes exceeds maxRetainedBytes once a node retracted logs", async () => {
    const maxRetainedBytes = 3_000;
    const h = await sessionHarness({ continuity: { maxRetainedBytes } });
    h.send(rpc('l', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    const subscription = h.answers('l')[0].result as string;
    const a = h.nodes.a!;
    const delivered = () => h.notifications(subscription).map((n) => n.params.result);
    // Fifteen logs, one a block: the logs kept stay within the budget.
    for (let i = 0; i < 15; i++) {
      a.advance(1);
      a.emitLog();
    }
    await h.settle();
    expect(delivered()).toHaveLength(15);
    expect(h.session.stats().retainedBytes).toBeLessThanOrEqual(maxRetainedBytes);
    // The node retracts them all (geth sends `removed: true`): their keys are remembered.
    for (const log of delivered().slice(0, 15)) a.notify('logs', { ...log, removed: true });
    await h.settle();
    expect(delivered().filter((log) => log.removed)).toHaveLength(15);
    // New logs fill the logs' budget again.
    for (let i = 0; i < 15; i++) {
      a.advance(1);
      a.emitLog();
    }
    await h.settle();
    const { retainedBytes } = h.session.stats();
    expect(retainedBytes).toBeGreaterThan(maxRetainedBytes);
    expect(retainedBytes).toBeLessThanOrEqual(2 * maxRetainedBytes);
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { poolCommands } from '../helpers/poolCommands.js';
import type { PoolWorld } from '../helpers/poolWorld.js';
import { createPoolWorld, poolSettings, probe, problemsOf, startPool } from '../helpers/poolWorld.js';

/** Runs of the property; `PROPS_RUNS=10000` (see `npm run test:props:long`) for a long search. */
const RUNS = Number(process.env.PROPS_RUNS ?? 500);
const MAX_COMMANDS = 40;
/** `PROPS_SEED=<n>` replays the runs of a seed fast-check reported; `PROPS_PATH`, `PROPS_REPLAY` as in session.property.test.ts. */
const SEED = process.env.PROPS_SEED === undefined ? undefined : Number(process.env.PROPS_SEED);
const PATH = process.env.PROPS_PATH;
const REPLAY = process.env.PROPS_REPLAY;
// `PROPS_TRACE=1` prints a run as it happens.

/** After the nodes heal: the longest a request may still wait (rate-limit cool-downs, open circuits, attempts, the view's wait). */
const SETTLE_MS = 400_000;

/** The longest a rate limit (rateLimit.maxCooldownMs) or an open circuit (breaker.maxOpenMs) keeps a node away, by default. */
const LONGEST_HOLD_MS = 300_000;

let current: PoolWorld | undefined;
const onUnhandled = (reason: unknown) => current?.unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));

describe('NodePool.request() under any interleaving of requests, node faults, lag, forks, probes and time', () => {
  it(
    'settles every request once under its ids, sends no write twice, never shows the chain going back, and leaves nothing behind',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          poolSettings.chain((settings) => fc.tuple(fc.constant(settings), poolCommands(settings.nodes, MAX_COMMANDS, REPLAY))),
          async ([settings, commands]) => {
            const world = createPoolWorld(settings);
            current = world;
            if (process.env.PROPS_TRACE) world.trace = (line) => console.log(`[${world.clock.now()}] ${line}`);
            try {
              await startPool(world);
              await fc.asyncModelRun(() => ({ model: {}, real: world }), commands);
              await settleAndClose(world);
            } finally {
              current = undefined;
              world.health?.stop();
              world.pool.close();
            }
          },
        ),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH === undefined ? {} : { path: PATH }) },
      );
    },
    Math.max(60_000, RUNS * 60),
  );
});

/**
 * The nodes heal and every request must then settle (within the longest wait the pool's rules
 * allow), or (`settleFirst` off) the pool is closed in the middle of it all and that settles them;
 * either way every promise is kept, and close() leaves no timer and no unhandled rejection.
 */
async function settleAndClose(world: PoolWorld): Promise<void> {
  const stuck: string[] = [];
  if (world.settings.settleFirst) {
    world.trace?.('> heal and settle');
    for (const node of world.nodes) {
      node.fault = 'ok';
      node.latencyMs = 0;
      node.fake.readLagBlocks = 0;
    }
    // One chain again, as high as any block there ever was (so as what the caller has been given).
    const leader = world.nodes.reduce((best, node) => (node.fake.tip > best.fake.tip ? node : best));
    leader.fake.advance(Math.max(leader.fake.tip, world.chain.height) - leader.fake.head);
    for (const node of world.nodes) if (node !== leader) node.fake.follow(leader.fake);
    for (let waited = 0; waited < SETTLE_MS && world.requests.some((r) => r.settled === 0); waited += 1_000) {
      if (!world.health) for (const node of world.nodes) probe(world, node);
      await world.clock.advance(1_000);
    }
    // Once every request has settled, no rate limit or circuit keeps a healed node away for longer
    // than the longest cool-down or open circuit: each takes requests again.
    if (world.requests.every((r) => r.settled > 0)) {
      // Without probes meanwhile: no probe's answer may do the pool's work (and 300 rounds of them would be slow).
      world.health?.stop();
      await world.clock.advance(LONGEST_HOLD_MS);
      for (const node of world.nodes) if (!world.pool.available(node.name)) stuck.push(`${node.name} takes no requests after healing: ${JSON.stringify(world.pool.snapshot().nodes.find((n) => n.name === node.name))}`);
      // The pool's view is no higher than the chain (an answer about the pending block, the one
      // after the head, raises nothing): a block number asked now is answered at once.
      if (!world.health) for (const node of world.nodes) probe(world, node);
      let answer: unknown;
      world.pool.request({ jsonrpc: '2.0', id: 'healed', method: 'eth_blockNumber', params: [] }).then(
        (value) => (answer = value),
        (error: unknown) => (answer = error),
      );
      await world.clock.advance(1_000);
      const result = (answer as { result?: unknown } | undefined)?.result;
      if (typeof result !== 'string') stuck.push(`eth_blockNumber once healed: ${answer instanceof Error ? answer.message : JSON.stringify(answer) ?? 'no answer within 1 s'}`);
    }
  } else {
    world.trace?.('> close in the middle');
  }
  world.health?.stop();
  world.pool.close();
  world.closed = true;
  await world.clock.advance(0);
  // Closing settles what was still owed.
  const problems = [...problemsOf(world, { allSettled: true }), ...stuck];
  // Endpoint functions still running are the app's own (their timers too): what they give is
  // never used.
  await world.clock.advance(world.settings.endpointMs ?? 0);
  if (world.clock.pendingTimers !== 0) problems.push(`${world.clock.pendingTimers} timers left after close()`);
  if (world.sentAfterClose !== 0) problems.push(`${world.sentAfterClose} requests reached a node after close()`);
  if (world.unhandled.length > 0) problems.push(`unhandled rejections: ${world.unhandled.map(String).join('; ')}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

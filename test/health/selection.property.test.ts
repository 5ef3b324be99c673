import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HealthChecker } from '../../src/index.js';
import type { FakeNodeMode } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';

type Tier = 'primary' | 'backup';
type Status = 'unknown' | 'healthy' | 'unhealthy';

/** An independent model of the rules: hysteresis per node, then the first healthy in preference order. */
class Model {
  status: Status[];
  ok: number[];
  fail: number[];
  constructor(
    readonly tiers: Tier[],
    readonly down: number,
    readonly up: number,
  ) {
    this.status = tiers.map(() => 'unknown');
    this.ok = tiers.map(() => 0);
    this.fail = tiers.map(() => 0);
  }
  observe(i: number, good: boolean) {
    if (good) {
      this.fail[i] = 0;
      this.ok[i]! += 1;
      if (this.ok[i]! >= this.up) this.status[i] = 'healthy';
    } else {
      this.ok[i] = 0;
      this.fail[i]! += 1;
      if (this.fail[i]! >= this.down) this.status[i] = 'unhealthy';
    }
  }
  chosen(names: string[]): string | undefined {
    const order = [...names.keys()].sort((a, b) => Number(this.tiers[a] === 'backup') - Number(this.tiers[b] === 'backup') || a - b);
    const i = order.find((k) => this.status[k] === 'healthy');
    return i === undefined ? undefined : names[i];
  }
}

const failureModes: FakeNodeMode[] = ['down', 'http-error', 'rpc-error'];

describe('node selection under any sequence of probe outcomes', () => {
  it('always picks the highest-preference node that is healthy by the hysteresis rules, and switch events describe exactly the changes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Tier>('primary', 'backup'), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.array(fc.oneof(fc.constant<FakeNodeMode>('ok'), fc.constantFrom(...failureModes)), { minLength: 4, maxLength: 4 }), {
          minLength: 1,
          maxLength: 25,
        }),
        async (tiers, failuresToDown, successesToUp, rounds) => {
          const names = tiers.map((_, i) => `n${i}`);
          const cluster = fakeCluster(names.map((name, i) => ({ name, tier: tiers[i]! })));
          const checker = new HealthChecker(cluster.pool, { failuresToDown, successesToUp });
          const model = new Model(tiers, failuresToDown, successesToUp);
          const expectedChoices: Array<string | undefined> = [undefined];
          for (const modes of rounds) {
            names.forEach((name, i) => cluster.nodes[name]!.setMode(modes[i]!));
            await checker.checkNow();
            names.forEach((_, i) => model.observe(i, modes[i] === 'ok'));
            expect(cluster.pool.preferred()).toBe(model.chosen(names));
            expectedChoices.push(model.chosen(names));
          }
          // Within a round the pool may pass through intermediate choices as each probe lands;
          // the events must chain exactly: each `from` is the previous `to`, none is a no-op.
          let current: string | undefined;
          for (const event of cluster.switches) {
            expect(event.from).toBe(current);
            expect(event.to).not.toBe(event.from);
            current = event.to;
          }
          expect(current).toBe(expectedChoices.at(-1));
          checker.close();
          cluster.pool.close();
          expect(cluster.clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { ReplayFilter, SteadyRpcError } from '../../src/index.js';
import { FakeClock } from '../../src/testing/index.js';

const noop = () => {};

// Found in review: a handler that threw stopped the loop that failed the requests due (or those of
// a socket gone), and the deadline loop set no timer for the rest: they stayed owned for ever.
describe('ReplayFilter with a failure handler that throws', () => {
  it('still fails the other requests with the same timeout (each request is failed exactly once)', async () => {
    const clock = new FakeClock();
    const filter = new ReplayFilter({ clock });
    const owner = {};
    const failed: number[] = [];
    filter.own(1, 'keepalive', owner, 1_000, {
      onAnswer: noop,
      onFail: () => {
        failed.push(1);
        throw new Error('a listener of the first failure threw');
      },
    });
    await clock.advance(500);
    filter.own(2, 'keepalive', owner, 1_000, { onAnswer: noop, onFail: () => failed.push(2) });
    // Request 1 times out at 1000 and its handler throws (out of the timer callback).
    await clock.advance(500).catch(() => {});
    expect(failed).toEqual([1]);
    // Request 2 is due at 1500; nothing else happens to the filter.
    await clock.advance(10_000);
    expect(failed).toEqual([1, 2]);
    expect(filter.size).toBe(0);
  });

  it('failOwner still fails every request of the owner when one handler throws', () => {
    const clock = new FakeClock();
    const filter = new ReplayFilter({ clock });
    const owner = {};
    const failed: string[] = [];
    filter.own(1, 'replay', owner, 5_000, { onAnswer: noop, onFail: () => { failed.push('r1'); throw new Error('boom'); } });
    filter.own(2, 'replay', owner, 5_000, { onAnswer: noop, onFail: (e) => failed.push(`r2 ${e.code}`) });
    expect(() => filter.failOwner(owner, new SteadyRpcError('ERR_TRANSPORT', 'socket gone'))).toThrow('boom');
    expect(failed).toEqual(['r1', 'r2 ERR_TRANSPORT']);
  });
});

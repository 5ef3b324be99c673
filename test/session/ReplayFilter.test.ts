import { describe, expect, it } from 'vitest';
import { SteadyRpcError } from '../../src/index.js';
import { ReplayFilter } from '../../src/session/ReplayFilter.js';
import { FakeClock } from '../../src/testing/index.js';

function world() {
  const clock = new FakeClock();
  const filter = new ReplayFilter({ clock });
  const log: string[] = [];
  const handlers = (name: string) => ({
    onAnswer: () => log.push(`${name} answered`),
    onFail: (error: SteadyRpcError) => log.push(`${name} failed at ${clock.now()}: ${error.code}`),
  });
  return { clock, filter, log, handlers };
}

const answer = (id: number) => ({ jsonrpc: '2.0' as const, id, result: '0x1' });

describe('ReplayFilter', () => {
  it('a failure handler that clears the filter (its session closed) ends the failing there: no throw, nobody else called', async () => {
    const { clock, filter, log, handlers } = world();
    const owner = {};
    for (const id of [1, 2]) filter.own(id, 'replay', owner, 5_000, { ...handlers(`r${id}`), onFail: () => (log.push(`r${id} failed`), filter.clear()) });
    expect(() => filter.failOwner(owner, new SteadyRpcError('ERR_ABORTED', 'gone'))).not.toThrow();
    expect(log).toEqual(['r1 failed']);
    for (const id of [3, 4]) filter.own(id, 'keepalive', owner, 4_000, { ...handlers(`k${id}`), onFail: () => (log.push(`k${id} failed`), filter.clear()) });
    await expect(clock.advance(4_000)).resolves.not.toThrow();
    expect(log).toEqual(['r1 failed', 'k3 failed']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('swallows the answers it owns, once, and nothing else', () => {
    const { filter, log, handlers } = world();
    const owner = {};
    filter.own(1, 'replay', owner, 5_000, handlers('r1'));
    expect(filter.settle(2, answer(2))).toBe(false);
    expect(filter.settle(1, answer(1))).toBe(true);
    expect(filter.settle(1, answer(1))).toBe(false);
    expect(log).toEqual(['r1 answered']);
    expect(filter.swallowed).toBe(1);
  });

  it('fails each request at its own deadline, with one timer per distinct timeout', async () => {
    const { clock, filter, log, handlers } = world();
    const owner = {};
    filter.own(1, 'replay', owner, 5_000, handlers('r1'));
    await clock.advance(1_000);
    filter.own(2, 'replay', owner, 5_000, handlers('r2'));
    filter.own(3, 'keepalive', owner, 4_000, handlers('k3'));
    filter.own(4, 'keepalive', owner, 4_000, handlers('k4'));
    expect(clock.pendingTimers).toBe(2);
    await clock.advance(3_999);
    expect(log).toEqual([]);
    await clock.advance(1);
    expect(log).toEqual(['r1 failed at 5000: ERR_TIMEOUT', 'k3 failed at 5000: ERR_TIMEOUT', 'k4 failed at 5000: ERR_TIMEOUT']);
    await clock.advance(1_000);
    expect(log.at(-1)).toBe('r2 failed at 6000: ERR_TIMEOUT');
    expect(filter.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('drops the timer of a timeout once nothing waits on it', async () => {
    const { clock, filter, handlers } = world();
    filter.own(1, 'keepalive', {}, 4_000, handlers('k1'));
    filter.settle(1, answer(1));
    expect(clock.pendingTimers).toBe(0);
  });

  it('a failure handler that sends again gets its full timeout, and leaves exactly one timer behind', async () => {
    const { clock, filter, log, handlers } = world();
    const owner = {};
    filter.own(1, 'replay', owner, 5_000, {
      onAnswer: () => {},
      onFail: () => {
        log.push(`r1 failed at ${clock.now()}`);
        filter.own(3, 'replay', owner, 5_000, handlers('r3'));
      },
    });
    await clock.advance(1_000);
    filter.own(2, 'replay', owner, 5_000, handlers('r2'));
    await clock.advance(4_000);
    expect(log).toEqual(['r1 failed at 5000']);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1_000);
    expect(log.at(-1)).toBe('r2 failed at 6000: ERR_TIMEOUT');
    await clock.advance(4_000);
    expect(log.at(-1)).toBe('r3 failed at 10000: ERR_TIMEOUT');
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails the requests of a socket that went away, and clear() forgets everything with its timers', () => {
    const { clock, filter, log, handlers } = world();
    const a = {};
    const b = {};
    filter.own(1, 'replay', a, 5_000, handlers('a1'));
    filter.own(2, 'replay', b, 5_000, handlers('b2'));
    filter.own(3, 'backfill', a, 3_000, handlers('a3'));
    filter.failOwner(a, { code: 'ERR_ABORTED' } as SteadyRpcError);
    expect(log).toEqual(['a1 failed at 0: ERR_ABORTED', 'a3 failed at 0: ERR_ABORTED']);
    expect(clock.pendingTimers).toBe(1);
    filter.clear();
    expect(filter.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

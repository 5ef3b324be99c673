import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/index.js';
import { MessageQueue, ReplayFilter, systemClock } from '../src/index.js';

// Found in review: a delay past 2^31 - 1 ms (about 24.8 days; the options accept any finite wait)
// runs at once on the platforms' timers (Node: after 1 ms). A MessageQueue or ReplayFilter deadline
// that long was set again every millisecond. The real clock now keeps such a timer in steps. Under
// vitest's fake timers, which treat a delay over 2^31 - 1 ms as Node does.

/** systemClock, counting the timers it is asked for. */
function countingSystemClock() {
  const counter = { timers: 0 };
  const clock: Clock = {
    now: () => systemClock.now(),
    setTimeout: (callback, ms) => {
      counter.timers += 1;
      return systemClock.setTimeout(callback, ms);
    },
    clearTimeout: (handle) => systemClock.clearTimeout(handle),
  };
  return { clock, counter };
}

const DAY = 24 * 3600 * 1000;

afterEach(() => {
  vi.useRealTimers();
});

describe('a wait longer than the platforms\' timers keep, on the real clock', () => {
  it('MessageQueue with maxWaitMs 30 days keeps one timer, and expires its message when due', () => {
    vi.useFakeTimers();
    const { clock, counter } = countingSystemClock();
    const expired: unknown[] = [];
    const queue = new MessageQueue<string>({ clock, maxWaitMs: 30 * DAY }, (items) => expired.push(...items));
    expect(queue.push('a', 1)).toBe(true);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
    expect(counter.timers).toBe(1);
    vi.advanceTimersByTime(30 * DAY - 200);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(expired).toHaveLength(1);
    queue.close();
  });

  it('ReplayFilter with timeoutMs 30 days keeps one timer; clearing it clears the step in progress', () => {
    vi.useFakeTimers();
    const { clock, counter } = countingSystemClock();
    const filter = new ReplayFilter({ clock });
    filter.own(1, 'backfill', {}, 30 * DAY, { onAnswer: () => {}, onFail: () => {} });
    vi.advanceTimersByTime(26 * DAY);
    expect(filter.size).toBe(1);
    expect(counter.timers).toBe(1);
    filter.clear();
    expect(vi.getTimerCount()).toBe(0);
  });
});

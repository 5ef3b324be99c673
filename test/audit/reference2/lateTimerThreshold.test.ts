import { describe, expect, it } from 'vitest';
import { ReplayFilter } from '../../../src/index.js';
import { FakeClock } from '../../../src/testing/index.js';
import { FreezableClock } from '../../helpers/freezableClock.js';

// docs/reference.md, ReplayFilter (and the Environment section): "A deadline timer that runs more
// than 1 s late (throttled or frozen page, sleep) gives what it would fail one more deadline of its
// own length, once." The threshold at its boundary: 1 000 ms late is not more than 1 s.

async function lateBy(lateMs: number) {
  const fake = new FakeClock();
  const clock = new FreezableClock(fake);
  const filter = new ReplayFilter({ clock });
  const failedAt: number[] = [];
  filter.own(1, 'keepalive', {}, 1_000, { onAnswer: () => {}, onFail: () => failedAt.push(fake.now()) });
  clock.freeze();
  await fake.advance(1_000 + lateMs); // the deadline timer is held past its time
  clock.thaw(); // ... and runs now, lateMs late
  return { fake, filter, failedAt };
}

describe('ReplayFilter: the late-timer grace starts past 1 s late', () => {
  it('a timer exactly 1 000 ms late fails its request at once', async () => {
    const { failedAt, filter } = await lateBy(1_000);
    expect(failedAt).toEqual([2_000]);
    expect(filter.size).toBe(0);
  });

  it('a timer 1 001 ms late gives one more deadline of 1 000 ms, then fails', async () => {
    const { fake, failedAt, filter } = await lateBy(1_001);
    expect(failedAt).toEqual([]);
    expect(filter.size).toBe(1);
    await fake.advance(999);
    expect(failedAt).toEqual([]);
    await fake.advance(1);
    expect(failedAt).toEqual([3_001]);
    expect(fake.pendingTimers).toBe(0);
  });
});

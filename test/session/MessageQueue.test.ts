import { describe, expect, it, vi } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import { MessageQueue } from '../../src/session/MessageQueue.js';
import { FakeClock } from '../../src/testing/FakeClock.js';

function setup(options: { maxCount?: number; maxBytes?: number; maxWaitMs?: number } = {}) {
  const clock = new FakeClock(1_000);
  const expired: string[][] = [];
  const queue = new MessageQueue<string>({ ...options, clock }, (items) => expired.push(items));
  return { clock, queue, expired };
}

describe('MessageQueue order', () => {
  it('drain returns every item in the order pushed and empties the queue', () => {
    const { queue } = setup();
    for (const v of ['a', 'b', 'c']) expect(queue.push(v, 10)).toBe(true);
    expect(queue.length).toBe(3);
    expect(queue.bytes).toBe(30);
    expect(queue.drain()).toEqual(['a', 'b', 'c']);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.drain()).toEqual([]);
  });

  it('unshift puts items back at the front in the given order', () => {
    const { queue } = setup();
    queue.push('c', 1);
    queue.push('d', 1);
    queue.unshift([
      { value: 'a', bytes: 2 },
      { value: 'b', bytes: 3 },
    ]);
    expect(queue.length).toBe(4);
    expect(queue.bytes).toBe(7);
    expect(queue.drain()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('MessageQueue bounds', () => {
  it('a full queue (by count) refuses the overflowing item and keeps the others', () => {
    const { queue } = setup({ maxCount: 2 });
    expect(queue.push('a', 1)).toBe(true);
    expect(queue.push('b', 1)).toBe(true);
    expect(queue.push('c', 1)).toBe(false);
    expect(queue.drain()).toEqual(['a', 'b']);
  });

  it('a full queue (by bytes) refuses the item that would exceed maxBytes, and takes one that fits', () => {
    const { queue } = setup({ maxBytes: 100 });
    expect(queue.push('a', 60)).toBe(true);
    expect(queue.push('b', 41)).toBe(false);
    expect(queue.push('c', 40)).toBe(true);
    expect(queue.bytes).toBe(100);
    expect(queue.push('d', 0)).toBe(true);
    expect(queue.drain()).toEqual(['a', 'c', 'd']);
  });

  it('an item larger than maxBytes is refused even by an empty queue', () => {
    const { queue, clock } = setup({ maxBytes: 10 });
    expect(queue.push('big', 11)).toBe(false);
    expect(queue.length).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('room freed by drain can be used again', () => {
    const { queue } = setup({ maxCount: 1 });
    queue.push('a', 1);
    expect(queue.push('b', 1)).toBe(false);
    queue.drain();
    expect(queue.push('b', 1)).toBe(true);
  });

  it('unshift ignores the bounds, and push refuses until there is room again', () => {
    const { queue } = setup({ maxCount: 2, maxBytes: 10 });
    queue.push('c', 5);
    queue.unshift([
      { value: 'a', bytes: 5 },
      { value: 'b', bytes: 5 },
    ]);
    expect(queue.length).toBe(3);
    expect(queue.bytes).toBe(15);
    expect(queue.push('d', 0)).toBe(false);
    expect(queue.drain()).toEqual(['a', 'b', 'c']);
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('rejects a size of %s bytes with a RangeError', (bytes) => {
    const { queue } = setup();
    expect(() => queue.push('a', bytes)).toThrow(RangeError);
    expect(() => queue.unshift([{ value: 'a', bytes }])).toThrow(RangeError);
    expect(queue.length).toBe(0);
  });
});

describe('MessageQueue expiry', () => {
  it('an item that waits maxWaitMs is expired and handed to onExpire', async () => {
    const { queue, clock, expired } = setup({ maxWaitMs: 500 });
    queue.push('a', 3);
    await clock.advance(499);
    expect(expired).toEqual([]);
    await clock.advance(1);
    expect(expired).toEqual([['a']]);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('expires only the items past their deadline, in order, then re-arms for the next oldest', async () => {
    const { queue, clock, expired } = setup({ maxWaitMs: 1_000 });
    queue.push('a', 1);
    queue.push('b', 1);
    await clock.advance(300);
    queue.push('c', 1);
    await clock.advance(200);
    queue.push('d', 1);
    expect(clock.pendingTimers).toBe(1);

    await clock.advance(500); // t = 1000: a and b are due
    expect(expired).toEqual([['a', 'b']]);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(1_000 + 1_300);

    await clock.advance(300); // c is due
    expect(expired).toEqual([['a', 'b'], ['c']]);
    await clock.advance(200); // d is due
    expect(expired).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an unshifted item gets a fresh deadline, so items behind it expire first', async () => {
    const { queue, clock, expired } = setup({ maxWaitMs: 1_000 });
    queue.push('old', 1);
    await clock.advance(600);
    queue.unshift([{ value: 'resent', bytes: 1 }]);
    await clock.advance(400);
    expect(expired).toEqual([['old']]);
    expect(queue.drain()).toEqual(['resent']);
  });

  it('unshift into an empty queue arms the expiry timer', async () => {
    const { queue, clock, expired } = setup({ maxWaitMs: 100 });
    queue.unshift([{ value: 'a', bytes: 1 }]);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(100);
    expect(expired).toEqual([['a']]);
  });

  it('an expired item frees its room', async () => {
    const { queue, clock } = setup({ maxCount: 1, maxWaitMs: 100 });
    queue.push('a', 1);
    await clock.advance(100);
    expect(queue.push('b', 1)).toBe(true);
  });

  it('onExpire sees a consistent queue and may use it', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const queue: MessageQueue<string> = new MessageQueue<string>({ clock, maxWaitMs: 100 }, (items) => {
      seen.push(queue.length, queue.bytes, items.length);
      queue.push('retry', 1);
    });
    queue.push('a', 5);
    await clock.advance(50);
    queue.push('b', 7);
    await clock.advance(50);
    expect(seen).toEqual([1, 7, 1]);
    expect(queue.drain()).toEqual(['b', 'retry']);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('MessageQueue timers', () => {
  it('there is no timer while the queue is empty, and one timer however many items are queued', () => {
    const { queue, clock } = setup();
    expect(clock.pendingTimers).toBe(0);
    for (let i = 0; i < 10; i++) queue.push(String(i), 1);
    expect(clock.pendingTimers).toBe(1);
  });

  it('drain clears the timer', () => {
    const { queue, clock } = setup();
    queue.push('a', 1);
    queue.drain();
    expect(clock.pendingTimers).toBe(0);
  });

  it('clear takes every item out like drain and clears the timer', () => {
    const { queue, clock } = setup();
    queue.push('a', 1);
    queue.push('b', 1);
    expect(queue.clear()).toEqual(['a', 'b']);
    expect(queue.length).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close clears the timer, keeps items for the caller to answer, and is idempotent', async () => {
    const { queue, clock, expired } = setup({ maxWaitMs: 100 });
    queue.push('a', 1);
    queue.close();
    queue.close();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1_000);
    expect(expired).toEqual([]);
    expect(queue.clear()).toEqual(['a']);
  });

  it('push and unshift after close throw ERR_CLOSED', () => {
    const { queue, clock } = setup();
    queue.close();
    for (const call of [() => queue.push('a', 1), () => queue.unshift([{ value: 'a', bytes: 1 }])]) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isSteadyRpcError(error, 'ERR_CLOSED')).toBe(true);
    }
    expect(queue.length).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('MessageQueue options', () => {
  const clock = new FakeClock();
  it.each([
    [{ maxCount: 0 }, 'Expected maxCount to be an integer >= 1, got 0'],
    [{ maxCount: 1.5 }, 'Expected maxCount to be an integer >= 1, got 1.5'],
    [{ maxBytes: 0 }, 'Expected maxBytes to be a finite number > 0, got 0'],
    [{ maxBytes: Infinity }, 'Expected maxBytes to be a finite number > 0, got Infinity'],
    [{ maxWaitMs: -1 }, 'Expected maxWaitMs to be a finite number > 0, got -1'],
    [{ maxWaitMs: Number.NaN }, 'Expected maxWaitMs to be a finite number > 0, got NaN'],
  ])('rejects %o with a precise ERR_CONFIG message', (options, message) => {
    let error: unknown;
    try {
      new MessageQueue({ ...options, clock }, () => {});
    } catch (e) {
      error = e;
    }
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as Error).message).toBe(message);
  });

  it('requires a clock', () => {
    expect(() => new MessageQueue({} as never, () => {})).toThrow('Expected clock to be a Clock');
  });

  it('defaults to 1 000 items, 4 MiB and 10 s', async () => {
    const local = new FakeClock();
    const onExpire = vi.fn();
    const queue = new MessageQueue<number>({ clock: local }, onExpire);
    for (let i = 0; i < 1_000; i++) expect(queue.push(i, 1)).toBe(true);
    expect(queue.push(1_000, 1)).toBe(false);
    queue.drain();
    expect(queue.push(0, 4 * 1024 * 1024)).toBe(true);
    expect(queue.push(1, 1)).toBe(false);
    await local.advance(9_999);
    expect(onExpire).not.toHaveBeenCalled();
    await local.advance(1);
    expect(onExpire).toHaveBeenCalledExactlyOnceWith([0]);
  });
});

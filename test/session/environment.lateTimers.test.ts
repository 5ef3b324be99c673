import { describe, expect, it } from 'vitest';
import { ReplayFilter } from '../../src/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { FreezableClock } from '../helpers/freezableClock.js';
import { sessionHarness } from '../helpers/session.js';

async function frozenPage() {
  let clock!: FreezableClock;
  const h = await sessionHarness({ wrapClock: (fake) => (clock = new FreezableClock(fake)), keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
  const switches: string[] = []; // after the first, to a
  h.session.on('switch', ({ to }) => switches.push(to));
  const socket = h.sockets.last()!;
  h.nodes.a!.blackhole(); // answers are on their way, not delivered yet
  await h.clock.advance(2_000);
  const keepalive = (socket.sentJson() as Array<{ id: number; method: string }>).find((f) => f.method === 'eth_chainId')!;
  expect(keepalive).toBeDefined();
  return { h, clock, socket, keepalive, switches };
}

describe('background tabs: a keepalive deadline that fires late does not tear down a healthy socket', () => {
  it('a page frozen for minutes keeps its socket when the answer was waiting behind the late timer', async () => {
    const { h, clock, socket, keepalive, switches } = await frozenPage();
    clock.freeze();
    await h.clock.advance(5 * 60_000);
    clock.thaw(); // the overdue deadline runs first: 296 s late
    socket.receiveJson({ jsonrpc: '2.0', id: keepalive.id, result: '0x1' }); // then the answer
    h.nodes.a!.restore();
    await h.clock.advance(10_000);
    expect(h.session.node).toBe('a');
    expect(switches).toEqual([]);
    expect(socket.state).toBe('open');
    expect(h.received).toEqual([]); // the keepalive answer is the session's own
  });

  it('a socket that really died while the page was frozen is left one keepalive deadline after the page resumes', async () => {
    const { h, clock, socket, switches } = await frozenPage();
    clock.freeze();
    await h.clock.advance(5 * 60_000);
    clock.thaw();
    await h.clock.advance(3_999);
    expect(h.session.node).toBe('a');
    await h.clock.advance(1);
    expect(h.session.node).toBe('b');
    expect(switches).toEqual(['b']);
    expect(socket.terminated).toBe(true);
  });

  it('the extra deadline is given once: a deadline late again fails the socket', async () => {
    const { h, clock, switches } = await frozenPage();
    clock.freeze();
    await h.clock.advance(60_000);
    clock.thaw(); // late: one more deadline
    clock.freeze();
    await h.clock.advance(60_000);
    clock.thaw(); // late again: given up on
    await h.settle();
    expect(switches).toEqual(['b']);
  });

  it('a timer on time fails as before: the deadline is not stretched on a healthy event loop', async () => {
    const { h, switches } = await frozenPage();
    await h.clock.advance(3_999);
    expect(switches).toEqual([]);
    await h.clock.advance(1);
    expect(switches).toEqual(['b']);
  });
});

describe('ReplayFilter deadlines that run late', () => {
  it('give each request they would fail one more deadline of its own length, in order, then fail it', async () => {
    const fake = new FakeClock();
    const clock = new FreezableClock(fake);
    const filter = new ReplayFilter({ clock });
    const failed: Array<[number, number]> = [];
    const owner = {};
    for (const [id, at] of [[1, 0], [2, 500]] as const) {
      await fake.advance(at - fake.now());
      filter.own(id, 'replay', owner, 1_000, { onAnswer: () => {}, onFail: () => failed.push([id, fake.now()]) });
    }
    clock.freeze();
    await fake.advance(10_000); // both deadlines pass while frozen
    clock.thaw();
    expect(failed).toEqual([]);
    await fake.advance(999);
    expect(failed).toEqual([]);
    await fake.advance(1);
    expect(failed).toEqual([[1, 11_500], [2, 11_500]]);
    expect(fake.pendingTimers).toBe(0);
  });

  it('a late timer that finds a request not yet due waits for it as usual', async () => {
    const fake = new FakeClock();
    const clock = new FreezableClock(fake);
    const filter = new ReplayFilter({ clock });
    const failed: number[] = [];
    filter.own(1, 'keepalive', {}, 1_000, { onAnswer: () => {}, onFail: () => failed.push(1) });
    clock.freeze();
    await fake.advance(3_000);
    filter.own(2, 'keepalive', {}, 1_000, { onAnswer: () => {}, onFail: () => failed.push(2) });
    clock.thaw();
    expect(filter.settle(1, { jsonrpc: '2.0', id: 1, result: '0x1' })).toBe(true); // its answer was waiting
    await fake.advance(1_000);
    expect(failed).toEqual([2]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, SharedSocketTransport, UpstreamSession } from '../../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../../src/testing/index.js';

/**
 * Sessions on one SharedSocketTransport, over nodes whose `eth_call` answers are too large for the
 * socket, under any interleaving of small and oversized calls, latency, cuts and time. An oversized
 * answer closes the real socket under every session's calls in flight; the sessions send those
 * calls again, and the transport puts them on sockets of their own (IsolationLane). The property: every call is answered exactly
 * once; no call but an oversized one is ever answered FRAME_TOO_LARGE (no session's call fails for
 * another's answer, nor for one of its own session's); an oversized call never gets a result, and is
 * never written to a node again once its client has its answer; and nothing is left open once the
 * sessions are closed.
 *
 * `PROPS_RUNS` (as for the other property tests) sets the number of runs; `PROPS_SEED` replays one.
 */
const RUNS = Number(process.env.PROPS_RUNS ?? 300);
const SEED = process.env.PROPS_SEED === undefined ? undefined : Number(process.env.PROPS_SEED);
const NODES = ['a', 'b'] as const;
type Name = (typeof NODES)[number];

type Command =
  | { kind: 'call'; session: number; big: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'latency'; node: Name; ms: number }
  | { kind: 'cut'; node: Name }
  | { kind: 'restore'; node: Name };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('call' as const), session: fc.nat(2), big: fc.constantFrom(false, false, true) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('latency' as const), node: fc.constantFrom(...NODES), ms: fc.constantFrom(0, 5, 50, 400) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), node: fc.constantFrom(...NODES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restore' as const), node: fc.constantFrom(...NODES) }) },
);

/** The call numbered `seq`: its params name it, so each request's text is its own. */
const callOf = (seq: number, big: boolean) =>
  big
    ? { jsonrpc: '2.0', id: seq, method: 'eth_call', params: [{ to: `0x${seq.toString(16).padStart(40, '0')}` }, 'latest'] }
    : { jsonrpc: '2.0', id: seq, method: 'eth_getBalance', params: [`0x${seq.toString(16).padStart(40, '0')}`, 'latest'] };

async function runScenario(commands: Command[]) {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const latency: Record<Name, number> = { a: 0, b: 0 };
  /** What happened to the oversized calls, in order: each write of one to a node, each answer to one. */
  const events: Array<{ kind: 'sent' | 'answered'; seq: number }> = [];
  const nodes = Object.fromEntries(NODES.map((name) => [name, new FakeNode({ name, head: 100 })])) as Record<Name, FakeNode>;
  for (const name of NODES) {
    nodes[name].oversized.add('eth_call');
    // Every request reaches the node after its latency at the time it was sent.
    fake.route(`ws://${name}.test/`, (socket) => {
      const set = socket.onSend.bind(socket);
      socket.onSend = (handler) =>
        set(
          handler &&
            ((text, s) => {
              const big = /^\{"jsonrpc":"2\.0","id":\d+,"method":"eth_call","params":\[\{"to":"(0x[0-9a-f]{40})"/.exec(text);
              if (big) events.push({ kind: 'sent', seq: Number(big[1]) });
              const ms = latency[name];
              if (ms === 0) return handler(text, s);
              clock.setTimeout(() => handler(text, s), ms);
              return undefined;
            }),
        );
      nodes[name].socket(socket);
    });
  }
  const pool = new NodePool({
    nodes: [
      { name: 'a', tier: 'primary', ws: 'ws://a.test/' },
      { name: 'b', tier: 'backup', ws: 'ws://b.test/' },
    ],
    clock,
    httpTransport: new FakeHttpTransport(),
  });
  for (const name of NODES) pool.update(name, { status: 'healthy', head: 100 });
  const transport = new SharedSocketTransport({ transport: fake, clock });
  const calls = new Map<number, { session: number; big: boolean }>();
  const sessions = [0, 1, 2].map((i) => {
    const session = new UpstreamSession({ pool, transport, clock, random: () => (i + 1) / 4 });
    const received: Array<{ id?: number; result?: unknown; error?: { code: number; message: string } }> = [];
    session.on('message', (text) => {
      const message = JSON.parse(text) as (typeof received)[number];
      received.push(message);
      if (typeof message.id === 'number' && calls.get(message.id)?.big) events.push({ kind: 'answered', seq: message.id });
    });
    session.on('error', () => {});
    return { session, received };
  });
  await clock.flush();
  for (const c of commands) {
    if (c.kind === 'call') {
      const seq = calls.size + 1;
      calls.set(seq, { session: c.session, big: c.big });
      sessions[c.session]!.session.send(JSON.stringify(callOf(seq, c.big)));
    } else if (c.kind === 'advance') await clock.advance(c.ms);
    else if (c.kind === 'latency') latency[c.node] = c.ms;
    else if (c.kind === 'cut') {
      nodes[c.node].cut();
      pool.update(c.node, { status: 'unhealthy' });
    } else {
      nodes[c.node].restore();
      pool.update(c.node, { status: 'healthy', head: 100 });
    }
    await clock.flush();
  }
  // Everything heals; every call has its answer well within the time left.
  for (const name of NODES) {
    latency[name] = 0;
    nodes[name].restore();
    pool.update(name, { status: 'healthy', head: 100 });
  }
  await clock.advance(120_000);
  return { clock, fake, pool, sessions, calls, events };
}

describe('SharedSocketTransport: answers too large for the socket, under any interleaving', () => {
  it(
    'answers every call once, fails only the oversized ones FRAME_TOO_LARGE, never sends one after its answer, and leaves nothing open',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
          const { clock, fake, pool, sessions, calls, events } = await runScenario(commands);
          try {
            for (const [seq, { session, big }] of calls) {
              const answers = sessions[session]!.received.filter((m) => m.id === seq);
              expect({ seq, big, answers: answers.length }).toEqual({ seq, big, answers: 1 });
              const [answer] = answers;
              if (big) expect({ seq, result: answer!.result }).toEqual({ seq, result: undefined });
              else expect({ seq, code: answer!.error?.code }).not.toEqual({ seq, code: RpcErrorCode.FRAME_TOO_LARGE });
            }
            const answered = new Set<number>();
            for (const event of events) {
              if (event.kind === 'answered') answered.add(event.seq);
              else expect({ seq: event.seq, sentAfterItsAnswer: answered.has(event.seq) }).toEqual({ seq: event.seq, sentAfterItsAnswer: false });
            }
          } finally {
            for (const { session } of sessions) session.close();
            pool.close();
          }
          await clock.advance(60_000);
          expect(fake.sockets.filter((s) => s.state !== 'closed').map((s) => s.endpoint.url)).toEqual([]);
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    },
    Math.max(60_000, RUNS * 100),
  );
});

import { NodePool, SharedSocketTransport, UpstreamSession, type SharedSocketTransportOptions, type UpstreamSessionOptions } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport, type FakeSubscriptionIds } from '../../src/testing/index.js';

export type Mode = 'shared' | 'own';

export interface Client {
  session: UpstreamSession;
  received: any[];
  texts: string[];
  send(value: unknown): void;
  answers(id: unknown): any[];
  subId(id: unknown): string;
  notes(subscription: string): any[];
}

/**
 * `count` sessions over nodes a (primary) and b (backup), either all on one SharedSocketTransport
 * (`shared`) or each on sockets of its own (`own`): the same scenario on both is the oracle.
 */
export async function world(
  mode: Mode,
  count: number,
  options: { chain?: boolean; session?: Partial<UpstreamSessionOptions>; shareSubscriptions?: boolean; livenessWindowMs?: number; subscriptionIds?: FakeSubscriptionIds } = {},
) {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const chain = options.chain ? new FakeChain({ genesis: 90 }) : undefined;
  const nodes = {
    a: new FakeNode({ name: 'a', head: chain ? 90 : 100, chain, subscriptionIds: options.subscriptionIds }),
    b: new FakeNode({ name: 'b', head: chain ? 90 : 100, chain, subscriptionIds: options.subscriptionIds }),
  };
  for (const [name, node] of Object.entries(nodes)) fake.route(`ws://${name}.test/`, node.socket);
  const pool = new NodePool({
    nodes: [
      { name: 'a', tier: 'primary', ws: 'ws://a.test/' },
      { name: 'b', tier: 'backup', ws: 'ws://b.test/' },
    ],
    clock,
    httpTransport: new FakeHttpTransport(),
  });
  for (const name of ['a', 'b']) pool.update(name, { status: 'healthy', head: nodes.a.head });
  const shared = mode === 'shared' ? new SharedSocketTransport({ transport: fake, clock, random: () => 0.25, shareSubscriptions: options.shareSubscriptions, livenessWindowMs: options.livenessWindowMs } satisfies SharedSocketTransportOptions) : undefined;
  const clients: Client[] = [];
  const addClient = (): Client => {
    // A varying (but per client deterministic) random: with a constant one, a session that must
    // draw a fresh subscription id twice loops forever (UpstreamFrames.#freshSubscriptionId).
    let state = 0x9e3779b9 ^ (clients.length + 1);
    const random = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const session = new UpstreamSession({ pool, transport: shared ?? fake, clock, random, ...options.session });
    const received: any[] = [];
    const texts: string[] = [];
    session.on('message', (text) => {
      texts.push(text);
      received.push(JSON.parse(text));
    });
    const client: Client = {
      session,
      received,
      texts,
      send: (value) => session.send(typeof value === 'string' ? value : JSON.stringify(value)),
      answers: (id) => received.filter((m) => !Array.isArray(m) && m.id === id),
      subId: (id) => received.find((m) => !Array.isArray(m) && m.id === id)?.result,
      notes: (subscription) => received.filter((m) => m.method === 'eth_subscription' && m.params.subscription === subscription).map((m) => m.params.result),
    };
    clients.push(client);
    return client;
  };
  for (let i = 0; i < count; i++) addClient();
  await clock.flush();
  return { mode, clock, fake, chain, nodes, pool, shared, clients, addClient, settle: () => clock.flush() };
}

export type World = Awaited<ReturnType<typeof world>>;

/** Normalizes subscribe answers too: `subscribeIds` are the client ids of eth_subscribe calls. */
export function normalizedWithSubs(received: any[], subscribeIds: unknown[]): any[] {
  const names = new Map<string, string>();
  const name = (id: string) => {
    if (!names.has(id)) names.set(id, `S${names.size + 1}`);
    return names.get(id)!;
  };
  const one = (m: any): any => {
    if (m?.method === 'eth_subscription') return { ...m, params: { ...m.params, subscription: name(m.params.subscription) } };
    if (m && 'id' in m && subscribeIds.includes(m.id) && typeof m.result === 'string') return { ...m, result: name(m.result) };
    return m;
  };
  return received.map((m) => (Array.isArray(m) ? m.map(one) : one(m)));
}

export const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });

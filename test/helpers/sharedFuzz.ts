import { appendFileSync } from 'node:fs';
import { seededRandom } from './sessionWorld.js';
import { rpc, world, type Client, type Mode } from './sharedWorld.js';

const PARAMS: unknown[][] = [['newHeads'], ['logs', {}], ['logs', { address: '0x0000000000000000000000000000000000000001' }], ['logs', { address: '0x0000000000000000000000000000000000000002' }]];

/** What a client saw, in terms that do not depend on the transport: answers by request id, notifications per subscribe request. */
function view(c: Client) {
  const byResult = new Map<string, string>();
  const answers: string[] = [];
  const notes: Record<string, unknown[]> = {};
  for (const m of c.received) {
    if (Array.isArray(m)) {
      for (const item of m) answers.push(JSON.stringify(item));
      for (const item of m) if (typeof item.id === 'string' && item.id.startsWith('s') && typeof item.result === 'string') byResult.set(item.result, item.id);
      continue;
    }
    if (m.method === 'eth_subscription') {
      const key = byResult.get(m.params.subscription) ?? 'unknown';
      (notes[key] ??= []).push(m.params.result);
      continue;
    }
    if (typeof m.id === 'string' && m.id.startsWith('s') && typeof m.result === 'string') {
      byResult.set(m.result, m.id);
      answers.push(JSON.stringify({ ...m, result: 'SUB' }));
    } else answers.push(JSON.stringify(m));
  }
  return { answers: answers.sort(), notes };
}

/**
 * One random scenario (40 steps from `seed`: subscribes, unsubscribes, calls and batches, blocks and
 * logs, cuts and restores, sessions closing and joining) on the shared transport or on sockets of
 * their own (`mode`), then 20 s more; the same seed makes the same steps on both as long as the
 * clients see the same. `extra`: also `reconnect()` and forks; `blackholes`: also blackholed nodes,
 * where the shared transport differs by design (see docs/reference.md), for exploring by hand.
 * Returns what each client saw, the steps (`log`) and a line per step (`trace`; with `TRACE_FILE`
 * set, each step is appended there as it starts, to find one that never ends).
 */
export async function run(mode: Mode, seed: number, extra = false, blackholes = false) {
  const random = seededRandom(seed);
  const pick = <T,>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const w = await world(mode, 3, { chain: true });
  const live = () => w.clients.filter((c) => c.session.state !== 'closed');
  let n = 0;
  const subs = new Map<Client, Array<{ req: string; id: string }>>();
  const log: string[] = [];
  const trace: string[] = [];
  const gone = new Set<string>();
  for (let step = 0; step < 40; step++) {
    if (process.env.TRACE_FILE) appendFileSync(process.env.TRACE_FILE, `${mode} step ${step} ${log.at(-1)}\n`);
    const r = random();
    const c = pick(live());
    if (r < 0.25) {
      const req = `s${n++}`;
      const params = pick(PARAMS);
      log.push(`${w.clients.indexOf(c)} sub ${req} ${JSON.stringify(params)}`);
      c.send(rpc(req, 'eth_subscribe', params));
    } else if (r < 0.35) {
      const mine = subs.get(c) ?? [];
      if (mine.length > 0) {
        const victim = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
        gone.add(victim.req);
        log.push(`${w.clients.indexOf(c)} unsub ${victim.req}`);
        c.send(rpc(`u${n++}`, 'eth_unsubscribe', [victim.id]));
      }
    } else if (r < 0.45) {
      log.push(`${w.clients.indexOf(c)} calls`);
      c.send(rpc(1, 'eth_blockNumber'));
      c.send([rpc(2, 'eth_chainId'), rpc(1, 'eth_getBalance', ['0x01', 'latest'])]);
    } else if (r < 0.7) {
      const blocks = 1 + Math.floor(random() * 2);
      log.push(`mine ${blocks}`);
      for (let i = 0; i < blocks; i++) {
        for (const node of [w.nodes.a, w.nodes.b]) if (node.mode === 'ok') node.advance(1);
        const up = [w.nodes.a, w.nodes.b].find((node) => node.mode === 'ok');
        up?.emitLog(pick(['0x0000000000000000000000000000000000000001', '0x0000000000000000000000000000000000000002']));
      }
    } else if (r < 0.77) {
      const down = pick([w.nodes.a, w.nodes.b]);
      const other = down === w.nodes.a ? w.nodes.b : w.nodes.a;
      if (other.mode === 'ok' && down.mode === 'ok') {
        log.push(`cut ${down.name}`);
        down.cut();
      }
    } else if (r < 0.84) {
      for (const node of [w.nodes.a, w.nodes.b]) {
        if (node.mode !== 'ok') {
          const other = node === w.nodes.a ? w.nodes.b : w.nodes.a;
          if (node.head < other.head) node.follow(other);
          node.restore();
          log.push(`restore ${node.name}`);
        }
      }
    } else if (r < 0.88) {
      if (live().length > 1) {
        log.push(`${w.clients.indexOf(c)} close`);
        c.session.close();
      }
    } else if (r < 0.92) {
      log.push(`new client ${w.clients.length}`);
      w.addClient();
    } else if (extra && r < 0.94) {
      log.push(`${w.clients.indexOf(c)} reconnect`);
      c.session.reconnect();
    } else if (extra && r < 0.96) {
      const node = pick([w.nodes.a, w.nodes.b]);
      if (node.mode === 'ok' && node.head - 2 >= 90) {
        log.push(`fork ${node.name}`);
        node.forkAt(1 + Math.floor(random() * 2), 3);
        node.emitLog('0x0000000000000000000000000000000000000001');
      }
    } else if (extra && blackholes && r < 0.97) {
      const node = pick([w.nodes.a, w.nodes.b]);
      const other = node === w.nodes.a ? w.nodes.b : w.nodes.a;
      if (node.mode === 'ok' && other.mode === 'ok') {
        log.push(`blackhole ${node.name}`);
        node.blackhole();
      }
    } else {
      log.push('time 3s');
      await w.clock.advance(3_000);
    }
    // Past the transport's documented connect pacing (retryAfterMs, 250 ms): a node restored within
    // it is refused by design, which is not what this compares.
    if (process.env.TRACE_FILE) appendFileSync(process.env.TRACE_FILE, `  did ${log.at(-1)}; advancing\n`);
    await w.clock.advance(300);
    trace.push(`${log.at(-1)} | nodes ${w.clients.map((x) => x.session.node ?? '-').join(',')} | a:${w.nodes.a.mode}/${w.nodes.a.head} b:${w.nodes.b.mode}/${w.nodes.b.head} | ${w.clients.map((x) => x.received.filter((m: any) => m.method).map((m: any) => `${m.params.subscription.slice(-3)}@${Number(m.params.result.blockNumber ?? m.params.result.number)}${m.params.result.removed ? 'R' : ''}`).join(' ')).join(' || ')}`);
    for (const cl of w.clients) {
      for (const m of cl.received) {
        if (!Array.isArray(m) && typeof m.id === 'string' && m.id.startsWith('s') && typeof m.result === 'string') {
          const list = subs.get(cl) ?? [];
          if (!list.some((s) => s.req === m.id) && !gone.has(m.id)) list.push({ req: m.id, id: m.result });
          subs.set(cl, list);
        }
      }
    }
  }
  await w.clock.advance(20_000);
  return { views: w.clients.map(view), log, trace };
}


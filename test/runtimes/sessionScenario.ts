/**
 * The session scenario itself, runtime-neutral (no `node:` import, no `ws`): a NodePool of two
 * nodes with a fast HealthChecker and one UpstreamSession, used only through the public entry. It
 * subscribes to newHeads and calls `eth_getBalance` every {@link CALL_EVERY_MS} while the parent
 * cuts the preferred node and restores it, and records every head, call and switch for the
 * parent's assertions: the subscription keeps its id and heads keep coming, every call is answered,
 * and the session fails back.
 */
import type * as Steadyrpc from '../../src/index.js';
import type { CallRecord, ChildLine, HeadRecord, ParentCommand, Phase, ScenarioConfig, ScenarioReport, SwitchRecord } from './protocol.js';

type Lib = typeof Steadyrpc;

export const CALL_EVERY_MS = 200;
const CALL_TIMEOUT_MS = 15_000;
/** Heads the client must see in each of the cut and after-failback phases. */
const HEADS_PER_PHASE = 2;
/** Lines kept in the report's log. */
const LOG_LIMIT = 300;

export interface ScenarioIo {
  /** Prints one line for the parent. */
  say(line: ChildLine): void;
  /** Resolves with the parent's next command. */
  next(): Promise<ParentCommand>;
  /** Errors the runtime reported outside the scenario (uncaught, unhandled rejections). */
  uncaught: string[];
  runtime: ScenarioReport['runtime'];
  webSocket: () => ScenarioReport['webSocket'];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the scenario to its end (or its deadline) and returns the report; never throws. */
export async function runSessionScenario(lib: Lib, config: ScenarioConfig, io: ScenarioIo): Promise<ScenarioReport> {
  const start = Date.now();
  const clock = () => Date.now() - start;
  const [preferred, backup] = config.nodes;
  const report: ScenarioReport = {
    type: 'report',
    ok: false,
    runtime: io.runtime,
    webSocket: io.webSocket(),
    transport: config.transport,
    defaultTransport: platformDefault(lib),
    subscription: undefined,
    unsubscribed: undefined,
    heads: [],
    calls: [],
    switches: [],
    timings: {},
    finalNode: undefined,
    log: [],
    uncaught: io.uncaught,
  };
  const heads: HeadRecord[] = report.heads;
  const calls: CallRecord[] = report.calls;
  const switches: SwitchRecord[] = report.switches;
  let phase: Phase = 'before';

  /** Polls until `probe` holds, failing at the scenario's deadline. */
  const until = async (what: string, probe: () => boolean): Promise<void> => {
    while (!probe()) {
      if (clock() > config.deadlineMs) throw new Error(`timed out in phase '${phase}' waiting for ${what}`);
      await sleep(20);
    }
  };

  const pool = new lib.NodePool({ nodes: config.nodes.map(({ name, http, ws }) => ({ name, http, ws })) });
  const health = new lib.HealthChecker(pool, { intervalMs: 250, timeoutMs: 500 });
  const log = (what: string) => {
    if (report.log.length < LOG_LIMIT) report.log.push(`${clock()} ${what}`);
  };
  const lastProbe = new Map<string, string>();
  pool.on('switch', ({ from, to, reason }) => log(`pool switch ${from ?? '-'} -> ${to ?? '-'} (${reason})`));
  pool.on('health', ({ name, previous, health: h }) => {
    if (h.status !== previous) log(`pool ${name} ${previous} -> ${h.status} (head ${h.head}, lag ${h.lag})`);
  });
  health.on('probe', ({ name, ok, head, error }) => {
    const outcome = ok ? 'ok' : `failed: ${error?.code} ${error?.message}`;
    if (lastProbe.get(name) !== outcome) log(`probe ${name} ${outcome}${ok ? ` (head ${head})` : ''}`);
    lastProbe.set(name, outcome);
  });
  let session: Steadyrpc.UpstreamSession | undefined;
  const pending = new Map<number, { record: CallRecord; resolve: () => void }>();
  const unanswered: Array<Promise<void>> = [];
  let nextId = 1;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const call = (method: string, params: unknown[]): Promise<CallRecord> => {
    const id = nextId++;
    const record: CallRecord = { phase, method, sentAt: clock() };
    calls.push(record);
    const answered = new Promise<void>((resolve) => pending.set(id, { record, resolve }));
    unanswered.push(answered);
    session!.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return answered.then(() => record);
  };
  const balance = () => call('eth_getBalance', [config.account, 'latest']);
  /** A balance answer from `node`, sent in phase `in`. */
  const answeredBy = (node: typeof preferred, inPhase: Phase) =>
    calls.find((c) => c.phase === inPhase && c.method === 'eth_getBalance' && typeof c.result === 'string' && BigInt(c.result).toString() === node.balance);

  try {
    health.start();
    await until(`the pool to prefer '${preferred.name}'`, () => pool.preferred() === preferred.name);
    const transport = config.transport === 'standard' ? new lib.StandardWebSocketTransport() : undefined;
    session = new lib.UpstreamSession({ pool, ...(transport ? { transport } : {}) });
    session.on('switch', ({ from, to, reason }) => {
      switches.push({ at: clock(), from, to, reason });
      log(`session switch ${from ?? '-'} -> ${to} (${reason})`);
    });
    session.on('state', ({ from, to }) => log(`session ${from} -> ${to}`));
    session.on('upstreamClose', ({ node, code, reason }) => log(`session upstream ${node} closed ${code} ${reason}`));
    session.on('reconnecting', ({ attempt, delayMs }) => log(`session reconnecting (attempt ${attempt}, in ${delayMs} ms)`));
    session.on('error', (error) => log(`session error ${error.code}: ${error.message}`));
    session.on('message', (text) => {
      const frame = JSON.parse(text) as { id?: number; method?: string; result?: unknown; error?: CallRecord['error']; params?: { subscription: string; result: { number: string } } };
      if (frame.method === 'eth_subscription' && frame.params) {
        heads.push({ phase, at: clock(), subscription: frame.params.subscription, number: Number(frame.params.result.number), node: session?.node });
        return;
      }
      const waiting = typeof frame.id === 'number' ? pending.get(frame.id) : undefined;
      if (!waiting) return;
      pending.delete(frame.id!);
      waiting.record.ms = clock() - waiting.record.sentAt;
      if (frame.error) waiting.record.error = frame.error;
      else waiting.record.result = frame.result;
      waiting.resolve();
    });

    const subscribed = await call('eth_subscribe', ['newHeads']);
    report.subscription = typeof subscribed.result === 'string' ? subscribed.result : undefined;
    if (report.subscription === undefined) throw new Error(`eth_subscribe answered ${JSON.stringify(subscribed.error)}`);
    await until('a first head', () => heads.length > 0);
    await balance();
    if (!answeredBy(preferred, 'before')) throw new Error(`the first balance was not '${preferred.name}''s`);
    report.timings.ready = clock();
    io.say({ type: 'progress', step: 'ready', at: clock(), node: session.node });

    await expect(io.next(), 'cut');
    phase = 'cut';
    log('cut');
    report.timings.cut = clock();
    ticker = setInterval(() => void balance(), CALL_EVERY_MS);
    // Until the pool has marked the cut node down: a shorter blip is left behind by the session
    // alone, and it goes back on its keepalive tick rather than on the pool's 'recovered'.
    await until(`'${backup.name}' serving calls and heads, and the pool preferring it`, () => {
      const onBackup = heads.filter((h) => h.phase === 'cut' && h.node === backup.name).length;
      return onBackup >= HEADS_PER_PHASE && answeredBy(backup, 'cut') !== undefined && pool.preferred() === backup.name;
    });
    report.timings.onBackup = clock();
    io.say({ type: 'progress', step: 'on-backup', at: clock(), node: session.node });

    await expect(io.next(), 'restored');
    phase = 'restored';
    log('restored');
    const restoredAt = (report.timings.restored = clock());
    await until(`a balance answered by '${preferred.name}' again`, () => answeredBy(preferred, 'restored') !== undefined);
    const back = answeredBy(preferred, 'restored')!;
    report.timings.failbackMs = back.sentAt + back.ms! - restoredAt;
    phase = 'after';
    await until(`${HEADS_PER_PHASE} heads after failback`, () => heads.filter((h) => h.phase === 'after').length >= HEADS_PER_PHASE);
    clearInterval(ticker);
    ticker = undefined;
    await until('every call answered', () => pending.size === 0);
    const unsubscribed = await call('eth_unsubscribe', [report.subscription]);
    report.unsubscribed = unsubscribed.result ?? unsubscribed.error;
    report.ok = true;
  } catch (error) {
    report.failure = error instanceof Error ? error.message : String(error);
  } finally {
    if (ticker) clearInterval(ticker);
    report.finalNode = session?.node;
    session?.close();
    health.close();
    pool.close();
    // A session closed with calls still owed answers each of them (UPSTREAM_UNAVAILABLE).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(unanswered), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer); // or it would keep the process alive a second after the report
    report.timings.total = clock();
    report.webSocket = io.webSocket();
  }
  return report;
}

function platformDefault(lib: Lib): ScenarioReport['defaultTransport'] {
  const transport = lib.defaultSocketTransport();
  if (transport instanceof lib.StandardWebSocketTransport) return 'StandardWebSocketTransport';
  if (transport instanceof lib.WsSocketTransport) return 'WsSocketTransport';
  return 'other';
}

async function expect(command: Promise<ParentCommand>, wanted: ParentCommand): Promise<void> {
  const got = await command;
  if (got !== wanted) throw new Error(`expected the parent's '${wanted}', got '${got}'`);
}

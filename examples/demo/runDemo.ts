/**
 * The demo: two nodes behind fault proxies, the reference proxy, and three clients (plain `ws`
 * through the proxy; viem and ethers straight to the nodes with steadyrpc's adapters). The script
 * cuts the primary, restores it, blackholes it, restores it again; the terminal shows what every
 * client sees as it happens, and the end shows the numbers and writes the timeline as an SVG.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { NodeConfig } from 'steadyrpc';
import { PROXY_HEALTH_DEFAULTS, startProxyServer } from '../proxy-server.js';
import { demoChart } from './demoChart.js';
import { ClientTrace } from './ClientTrace.js';
import { startEthersClient, startViemClient, startWsClient, type DemoClient } from './clients.js';
import { startDemoNodes, type DemoNodes, type NodeBackend, type NodeName } from './nodes.js';
import { watchProxySessions } from './ProxySessionWatch.js';
import { firstAnswerFrom, phasesOf, poolLeftPrimary, seconds, summarizeClient, summaryTable, type ClientSummary } from './summary.js';
import { Timeline, type Who } from './Timeline.js';

export interface DemoOptions {
  /**
   * Multiplies the script's own waits (healthy run, cut length, time shown after each recovery);
   * detection and failback take what they take.
   * @default 1 (about 35 s in all)
   */
  scale?: number;
  /** `auto`: anvil if it can run, else in-process fake nodes. @default 'auto' */
  nodes?: NodeBackend;
  /** Where every line goes. @default console.log */
  out?: (line: string) => void;
  /** ANSI colours. @default false */
  color?: boolean;
  /** Where the SVG chart is written. @default 'demo-output/timeline.svg' */
  svgPath?: string;
  /** Aborting stops the script early; everything started is still stopped. */
  signal?: AbortSignal;
}

export interface DemoResult {
  nodes: DemoNodes['kind'];
  /** Stopped early by `signal`: no summary, no chart. */
  interrupted: boolean;
  durationMs: number;
  clients: ClientSummary[];
  /** Blackhole → the proxy's pool stops preferring the primary, in ms. */
  blackholeDetectedMs: number | undefined;
  /** Absolute path of the chart. */
  svgPath: string | undefined;
  summaryLines: string[];
  /** Nothing lost or leaked, no duplicate block, and every client failed over and back. */
  ok: boolean;
}

/** The script, in ms at scale 1. */
const SCRIPT = Object.freeze({ healthyMs: 8_000, cutMs: 5_000, afterFailbackMs: 4_000, afterDetectionMs: 3_000, finalMs: 4_000 });
/** Bounds for waits on the library (not scaled): failback, blackhole detection, the last answers. */
const WAIT_LIMIT_MS = 20_000;
const DRAIN_LIMIT_MS = 5_000;
const BLOCK_TIME_MS = 1_000;
const WS_INTERVAL_MS = 200;
const ADAPTER_INTERVAL_MS = 250;

class Interrupted extends Error {}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const { scale = 1, nodes: backend = 'auto', out = (line: string) => console.log(line), color = false, signal } = options;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`Expected scale to be a finite number > 0, got ${scale}`);
  const svgPath = resolve(options.svgPath ?? 'demo-output/timeline.svg');
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  const timeline = new Timeline({ out, color, now });
  const paint = timeline.paint.bind(timeline);

  /** Undone in reverse order, whatever happens. */
  const stops: Array<() => unknown> = [];
  const checkpoint = () => {
    if (signal?.aborted) throw new Interrupted();
  };
  const sleep = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(finish, ms);
      signal?.addEventListener('abort', finish, { once: true });
      function finish() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        done();
      }
    }).then(checkpoint);
  /** Waits until `condition()` holds (true) or `limitMs` passes (false). */
  const until = async (condition: () => boolean, limitMs: number) => {
    const deadline = performance.now() + limitMs;
    while (!condition()) {
      if (performance.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  };

  let nodes: DemoNodes | undefined;
  const traces: ClientTrace[] = [];
  const clients: DemoClient[] = [];
  /** The proxy pool's preferred node over time, for the chart. */
  const preferred: Array<{ at: number; node: string | undefined }> = [];
  let endAt = 0;
  let interrupted = false;

  try {
    timeline.print(paint('bold', 'steadyrpc demo: two nodes, the reference proxy, three clients; the primary gets cut, then blackholed.'));
    timeline.print();
    nodes = await startDemoNodes({ backend, blockTimeMs: BLOCK_TIME_MS });
    const started = nodes;
    stops.push(() => started.stop());
    checkpoint();
    if (nodes.fallbackReason !== undefined) {
      timeline.print(paint('yellow', paint('bold', `⚠ anvil could not run: ${nodes.fallbackReason}`)));
      timeline.print(paint('yellow', '  Using two in-process FakeNodes from steadyrpc/testing instead, served over real HTTP and WebSocket sockets.'));
    } else if (nodes.kind === 'fake') {
      timeline.print('Using two in-process FakeNodes from steadyrpc/testing (--fake), served over real HTTP and WebSocket sockets.');
    }
    for (const node of [nodes.a, nodes.b]) {
      const role = node.name === 'a' ? 'primary' : 'backup ';
      timeline.print(`  node ${timeline.node(node.name)} (${role})  ${node.detail}, through a fault proxy at ${node.httpUrl}; dev account balance ${node.balanceWei / 10n ** 18n} ETH`);
    }
    const upstreams: NodeConfig[] = [
      { name: 'a', http: nodes.a.httpUrl, ws: nodes.a.wsUrl },
      { name: 'b', http: nodes.b.httpUrl, ws: nodes.b.wsUrl, tier: 'backup' },
    ];
    const proxy = await startProxyServer({ listen: { host: '127.0.0.1', port: 0 }, upstreams });
    stops.push(() => proxy.close());
    timeline.print(`  proxy         ${proxy.wsUrl} (examples/proxy-server.ts, default health checks: every ${PROXY_HEALTH_DEFAULTS.intervalMs} ms, ${PROXY_HEALTH_DEFAULTS.timeoutMs} ms timeout, ${PROXY_HEALTH_DEFAULTS.failuresToDown} failures down, ${PROXY_HEALTH_DEFAULTS.successesToUp} successes up)`);
    timeline.print(`  clients       ws: plain WebSocket through the proxy, eth_getBalance every ${WS_INTERVAL_MS} ms + newHeads`);
    timeline.print(`                viem: resilientTransport, getBalance every ${ADAPTER_INTERVAL_MS} ms + watchBlockNumber; ethers: ResilientProvider, getBalance every ${ADAPTER_INTERVAL_MS} ms + on('block')`);
    timeline.print(`                (viem and ethers talk to the nodes directly, with the proxy's health settings; the balance tells which node answered)`);
    timeline.print(`  status lines  every second: per client, the node answering it, blocks received, calls answered/sent`);
    await until(() => proxy.pool.preferred() === 'a', 10_000);
    checkpoint();
    timeline.print();

    t0 = performance.now();
    preferred.push({ at: 0, node: proxy.pool.preferred() });
    proxy.pool.on('switch', ({ from, to, reason }) => {
      preferred.push({ at: now(), node: to });
      timeline.switched({ who: 'proxy', scope: 'pool', from, to, reason });
    });
    let proxySessionNode: string | undefined;
    stops.push(
      watchProxySessions(proxy.metrics, ({ name, labels, by }) => {
        if (name === 'session_switches_total') {
          timeline.switched({ who: 'ws', scope: 'session', from: proxySessionNode, to: labels.to, reason: `${labels.reason}, in the proxy` });
          proxySessionNode = labels.to;
        } else if (name === 'session_inflight_rehomed_total') {
          timeline.event('ws', inflightText(labels.node!, labels.outcome === 'resent' ? by : 0, labels.outcome === 'failed' ? by : 0));
        } else if (name === 'session_backfill_total' && labels.outcome === 'delivered') {
          traces.find((t) => t.name === 'ws')?.backfilled(by);
          timeline.event('ws', `backfilled ${plural(by, 'block')} missed during the switch, from ${labels.node}`);
        }
      }),
    );

    const trace = (name: ClientTrace['name'], label: string) => {
      const t = new ClientTrace(name, label, now);
      traces.push(t);
      t.onNodeChange((node, at) => {
        const marker = timeline.markers.at(-1);
        const verb = !marker ? '' : marker.kind === 'restore' ? (node === 'a' ? 'failed back: ' : '') : node === 'b' ? (marker.kind === 'cut' ? 'failed over: ' : 'left the zombie: ') : '';
        const since = marker ? paint('dim', `, ${seconds(at - marker.at)} after the ${marker.kind}`) : '';
        timeline.event(name, `${verb}answered by ${timeline.node(node ?? '?')}${since}`);
      });
      return t;
    };
    const wsClient = await startWsClient(proxy.wsUrl, { trace: trace('ws', 'ws (via proxy)'), nodes, intervalMs: WS_INTERVAL_MS });
    clients.push(wsClient);
    stops.push(() => wsClient.close());
    const viemClient = startViemClient(upstreams, PROXY_HEALTH_DEFAULTS, { trace: trace('viem', 'viem'), nodes, intervalMs: ADAPTER_INTERVAL_MS });
    clients.push(viemClient);
    stops.push(() => viemClient.close());
    const ethersClient = await startEthersClient(upstreams, PROXY_HEALTH_DEFAULTS, { trace: trace('ethers', 'ethers'), nodes, intervalMs: ADAPTER_INTERVAL_MS });
    clients.push(ethersClient);
    stops.push(() => ethersClient.close());
    for (const client of [viemClient, ethersClient]) followAdapter(timeline, client);

    const ticker = setInterval(() => timeline.status(traces), 1_000);
    stops.push(() => clearInterval(ticker));

    // ---- the script ------------------------------------------------------------------------------
    const allAnsweredBy = (node: NodeName, since: number) => () => traces.every((t) => firstAnswerFrom(t, node, since) !== undefined);
    timeline.note('healthy: every client on the primary a');
    await sleep(SCRIPT.healthyMs * scale);

    const cutMs = SCRIPT.cutMs * scale;
    timeline.marker('cut', 'cut a', `the primary refuses connections and resets open ones, for ${seconds(cutMs, 1)}`);
    await nodes.a.fault.cut();
    await sleep(cutMs);

    timeline.marker('restore', 'restore a', 'the primary accepts connections again');
    const restoredAt = now();
    await nodes.a.fault.restore();
    if (await until(allAnsweredBy('a', restoredAt), WAIT_LIMIT_MS)) timeline.note('failback done: every client is answered by a again');
    await sleep(SCRIPT.afterFailbackMs * scale);

    timeline.marker('blackhole', 'blackhole a', 'the primary accepts connections and requests but never answers (a zombie)');
    const blackholedAt = now();
    await nodes.a.fault.blackhole({ discard: true });
    const detected = await until(() => proxy.pool.preferred() !== 'a' && allAnsweredBy('b', blackholedAt)(), WAIT_LIMIT_MS);
    if (detected) timeline.note('zombie detected: the proxy left a, and every client is answered by b');
    await sleep(SCRIPT.afterDetectionMs * scale);

    timeline.marker('restore', 'restore a', 'the primary answers again');
    const restoredAgainAt = now();
    await nodes.a.fault.restore();
    if (await until(allAnsweredBy('a', restoredAgainAt), WAIT_LIMIT_MS)) timeline.note('failback done: every client is answered by a again');
    await sleep(SCRIPT.finalMs * scale);

    timeline.note('finishing: no new calls; waiting for the answers still owed');
    for (const client of clients) client.stopPolling();
    await until(() => traces.every((t) => t.owed === 0), DRAIN_LIMIT_MS);
    endAt = now();
    timeline.status(traces);
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    interrupted = true;
    endAt = now();
  } finally {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        // keep stopping the rest
      }
    }
  }

  if (interrupted || !nodes) {
    timeline.print();
    timeline.print('Interrupted: nodes, proxy and clients stopped.');
    return { nodes: nodes?.kind ?? 'anvil', interrupted: true, durationMs: endAt, clients: [], blackholeDetectedMs: undefined, svgPath: undefined, summaryLines: [], ok: false };
  }

  // ---- summary and chart ---------------------------------------------------------------------------
  const phases = phasesOf(timeline.markers);
  if (!phases) throw new Error('The demo script did not record its four markers');
  const summaries = traces.map((t) => summarizeClient(t, phases));
  const detectedBy = (who: Who) => poolLeftPrimary(timeline.switches, who, phases.blackholeAt, phases.restoreAfterBlackholeAt);
  const blackholeDetectedMs = detectedBy('proxy');
  const total = (pick: (c: ClientSummary) => number) => summaries.reduce((n, c) => n + pick(c), 0);
  const everyoneMoved = summaries.every((c) => c.backupDuringCut && c.primaryAfterFailback && c.leftZombieMs !== undefined && c.primaryAtEnd);
  const ok = total((c) => c.lost) === 0 && total((c) => c.leaked) === 0 && total((c) => c.duplicateBlocks) === 0 && total((c) => c.errors) === 0 && everyoneMoved;

  await mkdir(dirname(svgPath), { recursive: true });
  const intervals = { ws: WS_INTERVAL_MS, viem: ADAPTER_INTERVAL_MS, ethers: ADAPTER_INTERVAL_MS };
  await writeFile(svgPath, demoChart({ nodes, traces, summaries, timeline, preferred, endAt, blackholeDetectedMs, intervals }));

  const summaryLines = [
    `Summary: ${nodes.kind === 'anvil' ? 'two anvil nodes' : 'two in-process fake nodes'}, ${seconds(endAt, 1)}, ${total((c) => c.sent)} balance calls from 3 clients`,
    ...summaryTable(summaries),
    `  failover: cut → first answer from b; failback: restore → first answer from a; zombie left: blackhole → first answer from b`,
    `  blackhole detected (a marked unhealthy) by the health checks of the proxy after ${seconds(blackholeDetectedMs)}, viem after ${seconds(detectedBy('viem'))}, ethers after ${seconds(detectedBy('ethers'))}`,
    ...summaries.filter((c) => c.errorExamples.length > 0).map((c) => `  ${c.label} errors: ${c.errorExamples.join('; ')}`),
    `  ${ok ? '✔' : '✘'} ${total((c) => c.lost)} lost, ${total((c) => c.leaked)} leaked replay answers, ${total((c) => c.duplicateBlocks)} duplicate blocks, ${total((c) => c.errors)} errors; ` +
      (everyoneMoved ? 'every client moved to b during each fault and back to a after it' : 'NOT every client moved to b and back'),
    `  timeline chart: ${svgPath}`,
  ];
  timeline.print();
  for (const line of summaryLines) timeline.print(line.includes('✔') ? paint('green', line) : line.includes('✘') ? paint('red', line) : line);
  return { nodes: nodes.kind, interrupted: false, durationMs: endAt, clients: summaries, blackholeDetectedMs, svgPath, summaryLines, ok };
}

/** Prints an adapter's own pool and session events. */
function followAdapter(timeline: Timeline, client: DemoClient): void {
  const who = client.trace.name;
  client.pool?.on('switch', ({ from, to, reason }) => timeline.switched({ who, scope: 'pool', from, to, reason }));
  client.session?.on('switch', ({ from, to, reason }) => timeline.switched({ who, scope: 'session', from, to, reason }));
  client.session?.on('inflight', ({ node, resent, failed }) => timeline.event(who, inflightText(node, resent, failed)));
  client.session?.on('backfill', ({ node, delivered }) => {
    if (delivered === 0) return;
    client.trace.backfilled(delivered);
    timeline.event(who, `backfilled ${plural(delivered, 'block')} missed during the switch, from ${node}`);
  });
}

function inflightText(node: string, resent: number, failed: number): string {
  const parts = [resent > 0 ? `${plural(resent, 'call')} in flight on ${node} re-sent to the next node` : '', failed > 0 ? `${plural(failed, 'call')} in flight on ${node} failed (not safe to repeat)` : ''];
  return parts.filter(Boolean).join('; ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

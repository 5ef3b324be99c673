/** Turns a finished demo run into the chart's input and renders it. */
import type { ClientName, ClientTrace } from './ClientTrace.js';
import type { DemoNodes, NodeName } from './nodes.js';
import { phasesOf, seconds, type ClientSummary } from './summary.js';
import type { Timeline } from './Timeline.js';
import { renderTimelineSvg, segmentsOf, type Segment } from './timelineSvg.js';

export interface DemoChartInput {
  nodes: DemoNodes;
  traces: readonly ClientTrace[];
  summaries: readonly ClientSummary[];
  timeline: Timeline;
  /** The proxy pool's preferred node over time. */
  preferred: ReadonlyArray<{ at: number; node: string | undefined }>;
  endAt: number;
  blackholeDetectedMs: number | undefined;
  /** Each client's time between balance calls, in ms: a longer silence shows as a gap. */
  intervals: Record<ClientName, number>;
}

/** The SVG of a finished demo run. */
export function demoChart({ nodes, traces, summaries, timeline, preferred, endAt, blackholeDetectedMs, intervals }: DemoChartInput): string {
  const poolSegments: Segment[] = [];
  for (const [i, change] of preferred.entries()) {
    if (change.node !== 'a' && change.node !== 'b') continue;
    poolSegments.push({ from: change.at, to: preferred[i + 1]?.at ?? endAt, node: change.node });
  }
  const phases = phasesOf(timeline.markers)!;
  const sublabels: Record<string, string> = { ws: 'plain ws → proxy', viem: 'resilientTransport', ethers: 'ResilientProvider' };
  const worst = (pick: (c: ClientSummary) => number | undefined) => Math.max(...summaries.map((c) => pick(c) ?? Infinity));
  const lost = summaries.reduce((n, c) => n + c.lost, 0);
  const leaked = summaries.reduce((n, c) => n + c.leaked, 0);
  const duplicates = summaries.reduce((n, c) => n + c.duplicateBlocks, 0);
  return renderTimelineSvg({
    title: `steadyrpc demo: primary a cut, then blackholed (${nodes.kind === 'anvil' ? 'anvil nodes' : 'in-process fake nodes'})`,
    subtitle:
      `${lost} lost · ${leaked} leaked · ${duplicates} duplicate blocks · failover ≤ ${seconds(worst((c) => c.failoverMs))} · ` +
      `failback ≤ ${seconds(worst((c) => Math.max(c.failbackMs ?? Infinity, c.failbackAfterBlackholeMs ?? Infinity)))} · ` +
      `zombie detected by the proxy in ${seconds(blackholeDetectedMs, 1)}`,
    durationMs: endAt,
    markers: timeline.markers,
    pool: { label: 'proxy pool prefers', segments: poolSegments },
    lanes: traces.map((trace, i) => {
      const summary = summaries[i]!;
      const gapMs = 3 * intervals[trace.name];
      const note = (at: number | undefined, from: number, node: NodeName) => (at === undefined ? [] : [{ at: from + at, text: `${node} in ${seconds(at)}` }]);
      return {
        name: trace.name,
        label: trace.name,
        sublabel: `${sublabels[trace.name]} · ${trace.blocks.length} blocks`,
        segments: segmentsOf(trace.answers, endAt, gapMs, gapMs / 3),
        blocks: trace.blocks.map((b) => b.at),
        backfills: trace.backfills,
        notes: [
          ...note(summary.failoverMs, phases.cutAt, 'b'),
          ...note(summary.failbackMs, phases.restoreAt, 'a'),
          ...note(summary.leftZombieMs, phases.blackholeAt, 'b'),
          ...note(summary.failbackAfterBlackholeMs, phases.restoreAfterBlackholeAt, 'a'),
        ],
      };
    }),
  });
}

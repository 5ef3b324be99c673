/**
 * The demo's timeline as a hand-written SVG: time on x; one lane per client coloured by the node
 * answering it (hatched where it waits for an answer), its blocks as ticks below; the proxy pool's
 * preferred node as a thin lane on top; dashed markers where the primary is cut, blackholed and
 * restored.
 */
import type { NodeName } from './nodes.js';
import type { Marker, MarkerKind } from './Timeline.js';

export interface Segment {
  from: number;
  to: number;
  node: NodeName;
}

export interface ChartLane {
  /** `data-client` of the lane: `ws`, `viem`, `ethers`. */
  name: string;
  label: string;
  sublabel: string;
  segments: readonly Segment[];
  /** Times of the blocks the client received. */
  blocks: readonly number[];
  /** Blocks a session fetched after a switch (they arrive together: one thick tick). */
  backfills: ReadonlyArray<{ at: number; blocks: number }>;
  /** Short labels written into the lane at a time, e.g. `b in 0.02 s`. */
  notes: ReadonlyArray<{ at: number; text: string }>;
}

export interface ChartInput {
  title: string;
  subtitle: string;
  durationMs: number;
  markers: readonly Marker[];
  /** The proxy pool's preferred node over time. */
  pool: { label: string; segments: readonly Segment[] };
  lanes: readonly ChartLane[];
}

export const NODE_FILL: Record<NodeName, string> = { a: '#2f9e44', b: '#f08c00' };
const MARKER_STROKE: Record<MarkerKind, string> = { cut: '#e03131', restore: '#2f9e44', blackhole: '#7048e8' };
const SHADE: Partial<Record<MarkerKind, string>> = { cut: '#e03131', blackhole: '#7048e8' };

const WIDTH = 1200;
const LEFT = 190;
const RIGHT = 40;
const PLOT = WIDTH - LEFT - RIGHT;
const LANES_TOP = 104;
const POOL_HEIGHT = 14;
const POOL_SPACING = 42;
const BAND = 26;
const LANE_SPACING = 66;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (n: number) => Math.round(n * 10) / 10;

export function renderTimelineSvg(input: ChartInput): string {
  const { durationMs } = input;
  const x = (at: number) => r1(LEFT + (Math.min(Math.max(at, 0), durationMs) / durationMs) * PLOT);
  const lanesBottom = LANES_TOP + POOL_SPACING + input.lanes.length * LANE_SPACING;
  const axisY = lanesBottom + 4;
  const legendY = axisY + 44;
  const height = legendY + 44;
  const out: string[] = [];
  const text = (tx: number, ty: number, content: string, attrs = '') => out.push(`<text x="${r1(tx)}" y="${r1(ty)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`);

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    '<defs><pattern id="waiting" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" fill="#f1f3f5"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ced4da" stroke-width="2"/></pattern></defs>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
  );
  text(LEFT, 28, input.title, 'font-size="18" font-weight="bold" fill="#212529"');
  text(LEFT, 50, input.subtitle, 'font-size="13" fill="#495057"');

  // Fault periods shaded, from each fault marker to the restore after it.
  const markers = [...input.markers].sort((m, n) => m.at - n.at);
  for (const [i, marker] of markers.entries()) {
    const fill = SHADE[marker.kind];
    if (!fill) continue;
    const end = markers.slice(i + 1).find((m) => m.kind === 'restore')?.at ?? durationMs;
    out.push(`<rect x="${x(marker.at)}" y="${LANES_TOP - 12}" width="${r1(x(end) - x(marker.at))}" height="${r1(lanesBottom - LANES_TOP + 12)}" fill="${fill}" fill-opacity="0.07"/>`);
  }

  // Grid and time axis.
  for (let s = 0; s * 1000 <= durationMs; s++) {
    const major = s % 5 === 0;
    const gx = x(s * 1000);
    out.push(`<line x1="${gx}" y1="${LANES_TOP - 12}" x2="${gx}" y2="${axisY}" stroke="${major ? '#dee2e6' : '#f1f3f5'}" stroke-width="1"/>`);
    if (major) text(gx, axisY + 16, `${s} s`, 'text-anchor="middle" fill="#495057"');
  }
  out.push(`<line x1="${LEFT}" y1="${axisY}" x2="${LEFT + PLOT}" y2="${axisY}" stroke="#868e96" stroke-width="1"/>`);
  text(LEFT + PLOT, axisY + 32, 'time since the demo started', 'text-anchor="end" fill="#868e96" font-size="11"');

  // The proxy pool's preferred node.
  const poolY = LANES_TOP;
  out.push(`<g class="pool-lane" data-pool="proxy">`);
  text(LEFT - 12, poolY + 11, input.pool.label, 'text-anchor="end" fill="#495057" font-size="11"');
  out.push(`<rect x="${LEFT}" y="${poolY}" width="${PLOT}" height="${POOL_HEIGHT}" fill="url(#waiting)"/>`);
  for (const s of input.pool.segments) out.push(bandRect(x, s, poolY, POOL_HEIGHT));
  out.push('</g>');

  // One lane per client.
  for (const [i, lane] of input.lanes.entries()) {
    const top = LANES_TOP + POOL_SPACING + i * LANE_SPACING;
    out.push(`<g class="lane" data-client="${escapeXml(lane.name)}">`);
    text(LEFT - 12, top + 12, lane.label, 'text-anchor="end" font-weight="bold" font-size="13" fill="#212529"');
    text(LEFT - 12, top + 27, lane.sublabel, 'text-anchor="end" fill="#868e96" font-size="10.5"');
    out.push(`<rect x="${LEFT}" y="${top}" width="${PLOT}" height="${BAND}" fill="url(#waiting)"/>`);
    for (const s of lane.segments) out.push(bandRect(x, s, top, BAND));
    for (const note of lane.notes) {
      text(x(note.at) + 4, top + 17, note.text, 'fill="#ffffff" font-size="11" font-weight="bold" stroke="#343a40" stroke-width="2.5" paint-order="stroke"');
    }
    const ticks = lane.blocks.map((at) => `M${x(at)} ${top + BAND + 3}v10`).join('');
    if (ticks) out.push(`<path d="${ticks}" stroke="#343a40" stroke-width="1.5"/>`);
    for (const backfill of lane.backfills) {
      text(x(backfill.at) + 4, top + BAND + 24, `+${backfill.blocks} backfilled`, 'fill="#495057" font-size="10"');
    }
    out.push('</g>');
  }

  // Markers on top of everything, labels above the lanes (alternating rows if close together).
  let lastLabelEnd = -Infinity;
  let row = 0;
  for (const marker of markers) {
    const mx = x(marker.at);
    const stroke = MARKER_STROKE[marker.kind];
    out.push(`<line x1="${mx}" y1="${LANES_TOP - 16}" x2="${mx}" y2="${axisY}" stroke="${stroke}" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    row = mx < lastLabelEnd ? 1 - row : 0;
    const label = marker.label;
    text(mx, LANES_TOP - 34 + row * 13, label, `text-anchor="middle" font-size="11.5" font-weight="bold" fill="${stroke}"`);
    lastLabelEnd = mx + label.length * 3.6 + 8;
  }

  // Legend.
  let lx = LEFT;
  const swatch = (fill: string, label: string) => {
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="22" height="12" fill="${fill}"/>`);
    text(lx + 28, legendY, label, 'fill="#495057"');
    lx += 28 + label.length * 6.3 + 22;
  };
  swatch(NODE_FILL.a, 'answered by a (primary)');
  swatch(NODE_FILL.b, 'answered by b (backup)');
  swatch('url(#waiting)', 'waiting for an answer');
  out.push(`<path d="M${lx + 10} ${legendY - 11}v12" stroke="#343a40" stroke-width="1.5"/>`);
  text(lx + 20, legendY, 'block received', 'fill="#495057"');
  text(LEFT, legendY + 22, 'Labels in a lane (“b in 0.13 s”): time from the marker before it to the client’s first answer from that node. Shaded: the primary cut (red) or blackholed (purple).', 'fill="#868e96" font-size="11"');

  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function bandRect(x: (at: number) => number, s: Segment, y: number, height: number): string {
  const width = Math.max(1, x(s.to) - x(s.from));
  return `<rect x="${x(s.from)}" y="${y}" width="${r1(width)}" height="${height}" fill="${NODE_FILL[s.node]}"/>`;
}

/**
 * Bands from answers in time order: each answer's node holds until the next answer, unless that
 * one came more than `gapMs` later, in which case the band ends `holdMs` after the answer (the
 * client is waiting: a gap).
 */
export function segmentsOf(answers: ReadonlyArray<{ at: number; node: NodeName | undefined }>, endAt: number, gapMs: number, holdMs: number): Segment[] {
  const segments: Segment[] = [];
  const sorted = [...answers].sort((p, q) => p.at - q.at);
  for (const [i, answer] of sorted.entries()) {
    if (!answer.node) continue;
    const next = sorted[i + 1]?.at ?? endAt;
    const to = next - answer.at <= gapMs ? next : Math.min(answer.at + holdMs, endAt);
    const last = segments.at(-1);
    if (last && last.node === answer.node && last.to >= answer.at) last.to = Math.max(last.to, to);
    else segments.push({ from: answer.at, to, node: answer.node });
  }
  return segments;
}

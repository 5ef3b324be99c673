/**
 * Turns the measurements of one run into rows (case, metric, value, ratio to its baseline, goal,
 * met?) for the table and the JSON file. Every goal of issue 6 is written here, in one place.
 */
import type { ClientKind } from './clients.js';
import type { HopKind } from './hopServer.js';
import { CLIENT_LABELS } from './clients.js';
import type { NotificationConsumer, NotificationsRun } from './cases/notifications.js';
import type { ProxyMeasurement } from './cases/proxyHop.js';
import type { RequestsMeasurement } from './cases/requests.js';
import type { BlackholeMeasurement, CutMeasurement, FailbackMeasurement } from './cases/failover.js';
import type { ScaleMeasurement } from './cases/scale.js';
import type { RetentionMeasurement, RetentionVariant } from './cases/retention.js';
import type { SizeMeasurement } from './cases/size.js';
import { median, quantile } from './load.js';

export interface Measurements {
  requests: Partial<Record<ClientKind, RequestsMeasurement>>;
  proxy: Partial<Record<HopKind, ProxyMeasurement>>;
  /** Each round's run of the notifications case. */
  notifications: NotificationsRun[];
  cut?: CutMeasurement;
  failback: Record<string, FailbackMeasurement>;
  blackhole?: BlackholeMeasurement;
  scale?: ScaleMeasurement;
  scaleShared?: ScaleMeasurement;
  retention: Partial<Record<RetentionVariant, RetentionMeasurement>>;
  size?: SizeMeasurement;
  /** Every run of each repeated job, by job id, in round order (undefined: that run failed). */
  rounds: Record<string, Array<Record<string, unknown> | undefined>>;
}

export interface Row {
  group: string;
  case: string;
  metric: string;
  /** The headline number (null: not measured). */
  value: number | null;
  /** How it reads in the table. */
  display: string;
  unit: string;
  /** value / the baseline's value, for ratio goals. */
  ratio: number | null;
  baseline: string | null;
  goal: string | null;
  met: boolean | null;
  note?: string;
}

/**
 * A herd: at least this share of the sessions try to reconnect within 100 ms of losing their
 * socket, i.e. nothing spreads the reconnects (no jitter, no shared rate limit); how many land per
 * 100 ms is then bounded only by how fast the process handles the closes.
 */
export const HERD_SHARE = 0.5;

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtRatio = (n: number | null) => (n === null || !Number.isFinite(n) ? '' : `${n.toFixed(2)}×`);

/**
 * `key` of job `id` over the same of job `baseId`: the median of the per-round ratios, so each
 * ratio compares runs made minutes apart at most (the machine's load drifts).
 */
function pairedRatio(m: Measurements, id: string, baseId: string, key: string): number | null {
  const runs = m.rounds[id] ?? [];
  const bases = m.rounds[baseId] ?? [];
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(runs.length, bases.length); i++) {
    const value = runs[i]?.[key];
    const base = bases[i]?.[key];
    if (typeof value === 'number' && typeof base === 'number' && Number.isFinite(value) && Number.isFinite(base) && base > 0) ratios.push(value / base);
  }
  return ratios.length > 0 ? median(ratios) : null;
}

export function buildRows(m: Measurements): Row[] {
  const rows: Row[] = [];

  // 1. requests
  for (const kind of Object.keys(CLIENT_LABELS) as ClientKind[]) {
    const r = m.requests[kind];
    const name = CLIENT_LABELS[kind];
    if (!r) continue;
    if (r.unavailable !== undefined || r.reqPerSec === undefined) {
      rows.push({ group: 'requests', case: name, metric: 'req/s', value: null, display: 'n/a (not available)', unit: 'req/s', ratio: null, baseline: null, goal: null, met: null, note: r.unavailable });
      continue;
    }
    const note = r.errors ? `${r.errors} errors (${r.firstError})` : undefined;
    let goal: string | null = null;
    let met: boolean | null = null;
    const id = `requests:${kind}`;
    let ratio = pairedRatio(m, id, 'requests:raw-ws', 'reqPerSec');
    let baseline = 'raw ws';
    if (kind === 'session') {
      goal = '≥ 0.90× raw ws';
      met = ratio === null ? null : ratio >= 0.9;
    } else if (kind === 'viem-resilient') {
      ratio = pairedRatio(m, id, 'requests:viem', 'reqPerSec');
      baseline = 'viem webSocket';
      goal = '≥ 1.15× viem webSocket';
      met = ratio === null ? null : ratio >= 1.15;
    } else if (kind === 'viem-resilient-batch') {
      ratio = pairedRatio(m, id, 'requests:viem', 'reqPerSec');
      baseline = 'viem webSocket';
    } else if (kind === 'ethers-resilient') {
      ratio = pairedRatio(m, id, 'requests:ethers', 'reqPerSec');
      baseline = 'ethers WebSocketProvider';
      goal = '≥ 1.00× ethers WebSocketProvider';
      met = ratio === null ? null : ratio >= 1.0;
    }
    rows.push({ group: 'requests', case: name, metric: 'req/s', value: r.reqPerSec, display: fmtInt(r.reqPerSec), unit: 'req/s', ratio, baseline, goal, met, ...(note ? { note } : {}) });
    const p99Ratio = pairedRatio(m, id, 'requests:raw-ws', 'p99Ms');
    rows.push({
      group: 'requests',
      case: name,
      metric: 'p50 / p99 ms',
      value: r.p99Ms!,
      display: `${fmtMs(r.p50Ms!)} / ${fmtMs(r.p99Ms!)}`,
      unit: 'ms (p99)',
      ratio: p99Ratio,
      baseline: 'raw ws (p99)',
      goal: kind === 'session' ? 'p99 ≤ 1.2× raw ws' : null,
      met: kind === 'session' && p99Ratio !== null ? p99Ratio <= 1.2 : null,
    });
  }

  // 2. proxy hop
  const HOPS: Record<HopKind, string> = {
    pipe: 'ws → byte pipe → upstream',
    proxy: 'ws → reference proxy → upstream',
  };
  for (const hop of Object.keys(HOPS) as HopKind[]) {
    const r = m.proxy[hop];
    if (!r) continue;
    const name = HOPS[hop];
    const ratio = pairedRatio(m, `proxy:${hop}`, 'proxy:pipe', 'reqPerSec');
    rows.push({
      group: 'proxy hop',
      case: name,
      metric: 'req/s',
      value: r.reqPerSec,
      display: fmtInt(r.reqPerSec),
      unit: 'req/s',
      ratio,
      baseline: 'byte pipe',
      goal: hop === 'proxy' ? '≥ 0.85× byte pipe' : null,
      met: hop === 'proxy' && ratio !== null ? ratio >= 0.85 : null,
      ...(r.errors ? { note: `${r.errors} errors (${r.firstError})` } : {}),
    });
    rows.push({ group: 'proxy hop', case: name, metric: 'p50 / p99 ms', value: r.p99Ms, display: `${fmtMs(r.p50Ms)} / ${fmtMs(r.p99Ms)}`, unit: 'ms (p99)', ratio: pairedRatio(m, `proxy:${hop}`, 'proxy:pipe', 'p99Ms'), baseline: 'byte pipe (p99)', goal: null, met: null });
  }

  // 3. notifications (one run: every consumer in alternating slices; see cases/notifications.ts)
  const NOTIFICATION_CASES: Record<NotificationConsumer, string> = {
    'raw-ws': 'raw ws',
    session: 'UpstreamSession (defaults: continuity on)',
    'session-plain': 'UpstreamSession {continuity: off}',
  };
  const notificationRuns = m.notifications;
  for (const consumer of notificationRuns.length > 0 ? (['raw-ws', 'session', 'session-plain'] as const) : []) {
    const all = notificationRuns.map((run) => run.consumers[consumer]);
    const rates = all.flatMap((r) => r.slices);
    const ratios = consumer === 'raw-ws' ? [] : notificationRuns.flatMap((run) => run.ratios[consumer]);
    const ratio = consumer === 'raw-ws' ? 1 : ratios.length > 0 ? median(ratios) : null;
    const sum = (key: 'delivered' | 'sent' | 'seconds') => all.reduce((total, r) => total + r[key], 0);
    const cpu = sum('delivered') > 0 ? all.reduce((total, r) => total + r.cpuUsPerNotification * r.delivered, 0) / sum('delivered') : 0;
    rows.push({
      group: 'notifications',
      case: NOTIFICATION_CASES[consumer],
      metric: 'delivered/s',
      value: median(rates),
      display: fmtInt(median(rates)),
      unit: 'notifications/s',
      ratio,
      baseline: 'raw ws',
      goal: consumer !== 'raw-ws' ? '≥ 0.90× raw ws' : null,
      met: consumer !== 'raw-ws' && ratio !== null ? ratio >= 0.9 : null,
      note:
        `${fmtInt(sum('delivered'))} of ${fmtInt(sum('sent'))} sent, in ${rates.length} slices (${sum('seconds').toFixed(2)} s), ${cpu.toFixed(2)} µs CPU each` +
        (ratios.length > 0 ? `; ratio: median of ${ratios.length} side-by-side slices (${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))})` : ''),
    });
  }

  // 3b. memory a busy logs subscription keeps (to retract its logs on a fork)
  for (const variant of ['defaults', 'logs-off'] as const) {
    const r = m.retention[variant];
    if (!r) continue;
    const isDefault = variant === 'defaults';
    // The bound on what is kept for retraction, plus what the dedupe window and the frames' last
    // turn keep (well under 1 MiB).
    const goal = r.maxRetainedBytes + 1024 * 1024;
    rows.push({
      group: 'memory',
      case: `busy logs subscription (${fmtInt(r.logs)} logs of ~600 B), ${isDefault ? 'defaults (logs kept for retraction)' : '{continuity: {logs: off}}'}`,
      metric: 'heap retained',
      value: r.retainedBytes,
      display: `${(r.retainedBytes / 1024 / 1024).toFixed(2)} MB`,
      unit: 'bytes',
      ratio: null,
      baseline: null,
      goal: isDefault ? `≤ maxRetainedBytes (${(r.maxRetainedBytes / 1024 / 1024).toFixed(0)} MiB) + 1 MiB` : null,
      met: isDefault ? r.retainedBytes <= goal : null,
      note: `${fmtInt(r.delivered)} of ${fmtInt(r.logs)} delivered; the session accounts ${(r.accountedBytes / 1024 / 1024).toFixed(2)} MB of logs kept`,
    });
  }

  // 4. failover
  if (m.cut && m.cut.closeToFirstAnswerMs.length > 0) {
    const c = m.cut;
    const med = median(c.closeToFirstAnswerMs);
    const sorted = Float64Array.from(c.closeToFirstAnswerMs).sort();
    rows.push({
      group: 'failover',
      case: `cut → first answer from backup (${c.closeToFirstAnswerMs.length} cuts)`,
      metric: 'median ms after close',
      value: med,
      display: fmtMs(med),
      unit: 'ms',
      ratio: null,
      baseline: null,
      goal: '≤ 100 ms',
      met: med <= 100,
      note: `p90 ${fmtMs(quantile(sorted, 0.9))}, max ${fmtMs(sorted[sorted.length - 1]!)} ms; from the cut command: median ${fmtMs(median(c.cutToFirstAnswerMs))} ms; ${c.concurrency} calls in flight, ${c.errors} errors`,
    });
  }
  for (const [label, f] of Object.entries(m.failback)) {
    if (f.restoreToTrafficMs.length === 0) continue;
    const max = Math.max(...f.restoreToTrafficMs);
    const med = median(f.restoreToTrafficMs);
    rows.push({
      group: 'failover',
      case: `failback, ${label} (${f.restoreToTrafficMs.length}×)`,
      metric: 'median ms restore → traffic',
      value: med,
      display: fmtMs(med),
      unit: 'ms',
      ratio: null,
      baseline: null,
      goal: '< 2000 ms (every run)',
      met: max < 2000,
      note: `max ${fmtMs(max)} ms; pool chose it again after median ${fmtMs(median(f.restoreToPoolSwitchMs))} ms; health ${JSON.stringify(f.health)}; ${f.errors} errors`,
    });
  }
  if (m.blackhole && m.blackhole.detectMs.length > 0) {
    const b = m.blackhole;
    const max = Math.max(...b.detectMs);
    rows.push({
      group: 'failover',
      case: `blackhole detected, default keepalive (${b.detectMs.length}×)`,
      metric: 'max ms',
      value: max,
      display: fmtMs(max),
      unit: 'ms',
      ratio: null,
      baseline: null,
      goal: `≤ ${b.deadlineMs} ms (${b.keepaliveIntervalMs} + ${b.keepaliveTimeoutMs}) + 50 ms timer slack`,
      met: max <= b.deadlineMs + 50,
      note: `each: ${b.detectMs.map(fmtMs).join(', ')} ms; first answer from backup after ${b.firstAnswerMs.map(fmtMs).join(', ')} ms; ${b.errors} errors`,
    });
  }

  // 5. scale
  for (const s of [m.scale, m.scaleShared]) if (s) rows.push(...scaleRows(s));

  // 6. what a web app downloads
  if (m.size) rows.push(...sizeRows(m.size));
  return rows;
}

/** One row per public entry: its browser bundle, gzipped (issue 14: the viem entry ≤ 20 KB). */
function sizeRows(s: SizeMeasurement): Row[] {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  if (!s.entries) {
    return [{ group: 'size', case: 'browser bundles', metric: 'gzip', value: null, display: 'n/a (not available)', unit: 'bytes', ratio: null, baseline: null, goal: null, met: null, note: s.unavailable ?? 'no measurement' }];
  }
  return s.entries.map((e, index): Row => {
    const stale = s.stale && index === 0 ? ['src/ is newer than dist/browser: these are the sizes of the last build'] : [];
    const notes = [...e.problems.filter((p) => !p.includes('budget')), ...stale];
    return {
      group: 'size',
      case: `browser bundle of ${e.entry} (minified, viem and ethers external)`,
      metric: 'gzip (raw)',
      value: e.gzipBytes,
      display: `${kb(e.gzipBytes)} (${kb(e.rawBytes)})`,
      unit: 'bytes',
      ratio: null,
      baseline: null,
      goal: e.budget === null ? null : `≤ ${kb(e.budget)} gzip`,
      met: e.budget === null ? null : e.gzipBytes <= e.budget,
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    };
  });
}

/** The scale rows of one run: with a socket per session, or all on one SharedSocketTransport. */
function scaleRows(s: ScaleMeasurement): Row[] {
  const shared = s.transport === 'shared';
  const how = shared ? ', SharedSocketTransport' : ', a socket each';
  const rows: Row[] = [];
  rows.push({
    group: 'scale',
    case: `${fmtInt(s.sessions)} idle sessions × 5 subscriptions${how}`,
    metric: 'heap per session',
    value: s.heapPerSessionBytes,
    display: `${(s.heapPerSessionBytes / 1024).toFixed(1)} KB`,
    unit: 'bytes',
    ratio: null,
    baseline: null,
    goal: '≤ 16 KB',
    met: s.heapPerSessionBytes <= 16 * 1024,
    note: `median of ${s.heapPerSessionRangeBytes ? `samples from ${(s.heapPerSessionRangeBytes[0] / 1024).toFixed(1)} to ${(s.heapPerSessionRangeBytes[1] / 1024).toFixed(1)} KB over a keepalive interval; ` : ''}plus external ${(s.externalPerSessionBytes / 1024).toFixed(1)} KB, rss ${(s.rssPerSessionBytes / 1024).toFixed(1)} KB per session; setup ${s.setupSeconds.toFixed(1)} s`,
  });
  rows.push({
    group: 'scale',
    case: `all ${fmtInt(s.subscriptions)} subscriptions replayed after the cut${how}`,
    metric: 'ms after cut',
    value: s.replayAllMs,
    display: s.replayAllMs === null ? `not within ${fmtInt(s.timeoutMs)} ms` : fmtInt(s.replayAllMs),
    unit: 'ms',
    ratio: null,
    baseline: null,
    goal: '≤ 2000 ms',
    met: s.replayAllMs !== null && s.replayAllMs <= 2000,
    note: `${fmtInt(s.replayed)} replayed on b, ${s.replayFailures} replay failures; ${fmtInt(s.switched)} sessions active on b${s.switchAllMs === null ? '' : ` after ${fmtInt(s.switchAllMs)} ms`}; b holds ${fmtInt(s.backupSubscriptions)} subscriptions`,
  });
  const c = s.connect;
  if (shared) {
    // Sessions open virtual sockets at once (nothing to pace); what reaches b is the transport's own connects.
    rows.push({
      group: 'scale',
      case: `connections to b after the cut${how}`,
      metric: 'accepted by b',
      value: c.accepted,
      display: fmtInt(c.accepted),
      unit: 'connections',
      ratio: null,
      baseline: null,
      goal: 'bounded: one shared connection',
      met: c.accepted === 1,
      note: `${fmtInt(c.attempts)} session opens (virtual), ${fmtInt(c.attemptsToBackup)} to b; b accepted max ${fmtInt(c.maxAcceptedPerWindow)} per ${c.windowMs} ms`,
    });
    return rows;
  }
  const herd = c.immediateShare >= HERD_SHARE;
  rows.push({
    group: 'scale',
    case: `reconnects after the cut${how}`,
    metric: `max connects / ${c.windowMs} ms`,
    value: c.maxAttemptsPerWindow,
    display: fmtInt(c.maxAttemptsPerWindow),
    unit: `connect attempts per ${c.windowMs} ms`,
    ratio: null,
    baseline: null,
    goal: `bounded: spread, < ${HERD_SHARE * 100} % retry within 100 ms of their close`,
    met: !herd,
    note:
      `${herd ? 'THUNDERING HERD: ' : ''}${(c.immediateShare * 100).toFixed(0)} % of sessions tried again within 100 ms of losing their socket ` +
      `(delay p50 ${fmtMs(c.delayP50Ms)}, p90 ${fmtMs(c.delayP90Ms)}, max ${fmtMs(c.delayMaxMs)} ms); ${fmtInt(c.attempts)} attempts (${fmtInt(c.attemptsToBackup)} to b), ` +
      `per ${c.windowMs} ms from the cut: ${c.attemptWindows.slice(0, 15).join(' ')}${c.attemptWindows.length > 15 ? ' …' : ''}; b accepted max ${fmtInt(c.maxAcceptedPerWindow)} per ${c.windowMs} ms`,
  });
  return rows;
}

/** A Markdown table (readable in a terminal, and ready for the README). */
export function renderTable(rows: Row[]): string {
  const header = ['case', 'metric', 'value', 'ratio', 'goal', 'met?'];
  const body = rows.map((r) => [
    `${r.group}: ${r.case}`,
    r.metric,
    r.display,
    r.ratio === null ? '' : `${fmtRatio(r.ratio)}${r.baseline && r.baseline !== 'raw ws' && r.baseline !== 'raw ws (p99)' ? ` ${r.baseline}` : ''}`,
    r.goal ?? '',
    r.met === null ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.group}: ${r.case} (${r.metric}): ${r.note}`);
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), '', ...notes].join('\n');
}

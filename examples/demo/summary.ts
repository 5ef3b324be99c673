/**
 * The numbers the demo ends with, per client: requests sent/answered/lost, leaked answers,
 * duplicate blocks, and how long each switch took, measured from the client's side (the fault →
 * the first balance answered by the other node).
 */
import type { ClientTrace } from './ClientTrace.js';
import type { NodeName } from './nodes.js';
import type { Marker, SwitchRecord } from './Timeline.js';

export interface ClientSummary {
  name: string;
  label: string;
  sent: number;
  answered: number;
  /** Calls answered with an error. */
  errors: number;
  /** Errors the client library reported outside calls. */
  problems: number;
  /** Calls never settled. */
  lost: number;
  leaked: number;
  blocks: number;
  duplicateBlocks: number;
  /** Cut → first answer from the backup, in ms. */
  failoverMs: number | undefined;
  /** Restore after the cut → first answer from the primary, in ms. */
  failbackMs: number | undefined;
  /** Blackhole → first answer from the backup, in ms. */
  leftZombieMs: number | undefined;
  /** Restore after the blackhole → first answer from the primary, in ms. */
  failbackAfterBlackholeMs: number | undefined;
  /** Answered by the backup while the primary was cut. */
  backupDuringCut: boolean;
  /** Answered by the primary between the restore after the cut and the blackhole. */
  primaryAfterFailback: boolean;
  /** Answered by the primary at the end. */
  primaryAtEnd: boolean;
  errorExamples: string[];
}

export interface Phases {
  cutAt: number;
  restoreAt: number;
  blackholeAt: number;
  restoreAfterBlackholeAt: number;
}

/** The times of the script's four markers, if it got that far. */
export function phasesOf(markers: readonly Marker[]): Phases | undefined {
  const [cut, restore, blackhole, restore2] = [markers[0], markers[1], markers[2], markers[3]];
  if (cut?.kind !== 'cut' || restore?.kind !== 'restore' || blackhole?.kind !== 'blackhole' || restore2?.kind !== 'restore') return undefined;
  return { cutAt: cut.at, restoreAt: restore.at, blackholeAt: blackhole.at, restoreAfterBlackholeAt: restore2.at };
}

/** When `trace` was first answered by `node` at or after `from` (and before `until`), in ms since `from`. */
export function firstAnswerFrom(trace: ClientTrace, node: NodeName, from: number, until = Infinity): number | undefined {
  const answer = trace.answers.find((a) => a.at >= from && a.at < until && a.node === node);
  return answer && answer.at - from;
}

export function summarizeClient(trace: ClientTrace, phases: Phases): ClientSummary {
  const { cutAt, restoreAt, blackholeAt, restoreAfterBlackholeAt } = phases;
  const last = trace.answers.at(-1);
  return {
    name: trace.name,
    label: trace.label,
    sent: trace.sent,
    answered: trace.answered,
    errors: trace.failures.length,
    problems: trace.problems.length,
    lost: trace.owed,
    leaked: trace.audit.leaked,
    blocks: trace.blocks.length,
    duplicateBlocks: trace.audit.duplicateHeads,
    failoverMs: firstAnswerFrom(trace, 'b', cutAt, restoreAt),
    failbackMs: firstAnswerFrom(trace, 'a', restoreAt, blackholeAt),
    leftZombieMs: firstAnswerFrom(trace, 'b', blackholeAt, restoreAfterBlackholeAt),
    failbackAfterBlackholeMs: firstAnswerFrom(trace, 'a', restoreAfterBlackholeAt),
    backupDuringCut: firstAnswerFrom(trace, 'b', cutAt, restoreAt) !== undefined,
    primaryAfterFailback: firstAnswerFrom(trace, 'a', restoreAt, blackholeAt) !== undefined,
    primaryAtEnd: last?.node === 'a',
    errorExamples: [...new Set([...trace.failures, ...trace.problems].map((e) => e.message))].slice(0, 3),
  };
}

/** When a pool first stopped preferring the primary after `from`, in ms since `from`. */
export function poolLeftPrimary(switches: readonly SwitchRecord[], who: string, from: number, until: number): number | undefined {
  const record = switches.find((s) => s.who === who && s.scope === 'pool' && s.from === 'a' && s.at >= from && s.at < until);
  return record && record.at - from;
}

export const seconds = (ms: number | undefined, digits = 2) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(digits)} s`);

const COLUMNS: Array<[header: string, width: number, cell: (c: ClientSummary) => string]> = [
  ['client', 16, (c) => c.label],
  ['sent', 5, (c) => String(c.sent)],
  ['answered', 9, (c) => String(c.answered)],
  ['lost', 5, (c) => String(c.lost)],
  ['errors', 7, (c) => String(c.errors)],
  ['leaked', 7, (c) => String(c.leaked)],
  ['blocks', 7, (c) => String(c.blocks)],
  ['dup blocks', 11, (c) => String(c.duplicateBlocks)],
  ['failover', 9, (c) => seconds(c.failoverMs)],
  ['failback', 9, (c) => seconds(c.failbackMs)],
  ['zombie left', 12, (c) => seconds(c.leftZombieMs)],
  ['failback', 9, (c) => seconds(c.failbackAfterBlackholeMs)],
];

/** The per-client table: a header line, then one line per client. */
export function summaryTable(clients: readonly ClientSummary[]): string[] {
  const row = (cells: string[]) => `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(COLUMNS[i]![1]) : cell.padStart(COLUMNS[i]![1]))).join(' ')}`;
  const cutWidth = COLUMNS.slice(0, 8).reduce((n, [, w]) => n + w + 1, 2);
  const group = `${' '.repeat(cutWidth)}${'── cut of a ──'.padStart(19)}  ${'── blackhole of a ──'.padStart(21)}`;
  return [group, row(COLUMNS.map(([header]) => header)), ...clients.map((c) => row(COLUMNS.map(([, , cell]) => cell(c))))];
}

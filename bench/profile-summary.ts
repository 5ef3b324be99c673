/**
 * `tsx bench/profile-summary.ts [file.cpuprofile] [--top 15]`
 *
 * Prints the functions with the most self time in a V8 CPU profile (from `node --cpu-prof`), and
 * self time by origin (steadyrpc, ws, viem, ethers, node internals, GC). Without a file, reads
 * the newest profile in bench/results/profiles/.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FrameTime {
  name: string;
  location: string;
  origin: string;
  selfMs: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  top: FrameTime[];
  /** Repository and ws functions by total time (their own plus what they call). */
  topInclusive: FrameTime[];
  byOrigin: Array<{ origin: string; selfMs: number }>;
}

const REPO = pathToFileURL(fileURLToPath(new URL('..', import.meta.url))).href;

function originOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') return functionName;
    return 'native / builtins';
  }
  if (url.startsWith('node:')) return 'node internals';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1]!;
  // dist/: the build, which the bench's processes load (bench/built.ts); src/: the tools run on it.
  if (url.startsWith(`${REPO}src/`) || url.startsWith(`${REPO}dist/`)) return 'steadyrpc';
  if (url.startsWith(`${REPO}bench/`)) return 'bench harness';
  if (url.startsWith(`${REPO}examples/`)) return 'examples';
  return 'other';
}

const sources = new Map<string, string[] | undefined>();

/**
 * Where a function is declared. tsx emits each module on one line, so for repository files the
 * line is found by looking for the declaration in the source instead.
 */
function locationOf(frame: CallFrame): string {
  const { url, functionName, lineNumber } = frame;
  if (url === '') return '';
  if (!url.startsWith(REPO)) return `${url.replace(/^file:\/\/.*node_modules\//, '')}:${lineNumber + 1}`;
  const path = url.slice(REPO.length);
  if (lineNumber > 0 || functionName === '') return `${path}${lineNumber > 0 ? `:${lineNumber + 1}` : ''}`;
  if (!sources.has(url)) {
    try {
      sources.set(url, readFileSync(fileURLToPath(url), 'utf8').split('\n'));
    } catch {
      sources.set(url, undefined);
    }
  }
  const escaped = functionName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const declaration = new RegExp(
    `^\\s*((public|private|protected|static|async|get|set|override|readonly)\\s+)*${escaped}\\s*(<[^>]*>)?\\(|\\b(function\\*?|const|let|var|class)\\s+${escaped}\\b|^\\s*(readonly\\s+)?${escaped}\\s*[:=]\\s*(async\\s*)?(\\(|function)`,
  );
  const line = sources.get(url)?.findIndex((text) => declaration.test(text) && !/^\s*(\/\/|\*)/.test(text)) ?? -1;
  return line >= 0 ? `${path}:${line + 1}` : path;
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sample it leads to.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const frames = new Map<string, FrameTime>();
  const origins = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    totalUs += us;
    if (callFrame.functionName === '(idle)') idleUs += us;
    const origin = originOf(callFrame);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
    const key = `${callFrame.functionName}|${callFrame.url}|${callFrame.lineNumber}|${callFrame.columnNumber}`;
    const entry = frames.get(key) ?? { name: callFrame.functionName || '(anonymous)', location: locationOf(callFrame), origin, selfMs: 0 };
    entry.selfMs += us / 1000;
    frames.set(key, entry);
  }
  // Total time: a node's self time plus its subtree's, counted once per function on a path.
  const inclusive = new Map<string, FrameTime>();
  const keyOf = (frame: CallFrame) => `${frame.functionName}|${frame.url}|${frame.lineNumber}|${frame.columnNumber}`;
  const subtreeUs = (id: number, onPath: Set<string>): number => {
    const node = byId.get(id)!;
    const key = keyOf(node.callFrame);
    const counted = !onPath.has(key);
    if (counted) onPath.add(key);
    let us = selfUs.get(id) ?? 0;
    for (const child of node.children ?? []) us += subtreeUs(child, onPath);
    if (counted) {
      onPath.delete(key);
      const origin = originOf(node.callFrame);
      if (origin === 'steadyrpc' || origin === 'ws' || origin === 'examples' || origin === 'bench harness') {
        const entry = inclusive.get(key) ?? { name: node.callFrame.functionName || '(anonymous)', location: locationOf(node.callFrame), origin, selfMs: 0 };
        entry.selfMs += us / 1000;
        inclusive.set(key, entry);
      }
    }
    return us;
  };
  const root = profile.nodes[0];
  if (root) subtreeUs(root.id, new Set());
  return {
    topInclusive: [...inclusive.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    top: [...frames.values()].filter((f) => f.name !== '(idle)').sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byOrigin: [...origins.entries()].map(([origin, us]) => ({ origin, selfMs: us / 1000 })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function renderSummary(summary: ProfileSummary): string {
  const pct = (ms: number) => `${((ms / summary.busyMs) * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `total ${summary.totalMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms, busy ${summary.busyMs.toFixed(0)} ms (percentages are of busy time)`,
    '',
    `top ${summary.top.length} functions by self time:`,
    ...summary.top.map((f, i) => `${String(i + 1).padStart(3)}. ${f.selfMs.toFixed(0).padStart(7)} ms ${pct(f.selfMs)}  ${f.name}  ${f.location ? `(${f.location})` : `[${f.origin}]`}`),
    '',
    `top ${summary.topInclusive.length} repository and ws functions by total time (self + callees):`,
    ...summary.topInclusive.map((f, i) => `${String(i + 1).padStart(3)}. ${f.selfMs.toFixed(0).padStart(7)} ms ${pct(f.selfMs)}  ${f.name}  (${f.location || f.origin})`),
    '',
    'self time by origin:',
    ...summary.byOrigin.filter((o) => o.origin !== '(idle)').map((o) => `     ${o.selfMs.toFixed(0).padStart(7)} ms ${pct(o.selfMs)}  ${o.origin}`),
  ];
  return lines.join('\n');
}

/** The newest .cpuprofile in `dir`. */
export async function newestProfile(dir: URL): Promise<string | undefined> {
  let newest: { path: string; mtime: number } | undefined;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.cpuprofile')) continue;
    const path = fileURLToPath(new URL(name, dir));
    const { mtimeMs } = await stat(path);
    if (!newest || mtimeMs > newest.mtime) newest = { path, mtime: mtimeMs };
  }
  return newest?.path;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
  const file = positionals[0] ?? (await newestProfile(new URL('./results/profiles/', import.meta.url)));
  if (!file) throw new Error('No .cpuprofile given and none in bench/results/profiles/ (run `tsx bench/profile.ts` first)');
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${file}\n${renderSummary(summarizeProfile(profile, Number(values.top)))}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

/**
 * The browser bundle of each public entry, as `npm run size` measures it (scripts/size.mjs: the
 * built package through its exports map, `browser` condition, minified, viem and ethers external).
 * Needs `npm run build` first; says so instead of measuring an old build or nothing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../ipc.js';

export interface SizeEntry {
  entry: string;
  rawBytes: number;
  gzipBytes: number;
  /** Gzipped bytes allowed, or null when the entry has no budget. */
  budget: number | null;
  /** What the bundle must not hold but does, and an exceeded budget. */
  problems: string[];
}

export interface SizeMeasurement {
  entries?: SizeEntry[];
  /** src/ is newer than dist/browser: the figures are of the last build. */
  stale?: boolean;
  unavailable?: string;
}

export async function sizeCase(): Promise<SizeMeasurement> {
  const script = join(REPO_ROOT, 'scripts', 'size.mjs');
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    // Exit status 1 is an answer too (a problem or a budget exceeded): the JSON says which.
    execFile(process.execPath, [script, '--json'], { encoding: 'utf8' }, (_error, out, err) => resolve({ stdout: out, stderr: err }));
  });
  const line = stdout.trim().split('\n').pop();
  if (!line?.startsWith('{')) return { unavailable: stderr.trim().split('\n')[0] ?? 'scripts/size.mjs printed nothing' };
  return JSON.parse(line) as SizeMeasurement;
}

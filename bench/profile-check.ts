/**
 * `tsx bench/profile-check.ts [--rounds 30] [--base <git revision>]`
 *
 * The CPU cost of the SIMD frame check's `check` export (src/jsonScan.wat) on newHeads
 * notifications, as UpstreamFrames calls it (the result object checked, its head read), with each
 * frame copied into the module's memory first, as the glue does. With `--base`, the module as it
 * was at that revision runs in the same rounds, interleaved, and the ratio (this ns / base ns) is
 * the median of the per-round ratios, steadier than either time on a shared machine. Times are
 * this process's CPU time (user + system).
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { JSON_SCAN_WASM } from '../src/jsonScanSimdBytes.js';
import { headJson } from './mockChain.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, base: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const CALLS = 100_000;

const PREFIX = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x5ab1e0000000000000000000000000001","result":';
const frames = Array.from({ length: 64 }, (_, i) => Buffer.from(`${PREFIX}${headJson(20_000_000 + i * 7919)}}}`));

interface Module {
  name: string;
  memory: WebAssembly.Memory;
  /** Where the module reads the text: byte 48 until the prefix slot moved it to 304. */
  textAt: number;
  /** The fifth argument (a prefix to compare) is ignored by modules from before it. */
  check(length: number, start: number, end: number, objectAt: number, prefix?: number): number;
}

function instantiate(name: string, base64: string): Module {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64'))).exports as unknown as Module;
  // Found by where a text it passes must be: the rest of the memory is zeros, which it refuses.
  const memory = new Uint8Array(exports.memory.buffer);
  const textAt = [304, 48].find((at) => {
    memory.fill(0);
    memory.set(Buffer.from('[1]'), at);
    return exports.check(3, 0, 3, -1, 0) === 1;
  });
  if (textAt === undefined) throw new Error(`${name}: cannot tell where the module reads the text`);
  return { name, memory: exports.memory, textAt, check: exports.check };
}

/** The module's base64 in src/jsonScanSimdBytes.ts at `revision`. */
function baseBytes(revision: string): string {
  const source = execFileSync('git', ['show', `${revision}:src/jsonScanSimdBytes.ts`], { encoding: 'utf8' });
  return [...source.matchAll(/'([A-Za-z0-9+/=]+)'/g)].map((match) => match[1]).join('');
}

/** ns per call: each frame copied in (a zero byte after it, as earlier modules wanted), then checked. */
function time(module: Module): number {
  const memory = new Uint8Array(module.memory.buffer);
  let passed = 0;
  const started = process.cpuUsage();
  for (let done = 0; done < CALLS; done += frames.length) {
    for (const frame of frames) {
      memory.set(frame, module.textAt);
      memory[module.textAt + frame.length] = 0;
      passed += module.check(frame.length, PREFIX.length, frame.length - 2, PREFIX.length, 0);
    }
  }
  const { user, system } = process.cpuUsage(started);
  if (passed !== Math.ceil(CALLS / frames.length) * frames.length) throw new Error(`${module.name}: a frame failed the check`);
  return ((user + system) * 1000) / (Math.ceil(CALLS / frames.length) * frames.length);
}

const modules = [instantiate('this', JSON_SCAN_WASM)];
if (values.base !== undefined) modules.push(instantiate(values.base, baseBytes(values.base)));
for (const module of modules) time(module); // compiled before anything is timed
const results = modules.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) modules.forEach((module, i) => results[i]!.push(time(module)));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(`check on ${frames[0]!.length}-byte newHeads frames, ${ROUNDS} rounds, CPU ns per call (median; all rounds)\n`);
modules.forEach((module, i) => {
  process.stdout.write(`  ${module.name.padEnd(10)} ${median(results[i]!).toFixed(0).padStart(5)} ns  (${results[i]!.map((ns) => ns.toFixed(0)).join(' ')})\n`);
});
if (values.base !== undefined) {
  const ratio = median(results[0]!.map((ns, round) => ns / results[1]![round]!));
  process.stdout.write(`  this / ${values.base}: ${ratio.toFixed(2)}× (median of the rounds' ratios)\n`);
}

/** A closed-loop load: N calls always in flight, each started when one finishes. */
import { sleep, waitAtMost } from './ipc.js';

export interface LoadOptions {
  /** Calls in flight. */
  concurrency: number;
  /** Measured window, in ms. */
  durationMs: number;
  /** Unmeasured run before the window (JIT, connection warm-up), in ms. */
  warmupMs: number;
}

export interface LoadResult {
  /** Calls answered inside the window. */
  requests: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

export async function closedLoop(call: () => Promise<unknown>, { concurrency, durationMs, warmupMs }: LoadOptions): Promise<LoadResult> {
  const samples: number[] = [];
  let recording = false;
  let stopping = false;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (!stopping) {
      const started = performance.now();
      try {
        await call();
        if (recording) samples.push(performance.now() - started);
      } catch (error) {
        if (recording) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
        // A call that fails at once must not starve the timers that end the run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(warmupMs);
  recording = true;
  const start = performance.now();
  await sleep(durationMs);
  recording = false;
  const seconds = (performance.now() - start) / 1000;
  stopping = true;
  await waitAtMost(Promise.all(workers), 10_000);
  return { ...summarize(samples), requests: samples.length, errors, firstError, seconds, reqPerSec: samples.length / seconds };
}

export function summarize(values: number[]): { p50Ms: number; p99Ms: number; meanMs: number; maxMs: number } {
  if (values.length === 0) return { p50Ms: NaN, p99Ms: NaN, meanMs: NaN, maxMs: NaN };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), meanMs: sum / sorted.length, maxMs: sorted[sorted.length - 1]! };
}

/** The q-quantile of sorted values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return quantile(Float64Array.from(values).sort(), 0.5);
}

/**
 * The browser build's frame check has no WebAssembly: its 2.6 KB module (and the base64 that
 * carries it) would weigh on every page for a speed that matters only at the notification rates a
 * server sees, and many pages' Content-Security-Policy refuses WebAssembly anyway. jsonScan.ts
 * then checks in JavaScript, as it does wherever WebAssembly is missing.
 */
import type { SimdFrameCheck } from './jsonScanSimd.js';

export type { HeadKeySlots, SimdFrameCheck } from './jsonScanSimd.js';

export function simdFrameCheck(): SimdFrameCheck | undefined {
  return undefined;
}

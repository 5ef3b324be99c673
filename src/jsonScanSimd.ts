/**
 * The frame check of `jsonScan.ts` on WebAssembly SIMD (src/jsonScan.wat): the bytes the text was
 * received as are copied into the module's memory (else the text is written there as UTF-8 with
 * `TextEncoder.encodeInto`) and checked 64 bytes at a time, several times faster than the regular expression and the scan in JavaScript.
 * Where WebAssembly is missing or refused (a page whose Content-Security-Policy does not allow
 * 'wasm-unsafe-eval', an engine without SIMD), there is none and the JavaScript check is used.
 */
import { JSON_SCAN_WASM } from './jsonScanSimdBytes.js';

/** Where the prefix a notification is compared with is kept (see `check`): bytes 48–303. */
const PREFIX_AT = 48;
/** The longest and the shortest prefix compared in the module; any other is not answered there. */
const MAX_PREFIX = 256;
const MIN_PREFIX = 16;
/** Where the text starts in the module's memory (bytes 0–39 receive the head keys and values). */
const TEXT_AT = PREFIX_AT + MAX_PREFIX;
/** Bytes after the text that the check fills with quotes, where a string left open ends and its 64-byte loads may run. */
const FILLER = 80;
/** Room the check takes after a text of `length` bytes: the filler, then (from a multiple of 8) its map of quotes, a bit a byte. */
const roomAfter = (length: number): number => FILLER + 8 + Math.ceil((length + FILLER) / 64) * 8;
/** The most memory the check takes; a larger text is left to the JavaScript check. */
const MAX_BYTES = 1024 * 1024;
const PAGE = 65_536;

/** Where the check notes the head keys it found, and what it read there (see `headKeys` in jsonScan.ts). */
export interface HeadKeySlots {
  hash: number;
  number: number;
  parentHash: number;
  read: boolean;
  parts: number;
  numberValue: number;
  hi: number;
  lo: number;
  parentHi: number;
  parentLo: number;
}

/**
 * `isPlainText(text) && isCompactValue(text, start, end, objectAt)`, answered on the text's bytes:
 * true or false as that would, with the head keys written to `keys` in the same way; `undefined`
 * when it cannot answer (a text with characters beyond ASCII, whose byte and character positions
 * differ, or larger than it takes). When it passes a text with `objectAt`, it also reads what
 * readHead (resultFields.ts) reads there, in the same way: `keys.read`, and `keys.parts` says
 * which values it could read (1: `hi` and `lo`, the hash's digests; 2: `numberValue`; 4:
 * `parentHi`; 8: `parentLo`).
 *
 * `bytes`, when given, must be the UTF-8 bytes `text` was decoded from. When they are as many as
 * its characters, each byte stands for the character at its position: an ASCII character, or a
 * byte that did not decode and became U+FFFD (which the check takes as the plain, non-ASCII
 * character it is), since every other sequence decodes to fewer characters than it has bytes. They
 * are then copied in as they are, instead of encoding the text again.
 *
 * `prefix`, when given (ASCII, 16 to 256 characters): first whether `text` opens with it, `null`
 * when it does not (then nothing else was checked). A notification of a known subscription is
 * told by its prefix in the same pass over its bytes (see frameShapes.ts).
 */
export type SimdFrameCheck = (
  text: string,
  start: number,
  end: number,
  objectAt: number,
  keys: HeadKeySlots,
  bytes?: Uint8Array,
  prefix?: string,
) => boolean | null | undefined;

interface Exports {
  memory: WebAssembly.Memory;
  check(length: number, start: number, end: number, objectAt: number, prefix: number): number;
}

/**
 * The check on WebAssembly SIMD, or `undefined` when `wasm` is missing (`null`) or refuses the module.
 * Compiled synchronously: the module is far below the size browsers compile on the main thread.
 */
export function simdFrameCheck(
  wasm: typeof WebAssembly | null = typeof WebAssembly === 'object' ? WebAssembly : null,
  encoder: TextEncoder | null = typeof TextEncoder === 'function' ? new TextEncoder() : null,
): SimdFrameCheck | undefined {
  if (wasm === null || encoder === null) return undefined;
  let exports: Exports;
  try {
    exports = new wasm.Instance(new wasm.Module(bytesOf(JSON_SCAN_WASM))).exports as unknown as Exports;
  } catch {
    return undefined;
  }
  const { memory, check } = exports;
  let slots = new Int32Array(memory.buffer, 0, 10);
  let digits = new Uint32Array(memory.buffer, 0, 10);
  let number = new Float64Array(memory.buffer, 16, 1);
  let prefixBytes = new Uint8Array(memory.buffer, PREFIX_AT, MAX_PREFIX);
  let textBytes = new Uint8Array(memory.buffer, TEXT_AT);
  let capacity = memory.buffer.byteLength;
  /** The prefix kept at PREFIX_AT ('' for none). */
  let kept = '';
  /** Whether the memory takes a text of `length` characters (encoded as UTF-8 at most 3 bytes each), grown if need be. */
  const roomFor = (length: number): boolean => {
    const after = roomAfter(length);
    if (TEXT_AT + length + after > MAX_BYTES) return false;
    // Capped: a text that still does not fit is not checked here.
    const room = Math.min(MAX_BYTES, TEXT_AT + length * 3 + after);
    if (room <= capacity) return true;
    try {
      memory.grow(Math.ceil((room - capacity) / PAGE));
    } catch {
      return false; // no memory to be had: checked in JavaScript
    }
    slots = new Int32Array(memory.buffer, 0, 10);
    digits = new Uint32Array(memory.buffer, 0, 10);
    number = new Float64Array(memory.buffer, 16, 1);
    prefixBytes = new Uint8Array(memory.buffer, PREFIX_AT, MAX_PREFIX);
    textBytes = new Uint8Array(memory.buffer, TEXT_AT);
    capacity = memory.buffer.byteLength;
    return true;
  };
  return (text: string, start: number, end: number, objectAt: number, keys: HeadKeySlots, bytes?: Uint8Array, prefix?: string): boolean | null | undefined => {
    const length = text.length;
    if (!roomFor(length)) return undefined;
    let prefixLength = 0;
    if (prefix !== undefined) {
      if (prefix !== kept) {
        if (prefix.length < MIN_PREFIX || prefix.length > MAX_PREFIX) return undefined;
        const { read, written } = encoder.encodeInto(prefix, prefixBytes);
        if (read !== prefix.length || written !== prefix.length) {
          kept = '';
          return undefined;
        }
        kept = prefix;
      }
      prefixLength = prefix.length;
    }
    if (bytes?.length === length) {
      textBytes.set(bytes);
    } else {
      const { read, written } = encoder.encodeInto(text, textBytes);
      // Beyond ASCII a character is several bytes: the positions would not match.
      if (read !== length || written !== length || textBytes.length - written < roomAfter(length)) return undefined;
    }
    const outcome = check(length, start, end, objectAt, prefixLength);
    if (outcome === 2) return null;
    const ok = outcome === 1;
    keys.hash = slots[0]!;
    keys.number = slots[1]!;
    keys.parentHash = slots[2]!;
    keys.read = ok && objectAt >= 0;
    if (keys.read) {
      keys.parts = slots[3]!;
      keys.numberValue = number[0]!;
      keys.hi = digits[6]!;
      keys.lo = digits[7]!;
      keys.parentHi = digits[8]!;
      keys.parentLo = digits[9]!;
    }
    return ok;
  };
}

function bytesOf(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

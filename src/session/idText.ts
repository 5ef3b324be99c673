/**
 * Client ids exactly as the client wrote them. JSON.parse reads `9007199254740993` as
 * 9007199254740992 (no double holds it), so an answer serialised from the parsed id would carry
 * another id, and two distinct ids could come back as one. A session keeps each call's id as JSON
 * text (`idText`) and writes that text into the answer. Node 20 has no JSON.parse source access,
 * so the raw digits are found by scanning the frame: only for the rare number that is not a safe
 * integer, and only in text JSON.parse has accepted.
 */

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** The head JSON.stringify writes for a response built as `{ jsonrpc: '2.0', id, … }`. */
const RESPONSE_HEAD = '{"jsonrpc":"2.0","id":';

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  return at;
}

/** Where the string that opens (with its `"`) at `at` ends: just after its closing quote. */
function stringEnd(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Where the JSON value that starts at `at` ends (iterative: deep nesting cannot overflow it). */
function valueEnd(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number or a literal runs to the next delimiter.
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || isSpace(code)) break;
      at++;
    }
    return at;
  }
  let depth = 0;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      at = stringEnd(text, at);
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if ((code === CLOSE_BRACE || code === CLOSE_BRACKET) && --depth === 0) return at + 1;
    at++;
  }
  return at;
}

/** Whether the key text `"…"` (quotes included) reads as `id`, escapes and all. */
function isIdKey(text: string, start: number, end: number): boolean {
  if (end - start === 4) return text.startsWith('"id"', start);
  if (!text.includes('\\', start) || text.indexOf('\\', start) >= end) return false;
  try {
    return JSON.parse(text.slice(start, end)) === 'id';
  } catch {
    return false;
  }
}

/**
 * Where the value of the object's `id` member lies (`[start, end)`) in the object opening at `at`;
 * the last one when the key repeats, as JSON.parse keeps the last. `undefined` when it has none.
 */
function idSpan(text: string, at: number): [number, number] | undefined {
  let span: [number, number] | undefined;
  let i = skipSpace(text, at + 1);
  while (i < text.length && text.charCodeAt(i) === QUOTE) {
    const keyEnd = stringEnd(text, i);
    const colon = skipSpace(text, keyEnd);
    if (text.charCodeAt(colon) !== COLON) return span;
    const start = skipSpace(text, colon + 1);
    const end = valueEnd(text, start);
    if (isIdKey(text, i, keyEnd)) span = [start, end];
    i = skipSpace(text, end);
    if (text.charCodeAt(i) !== COMMA) return span;
    i = skipSpace(text, i + 1);
  }
  return span;
}

/** The raw text of the `id` of a single request frame JSON.parse has accepted; `undefined` without one. */
export function rawIdText(frame: string): string | undefined {
  const at = skipSpace(frame, 0);
  if (frame.charCodeAt(at) !== OPEN_BRACE) return undefined;
  const span = idSpan(frame, at);
  return span && frame.slice(span[0], span[1]);
}

/** The raw id text of every item of a batch frame, by index (`undefined` for an item without one). */
export function rawBatchIdTexts(frame: string): Array<string | undefined> {
  const ids: Array<string | undefined> = [];
  let at = skipSpace(frame, 0);
  if (frame.charCodeAt(at) !== OPEN_BRACKET) return ids;
  at = skipSpace(frame, at + 1);
  while (at < frame.length && frame.charCodeAt(at) !== CLOSE_BRACKET) {
    const span = frame.charCodeAt(at) === OPEN_BRACE ? idSpan(frame, at) : undefined;
    ids.push(span && frame.slice(span[0], span[1]));
    at = skipSpace(frame, valueEnd(frame, at));
    if (frame.charCodeAt(at) !== COMMA) break;
    at = skipSpace(frame, at + 1);
  }
  return ids;
}

/**
 * The JSON text to answer a parsed id with: as written for a number that is not a safe integer
 * (`rawText()` finds it in the frame), else `JSON.stringify(id)` (which reads back as the same id).
 * So a whole number written otherwise than in plain digits (`1.0`, `1e2`, `-0`) comes back in
 * them (`1`, `100`, `0`): the same number. Its text differs, but only scanning the frame could
 * tell `1.0` from `1`, and that scan would then run for the commonest ids of all (1, 42): this is
 * on every client frame's path, so it stays a type check and `JSON.stringify` for them.
 */
export function idTextOf(id: unknown, rawText: () => string | undefined): string {
  if (typeof id === 'number' && !Number.isSafeInteger(id)) return rawText() ?? JSON.stringify(id);
  return id === undefined ? 'null' : JSON.stringify(id);
}

/**
 * Puts an exact id back into a serialised JSON-RPC response: `responseText` is one response object
 * (as JSON.stringify writes it, or any valid JSON object with an `id` member), `idText` the id's
 * JSON text as the client wrote it (a `ClientCall`'s `idText`). The response is serialised with the
 * parsed id, which may have lost digits, and gets the client's text back here. Returns the text
 * unchanged when its id already reads `idText`. Throws a `TypeError` when it has no `id` member.
 */
export function withIdText(responseText: string, idText: string): string {
  let start: number;
  let end: number;
  if (responseText.startsWith(RESPONSE_HEAD)) {
    start = RESPONSE_HEAD.length;
    end = valueEnd(responseText, start);
  } else {
    const at = skipSpace(responseText, 0);
    const span = responseText.charCodeAt(at) === OPEN_BRACE ? idSpan(responseText, at) : undefined;
    if (span === undefined) throw new TypeError('Expected a JSON-RPC response object with an id member');
    [start, end] = span;
  }
  if (end - start === idText.length && responseText.startsWith(idText, start)) return responseText;
  return `${responseText.slice(0, start)}${idText}${responseText.slice(end)}`;
}

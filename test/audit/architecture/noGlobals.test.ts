import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/architecture.md, opening: "Nothing reads a global clock, a global `WebSocket` or
// `process.env`: every timer goes through a `Clock`, every socket through a `SocketTransport`,
// every POST through an `HttpTransport`, every jitter through a `Random`." The globals are read
// only as the injectable defaults, in the files listed here.
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const DEFAULTS = new Set([
  'Clock.ts', // systemClock
  'random.ts', // defaultRandom
  'environment/browserEnvironment.ts',
  'transport/defaultSocketTransport.ts',
  'transport/defaultSocketTransport.browser.ts',
  'transport/defaultHttpTransport.ts',
  'transport/defaultHttpTransport.browser.ts',
  'transport/HttpTransport.ts', // FetchHttpTransport's default fetch
  'transport/StandardWebSocketTransport.ts', // its default WebSocket constructor
  'utf8Length.ts', // Buffer.byteLength when there is one: no time, socket or setting
]);
const GLOBAL_READS: Array<[string, RegExp]> = [
  ['Date.now', /\bDate\.now\s*\(/],
  ['new Date', /\bnew Date\s*\(/],
  ['performance.now', /\bperformance\.now\s*\(/],
  ['global timer', /(?<![.\w#])(setTimeout|setInterval|clearTimeout|clearInterval)\s*\(/],
  ['process.env', /\bprocess\.env\b/],
  ['globalThis', /\bglobalThis\b/],
  ['Math.random', /\bMath\.random\s*\(/],
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The code of a file, without its comments (a doc comment may name what the code must not use). */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('architecture.md: nothing reads a global clock, WebSocket or process.env', () => {
  it('outside the injectable defaults and src/testing, no source file reads a global timer, time, randomness or setting', () => {
    const found: string[] = [];
    for (const path of files(SRC)) {
      const name = relative(SRC, path).split('\\').join('/');
      if (name.startsWith('testing/') || DEFAULTS.has(name)) continue;
      const text = code(readFileSync(path, 'utf8'));
      for (const [what, pattern] of GLOBAL_READS) if (pattern.test(text)) found.push(`${name}: ${what}`);
    }
    expect(found).toEqual([]);
  });
});

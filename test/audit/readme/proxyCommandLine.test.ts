import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP, parseCommandLine } from '../../../examples/proxy/commandLine.js';
import { NodePool } from '../../../src/index.js';
import { FakeHttpTransport } from '../../../src/testing/index.js';

// README.md, "Use 1": the command line
//   npm run proxy -- --listen 127.0.0.1:18080 --upstream a=http://... --upstream b=... --backup c=https://...
// "The first `--upstream` is preferred; WebSocket URLs default to the HTTP URL with `http`→`ws`
// (same host, port and path [...]) so give it its own with `--upstream a=http://host:8545,ws://host:8546`."
// "`npm run proxy -- --help` lists every flag."
// examples/proxy/commandLine.test.ts checks a hand-picked list of flags and http→ws without a path.

const README_LINE = ['--listen', '127.0.0.1:18080', '--upstream', 'a=http://127.0.0.1:8545', '--upstream', 'b=http://127.0.0.1:8546', '--backup', 'c=https://rpc.example.com'];

function parsed(argv: string[]) {
  const options = parseCommandLine(argv);
  if (options === 'help') throw new Error('help');
  return options;
}

describe('README Use 1: the proxy command line', () => {
  it('parses the README line: a and b primary in that order, c backup with wss:// on the same host, port and path', () => {
    const options = parsed(README_LINE);
    expect(options.listen).toEqual({ host: '127.0.0.1', port: 18080 });
    expect(options.upstreams).toEqual([
      { name: 'a', tier: 'primary', http: 'http://127.0.0.1:8545', ws: 'ws://127.0.0.1:8545' },
      { name: 'b', tier: 'primary', http: 'http://127.0.0.1:8546', ws: 'ws://127.0.0.1:8546' },
      { name: 'c', tier: 'backup', http: 'https://rpc.example.com', ws: 'wss://rpc.example.com' },
    ]);
    const withPath = parsed(['--upstream', 'x=https://rpc.example.com:8443/v2/KEY?x=1']).upstreams[0]!;
    expect(withPath.ws).toBe('wss://rpc.example.com:8443/v2/KEY?x=1');
  });

  it('takes a WebSocket URL of its own after a comma (geth: --upstream a=http://host:8545,ws://host:8546)', () => {
    expect(parsed(['--upstream', 'a=http://host:8545,ws://host:8546']).upstreams).toEqual([
      { name: 'a', tier: 'primary', http: 'http://host:8545', ws: 'ws://host:8546' },
    ]);
  });

  it('the first --upstream is the preferred node when all are healthy, whatever order --backup comes in', () => {
    const { upstreams } = parsed(['--backup', 'c=https://rpc.example.com', '--upstream', 'b=http://127.0.0.1:8546', '--upstream', 'a=http://127.0.0.1:8545']);
    const pool = new NodePool({ nodes: upstreams, httpTransport: new FakeHttpTransport() });
    for (const name of ['a', 'b', 'c']) pool.update(name, { status: 'healthy', head: 100 });
    expect(pool.preferred()).toBe('b');
    pool.close();
  });

  it('--help lists every flag the parser accepts', () => {
    // The flags parseCommandLine hands to node:util parseArgs, read from its source.
    const source = readFileSync(new URL('../../../examples/proxy/commandLine.ts', import.meta.url), 'utf8');
    const integerFlags = [...source.match(/const INTEGER_FLAGS = \[([\s\S]*?)\] as const/)![1]!.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!);
    const options = source.match(/options: \{([\s\S]*?)\.\.\.\(Object\.fromEntries/)![1]!;
    const named = [...options.matchAll(/^\s*'?([a-z-]+)'?: \{ type:/gm)].map((m) => m[1]!);
    const flags = [...integerFlags, ...named];
    expect(flags.length).toBeGreaterThan(25);
    expect(flags.filter((flag) => !new RegExp(`^\\s+--${flag}\\b`, 'm').test(HELP))).toEqual([]);
    expect(parseCommandLine(['--help'])).toBe('help');
  });
});

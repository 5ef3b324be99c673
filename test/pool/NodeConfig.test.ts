import { describe, expect, it } from 'vitest';
import { NodePool, SteadyRpcError } from '../../src/index.js';

const make = (nodes: unknown) => () => new NodePool({ nodes: nodes as never });

describe('node configuration', () => {
  it.each([
    ['no nodes', [], /at least one node/],
    ['a node without a name', [{ http: 'http://a' }], /nodes\[0\]\.name must be a non-empty string/],
    ['duplicate names', [{ name: 'a', http: 'http://a' }, { name: 'a', http: 'http://b' }], /Duplicate node name "a"/],
    ['a node without endpoints', [{ name: 'a' }], /needs an http or a ws endpoint/],
    ['an http URL that does not parse', [{ name: 'a', http: 'not a url' }], /http is not a valid URL/],
    ['a ws URL in the http slot', [{ name: 'a', http: 'ws://a' }], /http URL must start with http:\/\/ or https:\/\//],
    ['an http URL in the ws slot', [{ name: 'a', ws: 'http://a' }], /ws URL must start with ws:\/\/ or wss:\/\//],
    ['an unknown tier', [{ name: 'a', http: 'http://a', tier: 'gold' }], /tier must be 'primary' or 'backup'/],
    ['a zero weight', [{ name: 'a', http: 'http://a', weight: 0 }], /expected weight to be a finite number > 0, got 0/],
    ['a revealPath that is not a boolean', [{ name: 'a', http: 'http://a', revealPath: 'yes' }], /expected revealPath to be a boolean, got string/],
  ])('rejects %s with a clear ERR_CONFIG', (_case, nodes, message) => {
    let error: unknown;
    try {
      make(nodes)();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SteadyRpcError);
    expect((error as SteadyRpcError).code).toBe('ERR_CONFIG');
    expect((error as SteadyRpcError).message).toMatch(message);
  });

  it('never puts credentials of a bad URL into the message', () => {
    expect(make([{ name: 'a', http: 'ftp://user:hunter2@host/v2/abcdefghijklmnopqrstuvwxyz123456' }])).toThrow(/^(?!.*hunter2)/s);
  });

  it('orders primaries in config order, then backups in config order', () => {
    const pool = new NodePool({
      nodes: [
        { name: 'b1', http: 'http://b1', tier: 'backup' },
        { name: 'p1', http: 'http://p1' },
        { name: 'b2', http: 'http://b2', tier: 'backup' },
        { name: 'p2', http: 'http://p2', tier: 'primary' },
      ],
    });
    expect(pool.nodes.map((n) => n.name)).toEqual(['p1', 'p2', 'b1', 'b2']);
  });

  it('accepts endpoint objects and functions, and shows static URLs only in their display form', () => {
    const pool = new NodePool({
      nodes: [
        { name: 'a', http: 'https://user:pw@rpc.example.com/v2/abcdefghijklmnopqrstuvwxyz123456?apikey=k' },
        { name: 'b', ws: { url: 'wss://b.example.com', headers: { authorization: 'Bearer x' } } },
        { name: 'c', http: async () => ({ url: 'http://c' }) },
      ],
    });
    const [a, b, c] = pool.snapshot().nodes;
    expect(a!.http).toBe('https://rpc.example.com/***');
    expect(b!.ws).toBe('wss://b.example.com/');
    expect(c!.http).toBeUndefined();
  });

  it('revealPath shows the path of that node only, never its userinfo, query or fragment', () => {
    const pool = new NodePool({
      nodes: [
        { name: 'a', http: 'https://user:pw@rpc.example.com/v2/mainnet?key=k3y#f', ws: 'wss://rpc.example.com/ws/mainnet', revealPath: true },
        { name: 'b', http: 'https://rpc.example.com/v2/mainnet' },
      ],
    });
    const [a, b] = pool.snapshot().nodes;
    expect(a!.http).toBe('https://***@rpc.example.com/v2/mainnet?***#***');
    expect(a!.ws).toBe('wss://rpc.example.com/ws/mainnet');
    expect(b!.http).toBe('https://rpc.example.com/***');
    expect(pool.node('a').revealPath).toBe(true);
    expect(pool.node('b').revealPath).toBe(false);
  });
});

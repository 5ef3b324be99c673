import { describe, expect, it } from 'vitest';
import { withoutAddresses } from './status.js';

describe('GET /status without --status-urls', () => {
  it('hides every address an error quotes: URLs, IP addresses, system errors, the nodes host names', () => {
    const hosts = ['node-a.internal', '10.1.2.3'];
    expect(withoutAddresses('HTTP request failed before it was sent (http://10.255.255.1:33433/***)', hosts)).toBe('HTTP request failed before it was sent (<hidden>)');
    expect(withoutAddresses('fetch failed: connect ECONNREFUSED 127.0.0.1:8545', hosts)).toBe('fetch failed: connect ECONNREFUSED <hidden>');
    expect(withoutAddresses('getaddrinfo ENOTFOUND rpc.example.com', hosts)).toBe('getaddrinfo ENOTFOUND <hidden>');
    expect(withoutAddresses('connect ETIMEDOUT [2001:db8::1]:443', hosts)).toBe('connect ETIMEDOUT <hidden>');
    expect(withoutAddresses('socket to node-a.internal closed (1006)', hosts)).toBe('socket to <hidden> closed (1006)');
    expect(withoutAddresses('Node "a" is 12 blocks behind (max 5)', hosts)).toBe('Node "a" is 12 blocks behind (max 5)');
  });
});

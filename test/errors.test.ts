import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SteadyRpcError } from '../src/errors.js';

const SECRETS = /alice|hunter22|s3cr3t|k3y|tok3n|frag-secret|Bearer/;

/** Every way an error is commonly turned into text. */
function renderings(error: Error): string[] {
  return [error.message, String(error), error.toString(), inspect(error, { depth: 10 }), JSON.stringify(error), error.stack ?? ''];
}

describe('SteadyRpcError.forUrl keeps credentials out', () => {
  const url = 'https://alice:hunter22@node.example.com/v2/k3y?id=tok3n#frag-secret';

  it('scrubs the message, the details and the cause chain', () => {
    const root = new Error(`connect failed for ${url}`);
    const error = SteadyRpcError.forUrl('ERR_TRANSPORT', 'Request failed', url, {
      cause: new Error('outer', { cause: root }),
      details: `tried ${url}`,
    });
    const chain: string[] = [error.message];
    for (let e: unknown = error.cause; e instanceof Error; e = e.cause) chain.push(e.message);
    expect(chain.join('\n')).not.toMatch(SECRETS);
    expect(chain.join('\n')).toContain('connect failed');
    expect(error.message).toContain('(https://node.example.com/***)');
  });

  it('nothing leaks through toString, String, util.inspect, JSON.stringify or the stacks', () => {
    const endpoint = { url, headers: { authorization: 'Bearer s3cr3t' } };
    const root = Object.assign(new Error(`header "Bearer s3cr3t" rejected by ${url}`), { code: 'E_HDR', address: url });
    const aggregate = new AggregateError([root, new Error(`retry ${url}`)], `all failed: ${url}`);
    const cause = new TypeError('fetch failed', { cause: aggregate });
    const error = SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed', endpoint, { cause, details: root.message });
    for (const text of renderings(error)) expect(text).not.toMatch(SECRETS);
    expect(inspect(error)).toContain('all failed');
  });

  it('a cause is a copy that keeps its class, name, code and network fields', () => {
    const cause = Object.assign(new TypeError('connect ECONNREFUSED 127.0.0.1:8545'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: '127.0.0.1',
      port: 8545,
      unrelated: `x ${url}`,
    });
    const copy = SteadyRpcError.forUrl('ERR_TRANSPORT', 'x', 'http://127.0.0.1:8545/', { cause }).cause as Record<string, unknown>;
    expect(copy).toBeInstanceOf(TypeError);
    expect(copy).toMatchObject({ message: cause.message, code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 8545 });
    expect(copy.unrelated).toBeUndefined();
  });

  it('a SteadyRpcError cause stays one, with its code, scrubbed', () => {
    const inner = new SteadyRpcError('ERR_TIMEOUT', `slow ${url}`, { details: `at ${url}` });
    const copy = SteadyRpcError.forUrl('ERR_TRANSPORT', 'x', url, { cause: inner }).cause as SteadyRpcError;
    expect(copy).toBeInstanceOf(SteadyRpcError);
    expect(copy.code).toBe('ERR_TIMEOUT');
    expect(copy.details).toBe('at https://node.example.com/***');
    expect(renderings(copy).join('\n')).not.toMatch(SECRETS);
  });

  it('a cause that is not an Error becomes one, scrubbed', () => {
    const copy = SteadyRpcError.forUrl('ERR_TRANSPORT', 'x', url, { cause: { reason: `bad ${url}` } }).cause;
    expect(copy).toBeInstanceOf(Error);
    expect(inspect(copy)).not.toMatch(SECRETS);
  });

  it('a cause chain deeper than 5 is cut, never followed forever', () => {
    const cyclic = new Error('loop');
    (cyclic as { cause?: unknown }).cause = cyclic;
    let depth = 0;
    for (let e: unknown = SteadyRpcError.forUrl('ERR_TRANSPORT', 'x', url, { cause: cyclic }); e instanceof Error; e = e.cause) depth++;
    expect(depth).toBe(7);
  });

  it('an error without a cause has no `cause` property', () => {
    expect('cause' in new SteadyRpcError('ERR_CONFIG', 'x')).toBe(false);
    expect(inspect(new SteadyRpcError('ERR_CONFIG', 'x'))).not.toContain('[cause]');
  });
});

import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession, type UpstreamSessionOptions } from '../../src/index.js';
import { FakeClock, FakeEnvironment, FakeSocketTransport } from '../../src/testing/index.js';

// UpstreamSession.checkOptions: what a host that makes sessions later (a server, one per client)
// calls when it starts. It must refuse exactly what the constructor refuses, with the same words,
// and accept what the constructor accepts, without a pool and without connecting.

type Options = Omit<UpstreamSessionOptions, 'pool'>;

const bad: Array<[string, Options]> = [
  ['a numeric setting', { requestTimeoutMs: -5 }],
  ['a count', { maxInFlight: 1.5 }],
  ['keepaliveMethod', { keepaliveMethod: '' }],
  ['backoff', { backoff: { factor: 0.5 } }],
  ['queue', { queue: { maxCount: 0 } }],
  ['consistency', { consistency: { pollMs: 0 } }],
  ['consistency.monotonic', { consistency: { monotonic: 'yes' as never } }],
  ['continuity', { continuity: { maxRetainedBytes: 0 } }],
  ['continuity.logs', { continuity: { logs: 1 as never } }],
  ['environment', { environment: { online: true } as never }],
  // Two bad options: the first the constructor reports is the one reported.
  ['two at once', { backoff: { jitter: 2 }, continuity: { reorgDepth: 0 } }],
];

function constructorError(options: Options): unknown {
  const clock = new FakeClock();
  const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock });
  try {
    new UpstreamSession({ transport: new FakeSocketTransport(), environment: new FakeEnvironment(), ...options, pool }).close();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    pool.close();
  }
}

describe('UpstreamSession.checkOptions', () => {
  it.each(bad)('refuses a bad %s with the ERR_CONFIG error the constructor throws', (_, options) => {
    const expected = constructorError(options) as Error & { code?: string };
    expect(expected).toBeInstanceOf(Error);
    expect(expected.code).toBe('ERR_CONFIG');
    expect(() => UpstreamSession.checkOptions(options)).toThrow(expected.message);
    try {
      UpstreamSession.checkOptions(options);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ERR_CONFIG');
    }
  });

  it('accepts what the constructor accepts, and starts nothing', () => {
    const clock = new FakeClock();
    const transport = new FakeSocketTransport();
    const options: Options = {
      clock,
      transport,
      environment: new FakeEnvironment(),
      requestTimeoutMs: 1_000,
      backoff: { initialDelayMs: 10, maxDelayMs: 100 },
      queue: { maxCount: 5, maxWaitMs: 50 },
      consistency: { waitMs: 100, pollMs: 10 },
      continuity: { logs: false, reorgDepth: 8 },
    };
    expect(() => UpstreamSession.checkOptions(options)).not.toThrow();
    expect(() => UpstreamSession.checkOptions({})).not.toThrow();
    expect(transport.sockets).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
    expect(constructorError(options)).toBeUndefined();
  });

  it('refuses options that are not an object', () => {
    expect(() => UpstreamSession.checkOptions(null as never)).toThrow('Expected UpstreamSession options to be an object, got null');
  });
});

import { describe, expect, it } from 'vitest';
import { CIRCUIT_BREAKER_DEFAULTS, CircuitBreaker, circuitBreakerSettings } from '../../src/pool/CircuitBreaker.js';

const breaker = (options = {}) => new CircuitBreaker(circuitBreakerSettings(options) as typeof CIRCUIT_BREAKER_DEFAULTS);

describe('CircuitBreaker', () => {
  it('opens after `failures` consecutive failures, not before; an answer starts the count over', () => {
    const b = breaker({ failures: 3, openMs: 1_000 });
    expect(b.failed(0)).toBeUndefined();
    expect(b.failed(0)).toBeUndefined();
    expect(b.succeeded()).toBeUndefined();
    expect(b.failed(0)).toBeUndefined();
    expect(b.failed(0)).toBeUndefined();
    expect(b.failed(10)).toEqual({ from: 'closed', to: 'open', openUntil: 1_010 });
    expect(b.state(10)).toBe('open');
    expect(b.admit(500)).toEqual({ admitted: false });
  });

  it('half-open lets exactly one trial through; its success closes the circuit', () => {
    const b = breaker({ failures: 1, openMs: 1_000 });
    b.failed(0);
    expect(b.state(1_000)).toBe('half-open');
    expect(b.admits(1_000)).toBe(true);
    expect(b.admit(1_000)).toEqual({ admitted: true, change: { from: 'open', to: 'half-open', openUntil: 1_000 } });
    expect(b.admit(1_001)).toEqual({ admitted: false });
    expect(b.succeeded()).toEqual({ from: 'half-open', to: 'closed', openUntil: undefined });
    expect(b.admit(1_002)).toEqual({ admitted: true });
  });

  it('a failed trial opens it again for twice as long, up to maxOpenMs', () => {
    const b = breaker({ failures: 1, openMs: 1_000, maxOpenMs: 3_000 });
    b.failed(0);
    b.admit(1_000);
    expect(b.failed(1_000)).toEqual({ from: 'half-open', to: 'open', openUntil: 3_000 });
    b.admit(3_000);
    expect(b.failed(3_000)).toEqual({ from: 'half-open', to: 'open', openUntil: 6_000 });
    b.admit(6_000);
    b.succeeded();
    b.failed(7_000);
    // Closed again: the open time starts over.
    expect(b.openUntil).toBe(8_000);
  });

  it('by default the open time is capped at 300 s (maxOpenMs)', () => {
    const b = breaker({ failures: 1, openMs: 100_000 });
    b.failed(0);
    b.admit(100_000);
    expect(b.failed(100_000)).toMatchObject({ openUntil: 300_000 });
    b.admit(300_000);
    expect(b.failed(300_000)).toMatchObject({ openUntil: 600_000 });
    b.admit(600_000);
    expect(b.failed(600_000)).toMatchObject({ openUntil: 900_000 });
  });

  it('a trial released without a verdict lets the next request try; a failure from before it opened changes nothing', () => {
    const b = breaker({ failures: 1, openMs: 1_000 });
    b.failed(0);
    expect(b.failed(10)).toBeUndefined();
    b.admit(1_000);
    b.released();
    expect(b.admit(1_000).admitted).toBe(true);
  });

  it('reset() closes it from any state', () => {
    const b = breaker({ failures: 1 });
    b.failed(0);
    expect(b.reset()).toEqual({ from: 'open', to: 'closed', openUntil: undefined });
    expect(b.reset()).toBeUndefined();
  });

  it('validates its options with clear messages', () => {
    expect(circuitBreakerSettings(undefined)).toEqual(CIRCUIT_BREAKER_DEFAULTS);
    expect(circuitBreakerSettings(false)).toBe(false);
    expect(() => circuitBreakerSettings({ failures: 0 })).toThrow('Expected breaker.failures to be an integer >= 1, got 0');
    expect(() => circuitBreakerSettings({ openMs: -1 })).toThrow('Expected breaker.openMs to be a finite number > 0, got -1');
    expect(() => circuitBreakerSettings({ openMs: 5_000, maxOpenMs: 10 })).toThrow('Expected breaker.maxOpenMs to be a finite number >= breaker.openMs (5000), got 10');
    expect(() => circuitBreakerSettings('on' as never)).toThrow('Expected breaker to be an object or false, got on');
  });
});

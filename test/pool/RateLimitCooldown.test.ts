import { describe, expect, it } from 'vitest';
import { RATE_LIMIT_DEFAULTS, RateLimitCooldown, rateLimitSettings, retryAfterMs } from '../../src/pool/RateLimitCooldown.js';

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates (RFC 9110 §10.2.3) against the clock', () => {
    const now = Date.parse('Tue, 01 Dec 2026 12:00:00 GMT');
    expect(retryAfterMs('2', now)).toBe(2_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Tue, 01 Dec 2026 12:00:07 GMT', now)).toBe(7_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 11:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-3', now)).toBeUndefined();
  });
});

describe('RateLimitCooldown', () => {
  const cooldown = () => new RateLimitCooldown(rateLimitSettings({ cooldownMs: 1_000, maxCooldownMs: 5_000 }));

  it("takes the node's own wait as it is, capped", () => {
    const c = cooldown();
    expect(c.hit('a', 0, 2_500)).toEqual({ until: 2_500, ms: 2_500 });
    expect(c.until('a', 2_499)).toBe(2_500);
    expect(c.until('a', 2_500)).toBeUndefined();
    expect(c.hit('b', 0, 3_600_000)).toEqual({ until: 5_000, ms: 5_000 });
  });

  it('without one, backs off from cooldownMs, doubling, until the node answers without a rate limit', () => {
    const c = cooldown();
    expect(c.hit('a', 0, undefined)).toEqual({ until: 1_000, ms: 1_000 });
    expect(c.hit('a', 1_000, undefined)).toEqual({ until: 3_000, ms: 2_000 });
    expect(c.hit('a', 3_000, undefined)).toEqual({ until: 7_000, ms: 4_000 });
    expect(c.hit('a', 7_000, undefined)).toEqual({ until: 12_000, ms: 5_000 });
    c.answered('a', 12_000);
    expect(c.hit('a', 12_000, undefined)).toEqual({ until: 13_000, ms: 1_000 });
  });

  it('rate limits that arrive while it cools down are not new strikes; a longer named wait lengthens it', () => {
    const c = cooldown();
    c.hit('a', 0, undefined);
    expect(c.hit('a', 10, undefined)).toBeUndefined();
    expect(c.hit('a', 20, undefined)).toBeUndefined();
    expect(c.hit('a', 30, 3_000)).toEqual({ until: 3_030, ms: 3_000 });
    // An answer to a request sent before the cool-down does not end the backoff.
    c.answered('a', 40);
    expect(c.hit('a', 3_030, undefined)).toEqual({ until: 5_030, ms: 2_000 });
  });

  it('a rate limit of a request sent before the cool-down began is no new strike, even when it arrives after it ended', () => {
    const c = cooldown();
    // Two requests sent at 0: the first is limited at 50, the second's limit comes at 1,200.
    expect(c.hit('a', 50, undefined, 0)).toEqual({ until: 1_050, ms: 1_000 });
    expect(c.hit('a', 1_200, undefined, 0)).toBeUndefined();
    expect(c.until('a', 1_200)).toBeUndefined();
    // The trial after the cool-down is limited too: that is the second strike.
    expect(c.admit('a', 1_200)).toBe(true);
    expect(c.hit('a', 1_250, undefined, 1_200)).toEqual({ until: 3_250, ms: 2_000 });
    // An old one that names a longer wait lengthens the cool-down, and is still no strike.
    expect(c.hit('a', 1_300, 4_000, 0)).toEqual({ until: 5_300, ms: 4_000 });
    expect(c.hit('a', 5_300, undefined, 5_300)).toEqual({ until: 9_300, ms: 4_000 });
  });

  it('an old rate limit arriving while the trial is under way leaves the trial alone', () => {
    const c = cooldown();
    c.hit('a', 50, undefined, 0);
    expect(c.admit('a', 1_050)).toBe(true);
    expect(c.hit('a', 1_100, undefined, 0)).toBeUndefined();
    expect(c.admit('a', 1_100)).toBe(false);
    c.answered('a', 1_150);
    expect(c.admit('a', 1_150)).toBe(true);
  });

  it('the trial limited while an older limit lengthened the cool-down: the trial is over, the next may go once it ends', () => {
    const c = cooldown();
    c.hit('a', 50, undefined, 0);
    expect(c.admit('a', 1_200)).toBe(true); // the trial
    expect(c.hit('a', 1_300, 4_000, 0)).toEqual({ until: 5_300, ms: 4_000 }); // an older request's limit names 4 s
    expect(c.hit('a', 1_350, undefined, 1_200)).toBeUndefined(); // the trial's own: no wait named, cooling already
    expect(c.admit('a', 5_299)).toBe(false);
    expect(c.admit('a', 5_300)).toBe(true);
  });

  // Found by the pool property test (PROPS_SEED=20262118): the trial's answer left it "under way"
  // for good, and no request went to the node ever again.
  it('the trial answered while an older limit lengthened the cool-down: the next may go once it ends', () => {
    const c = cooldown();
    c.hit('a', 50, undefined, 0);
    expect(c.admit('a', 1_200)).toBe(true); // the trial
    expect(c.hit('a', 1_300, 4_000, 0)).toEqual({ until: 5_300, ms: 4_000 }); // an older request's limit names 4 s
    c.answered('a', 1_350, 1_200); // the trial's answer, no rate limit
    expect(c.admit('a', 5_299)).toBe(false);
    expect(c.admit('a', 5_300)).toBe(true); // the next trial
    expect(c.admit('a', 5_300)).toBe(false);
    c.answered('a', 5_400, 5_300);
    expect(c.admit('a', 5_400)).toBe(true);
    expect(c.admit('a', 5_400)).toBe(true);
  });

  it("an older request's answer while the trial is under way, during a lengthened cool-down, leaves the trial alone", () => {
    const c = cooldown();
    c.hit('a', 50, undefined, 0);
    expect(c.admit('a', 1_200)).toBe(true);
    c.hit('a', 1_300, 4_000, 0);
    c.answered('a', 1_350, 1_000); // sent before the trial
    expect(c.admit('a', 5_300)).toBe(false);
  });

  it("a session's call sent during the cool-down, limited after it ended, is no new strike", () => {
    const c = cooldown();
    c.hit('a', 0, undefined, 0);
    expect(c.hit('a', 1_100, undefined, 900)).toBeUndefined();
    expect(c.hit('a', 1_200, undefined, 1_000)).toEqual({ until: 3_200, ms: 2_000 });
  });

  it('when a cool-down ends, one request goes first; the rest follow once the node answered it without a rate limit', () => {
    const c = cooldown();
    expect(c.admits('a', 0)).toBe(true);
    c.hit('a', 0, 1_000);
    expect(c.admit('a', 999)).toBe(false);
    expect(c.admit('a', 1_000)).toBe(true);
    expect(c.admit('a', 1_000)).toBe(false);
    c.released('a'); // the trial failed otherwise (or its caller gave up): the next one may try
    expect(c.admit('a', 1_001)).toBe(true);
    c.answered('a', 1_002);
    expect(c.admit('a', 1_002)).toBe(true);
    expect(c.admit('a', 1_002)).toBe(true);
  });

  it('validates its options with clear messages', () => {
    expect(rateLimitSettings(undefined)).toEqual(RATE_LIMIT_DEFAULTS);
    expect(() => rateLimitSettings({ cooldownMs: 0 })).toThrow('Expected rateLimit.cooldownMs to be a finite number > 0, got 0');
    expect(() => rateLimitSettings({ maxCooldownMs: 10 })).toThrow('Expected rateLimit.maxCooldownMs to be a finite number >= rateLimit.cooldownMs (1000), got 10');
    expect(() => rateLimitSettings(null as never)).toThrow('Expected rateLimit to be an object, got null');
  });
});

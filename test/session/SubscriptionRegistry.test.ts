import { describe, expect, it } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import { SubscriptionRegistry } from '../../src/session/SubscriptionRegistry.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('SubscriptionRegistry.add', () => {
  it('a new subscription is found by its client id and, until a replay, by the same upstream id', () => {
    const registry = new SubscriptionRegistry();
    const entry = registry.add('0x1', ['newHeads']);
    expect(entry).toEqual({ clientId: '0x1', upstreamId: '0x1', params: ['newHeads'] });
    expect(registry.byClientId('0x1')).toBe(entry);
    expect(registry.byUpstreamId('0x1')).toBe(entry);
    expect(registry.size).toBe(1);
  });

  it('keeps its own frozen copy of the params to replay', () => {
    const registry = new SubscriptionRegistry();
    const params: unknown[] = ['logs', { address: '0xabc' }];
    const entry = registry.add('0x1', params);
    params.push('later');
    expect(entry.params).toEqual(['logs', { address: '0xabc' }]);
    expect(Object.isFrozen(entry.params)).toBe(true);
  });

  it('adding an existing client id throws ERR_BAD_RESPONSE and leaves the first entry in place', () => {
    const registry = new SubscriptionRegistry();
    const first = registry.add('0x1', ['newHeads']);
    const error = thrown(() => registry.add('0x1', ['logs']));
    expect(isSteadyRpcError(error, 'ERR_BAD_RESPONSE')).toBe(true);
    expect((error as Error).message).toContain('"0x1"');
    expect(registry.byClientId('0x1')).toBe(first);
    expect(registry.size).toBe(1);
  });

  it('adding a client id that is still another entry\'s upstream id throws ERR_BAD_RESPONSE', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0xa', ['newHeads']);
    registry.setUpstream('0xa', '0x1');
    expect(isSteadyRpcError(thrown(() => registry.add('0x1', ['logs'])), 'ERR_BAD_RESPONSE')).toBe(true);
    expect(registry.byClientId('0x1')).toBeUndefined();
    expect(registry.byUpstreamId('0x1')?.clientId).toBe('0xa');
  });
});

describe('SubscriptionRegistry client and upstream ids are independent', () => {
  it('an upstream id equal to another entry\'s client id finds the right entry each way', () => {
    // Node A handed out 0x1 and 0x2; A died; node B counts from 0x1 again.
    const registry = new SubscriptionRegistry();
    const heads = registry.add('0x1', ['newHeads']);
    const logs = registry.add('0x2', ['logs', {}]);
    registry.detachAll();
    registry.setUpstream('0x2', '0x1'); // the logs replay answered first on B
    registry.setUpstream('0x1', '0x2');

    expect(registry.byUpstreamId('0x1')).toBe(logs);
    expect(registry.byUpstreamId('0x2')).toBe(heads);
    expect(registry.byClientId('0x1')).toBe(heads);
    expect(registry.byClientId('0x2')).toBe(logs);
  });

  it('removing one entry does not unmap another entry holding the same string as its upstream id', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['newHeads']);
    const logs = registry.add('0x2', ['logs', {}]);
    registry.detachAll();
    registry.setUpstream('0x2', '0x1');

    expect(registry.remove('0x1')?.upstreamId).toBeUndefined();
    expect(registry.byUpstreamId('0x1')).toBe(logs);
  });
});

describe('SubscriptionRegistry.setUpstream', () => {
  it('re-maps an entry: the old upstream id no longer finds it, the new one does, the client id is unchanged', () => {
    const registry = new SubscriptionRegistry();
    const entry = registry.add('0x1', ['newHeads']);
    registry.setUpstream('0x1', '0xff');
    expect(entry.upstreamId).toBe('0xff');
    expect(entry.clientId).toBe('0x1');
    expect(registry.byUpstreamId('0x1')).toBeUndefined();
    expect(registry.byUpstreamId('0xff')).toBe(entry);
    expect(registry.byClientId('0x1')).toBe(entry);
  });

  it('setting the same upstream id again is harmless', () => {
    const registry = new SubscriptionRegistry();
    const entry = registry.add('0x1', ['newHeads']);
    registry.setUpstream('0x1', '0x1');
    expect(registry.byUpstreamId('0x1')).toBe(entry);
  });

  it('an upstream id already held by another entry throws ERR_BAD_RESPONSE and changes nothing', () => {
    const registry = new SubscriptionRegistry();
    const heads = registry.add('0x1', ['newHeads']);
    const logs = registry.add('0x2', ['logs', {}]);
    expect(isSteadyRpcError(thrown(() => registry.setUpstream('0x2', '0x1')), 'ERR_BAD_RESPONSE')).toBe(true);
    expect(registry.byUpstreamId('0x1')).toBe(heads);
    expect(registry.byUpstreamId('0x2')).toBe(logs);
    expect(logs.upstreamId).toBe('0x2');
  });

  it('an unknown client id throws a RangeError', () => {
    const registry = new SubscriptionRegistry();
    expect(() => registry.setUpstream('0x9', '0x1')).toThrow(RangeError);
    expect(registry.byUpstreamId('0x1')).toBeUndefined();
  });
});

describe('SubscriptionRegistry.detachAll', () => {
  it('detaches every entry: upstream ids become undefined and find nothing, client ids still work', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['newHeads']);
    registry.add('0x2', ['logs', {}]);
    registry.detachAll();
    expect([...registry.entries()].map((e) => e.upstreamId)).toEqual([undefined, undefined]);
    expect(registry.byUpstreamId('0x1')).toBeUndefined();
    expect(registry.byUpstreamId('0x2')).toBeUndefined();
    expect(registry.byClientId('0x2')?.params).toEqual(['logs', {}]);
    expect(registry.size).toBe(2);
  });

  it('a detached entry can be re-attached by setUpstream', () => {
    const registry = new SubscriptionRegistry();
    const entry = registry.add('0x1', ['newHeads']);
    registry.detachAll();
    registry.setUpstream('0x1', '0x7');
    expect(registry.byUpstreamId('0x7')).toBe(entry);
  });
});

describe('SubscriptionRegistry.remove', () => {
  it('forgets the entry by both ids and returns it', () => {
    const registry = new SubscriptionRegistry();
    const entry = registry.add('0x1', ['newHeads']);
    registry.setUpstream('0x1', '0x5');
    expect(registry.remove('0x1')).toBe(entry);
    expect(entry.upstreamId).toBe('0x5'); // so the caller can unsubscribe upstream
    expect(registry.byClientId('0x1')).toBeUndefined();
    expect(registry.byUpstreamId('0x5')).toBeUndefined();
    expect(registry.size).toBe(0);
  });

  it('returns undefined for an unknown client id, and an upstream id is not a client id', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['newHeads']);
    registry.setUpstream('0x1', '0x5');
    expect(registry.remove('0x5')).toBeUndefined();
    expect(registry.size).toBe(1);
  });

  it('a removed client id can be added again', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['newHeads']);
    registry.remove('0x1');
    expect(registry.add('0x1', ['logs']).params).toEqual(['logs']);
  });
});

describe('SubscriptionRegistry.entries', () => {
  it('lists entries in insertion order, unaffected by re-mapping', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0xc', ['a']);
    registry.add('0xa', ['b']);
    registry.add('0xb', ['c']);
    registry.detachAll();
    registry.setUpstream('0xb', '0x1');
    registry.setUpstream('0xc', '0x2');
    registry.remove('0xa');
    expect([...registry.entries()].map((e) => e.clientId)).toEqual(['0xc', '0xb']);
  });
});

describe('a subscription answered on a socket the session is leaving', () => {
  it('can be added detached, so no upstream id of the current socket finds it until its replay maps it', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['newHeads']);
    const late = registry.add('0x9', ['logs', {}], null);
    expect(late.upstreamId).toBeUndefined();
    expect(registry.byUpstreamId('0x9')).toBeUndefined();
    registry.setUpstream('0x9', '0x2');
    expect(registry.byUpstreamId('0x2')).toBe(late);
  });
});

describe('SubscriptionRegistry.byUpstreamId right after a lookup of the same id', () => {
  // A stream of notifications looks the same id up again and again; every change must show at once.
  const fresh = (id: string) => `${id} `.slice(0, -1); // another string with the same text, as a frame would give

  it('sees a removal, a remap and a detach', () => {
    const registry = new SubscriptionRegistry();
    const a = registry.add('0xa', ['newHeads'], '0x1');
    expect(registry.byUpstreamId(fresh('0x1'))).toBe(a);
    expect(registry.byUpstreamId(fresh('0x1'))).toBe(a);
    registry.remove('0xa');
    expect(registry.byUpstreamId(fresh('0x1'))).toBeUndefined();

    const b = registry.add('0xb', ['newHeads'], '0x2');
    expect(registry.byUpstreamId('0x2')).toBe(b);
    registry.setUpstream('0xb', '0x3');
    expect(registry.byUpstreamId('0x2')).toBeUndefined();
    expect(registry.byUpstreamId('0x3')).toBe(b);
    registry.detachAll();
    expect(registry.byUpstreamId('0x3')).toBeUndefined();
    registry.setUpstream('0xb', '0x3');
    expect(registry.byUpstreamId('0x3')).toBe(b);
  });

  it('alternating ids each find their own entry', () => {
    const registry = new SubscriptionRegistry();
    const a = registry.add('0xa', ['newHeads'], '0x1');
    const b = registry.add('0xb', ['logs', {}], '0x2');
    for (let i = 0; i < 4; i++) {
      expect(registry.byUpstreamId(fresh('0x1'))).toBe(a);
      expect(registry.byUpstreamId(fresh('0x2'))).toBe(b);
    }
    expect(registry.byUpstreamId('0x3')).toBeUndefined();
  });
});

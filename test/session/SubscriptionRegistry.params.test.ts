import { describe, expect, it } from 'vitest';
import { SubscriptionRegistry } from '../../src/index.js';

// Found in review: `params` was copied one level deep, so a `logs` filter stayed the caller's object.
describe('SubscriptionRegistry params are a frozen copy', () => {
  it('a filter object the caller changes after add() does not change what is replayed', () => {
    const registry = new SubscriptionRegistry();
    const filter = { address: '0xaaaa', topics: ['0x01'] };
    registry.add('0x1', ['logs', filter]);
    filter.address = '0xbbbb';
    filter.topics.push('0x02');
    expect(registry.byClientId('0x1')!.params).toEqual(['logs', { address: '0xaaaa', topics: ['0x01'] }]);
  });

  it('the entry\'s params cannot be changed through the entry', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['logs', { address: '0xaaaa' }]);
    const params = registry.byClientId('0x1')!.params as [string, { address: string }];
    expect(() => {
      params[1].address = '0xbbbb';
    }).toThrow(TypeError);
  });
});

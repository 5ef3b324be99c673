import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_PREFIX, NOTIFICATION_RESULT, SUBSCRIPTION_AT, knownSubscription, notificationId, plainSubscriptionId } from '../src/frameShapes.js';

const idText = fc.string({ unit: fc.constantFrom('0', 'x', 'a', 'F', '1', '\\', '"', 'u', '\u0001', 'é', '.', '*', '$', '(', ']'), maxLength: 8 });
const frame = (id: string) => `${NOTIFICATION_PREFIX}${id}${NOTIFICATION_RESULT}{"number":"0x1"}}}`;

describe('plainSubscriptionId', () => {
  it('reads a plain id, and none with escapes or from another shape', () => {
    expect(plainSubscriptionId(frame('0x1f'))).toBe('0x1f');
    expect(plainSubscriptionId(frame('0x\\u0031'))).toBeUndefined();
    expect(plainSubscriptionId(frame(''))).toBeUndefined();
    expect(plainSubscriptionId('{"jsonrpc":"2.0","id":1,"result":"0x1"}')).toBeUndefined();
  });

  it('notificationId: a frame of a known subscription is known by one test, with the same answer as without', () => {
    const withResult = (text: string) => {
      const id = plainSubscriptionId(text);
      return id !== undefined && text.startsWith(NOTIFICATION_RESULT, SUBSCRIPTION_AT + id.length) ? id : undefined;
    };
    fc.assert(
      fc.property(idText, idText, fc.boolean(), fc.constantFrom(NOTIFICATION_RESULT, '","result" :', '","error":'), (id, other, same, tail) => {
        const known = plainSubscriptionId(frame(other));
        fc.pre(known !== undefined);
        const text = `${NOTIFICATION_PREFIX}${same ? other : id}${tail}{}}}`;
        expect(notificationId(text, knownSubscription(known!))).toBe(withResult(text));
        expect(notificationId(text)).toBe(withResult(text));
      }),
      { numRuns: 5_000 },
    );
    expect(notificationId(frame('0x1.+'), knownSubscription('0x1.+'))).toBe('0x1.+');
    expect(notificationId(frame('0x1ab'), knownSubscription('0x1.+'))).toBe('0x1ab');
  });
});

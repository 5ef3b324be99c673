import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_PREFIX, NOTIFICATION_RESULT, plainSubscriptionId } from '../src/frameShapes.js';

const idText = fc.string({ unit: fc.constantFrom('0', 'x', 'a', 'F', '1', '\\', '"', 'u', '\u0001', 'é'), maxLength: 8 });
const frame = (id: string) => `${NOTIFICATION_PREFIX}${id}${NOTIFICATION_RESULT}{"number":"0x1"}}}`;

describe('plainSubscriptionId', () => {
  it('reads a plain id, and none with escapes or from another shape', () => {
    expect(plainSubscriptionId(frame('0x1f'))).toBe('0x1f');
    expect(plainSubscriptionId(frame('0x\\u0031'))).toBeUndefined();
    expect(plainSubscriptionId(frame(''))).toBeUndefined();
    expect(plainSubscriptionId('{"jsonrpc":"2.0","id":1,"result":"0x1"}')).toBeUndefined();
  });

  it('given an id it returned before, answers as it does without it', () => {
    fc.assert(
      fc.property(idText, idText, fc.boolean(), (id, other, same) => {
        const known = plainSubscriptionId(frame(other));
        fc.pre(known !== undefined);
        const text = frame(same ? other : id);
        const answer = plainSubscriptionId(text, known);
        expect(answer).toBe(plainSubscriptionId(text));
      }),
      { numRuns: 5_000 },
    );
  });
});

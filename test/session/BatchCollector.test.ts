import { describe, expect, it, vi } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import type { JsonRpcResponse } from '../../src/jsonrpc.js';
import { errorResponse } from '../../src/jsonrpc.js';
import { BatchCollector } from '../../src/session/BatchCollector.js';

const ok = (id: number, result: unknown = id): JsonRpcResponse => ({ jsonrpc: '2.0', id, result });

describe('BatchCollector', () => {
  it('answers in the batch order, whatever order the answers arrive in', () => {
    const onComplete = vi.fn();
    const batch = new BatchCollector(3, onComplete);
    batch.set(2, ok(2));
    batch.set(0, ok(0));
    expect(onComplete).not.toHaveBeenCalled();
    expect(batch.complete).toBe(false);
    batch.set(1, errorResponse(1, -32052, 'timed out'));
    expect(onComplete).toHaveBeenCalledOnce();
    expect(onComplete).toHaveBeenCalledWith([ok(0), errorResponse(1, -32052, 'timed out'), ok(2)]);
    expect(batch.complete).toBe(true);
  });

  it('leaves skipped notifications out of the answer', () => {
    const onComplete = vi.fn();
    const batch = new BatchCollector(3, onComplete);
    batch.skip(1);
    batch.set(0, ok(0));
    batch.set(2, ok(2));
    expect(onComplete).toHaveBeenCalledWith([ok(0), ok(2)]);
  });

  it('completes with an empty answer when every item is a notification', () => {
    const onComplete = vi.fn();
    const batch = new BatchCollector(2, onComplete);
    batch.skip(0);
    batch.skip(1);
    expect(onComplete).toHaveBeenCalledExactlyOnceWith([]);
    expect(batch.complete).toBe(true);
  });

  it('ignores a second answer for the same index: exactly one answer each', () => {
    const onComplete = vi.fn();
    const batch = new BatchCollector(2, onComplete);
    batch.set(0, ok(0, 'first'));
    batch.set(0, ok(0, 'second'));
    batch.skip(0);
    expect(batch.complete).toBe(false);
    batch.set(1, ok(1));
    expect(onComplete).toHaveBeenCalledExactlyOnceWith([ok(0, 'first'), ok(1)]);
  });

  it('fires onComplete once, however many answers arrive after completion', () => {
    const onComplete = vi.fn();
    const batch = new BatchCollector(1, onComplete);
    batch.set(0, ok(0));
    batch.set(0, ok(0, 'late'));
    batch.skip(0);
    expect(onComplete).toHaveBeenCalledOnce();
  });

  it('reports complete as true when onComplete runs', () => {
    let seen: boolean | undefined;
    const batch: BatchCollector = new BatchCollector(1, () => {
      seen = batch.complete;
    });
    batch.set(0, ok(0));
    expect(seen).toBe(true);
  });

  it.each([-1, 3, 1.5, Number.NaN])('rejects index %s with a RangeError', (index) => {
    const batch = new BatchCollector(3, () => {});
    expect(() => batch.set(index, ok(0))).toThrow(RangeError);
    expect(() => batch.skip(index)).toThrow(RangeError);
  });

  it.each([0, -1, 2.5, Number.NaN])('rejects size %s with ERR_CONFIG', (size) => {
    let error: unknown;
    try {
      new BatchCollector(size, () => {});
    } catch (e) {
      error = e;
    }
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as Error).message).toBe(`Expected size to be an integer >= 1, got ${size}`);
  });
});

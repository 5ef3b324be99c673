import { describe, expect, it } from 'vitest';
import { SteadyRpcError } from '../../../src/index.js';

// docs/reference.md, `SteadyRpcError` codes: the cause chain holds scrubbed copies of the original
// errors. Built-in error classes are kept (test/errors.test.ts); the causes steadyrpc really meets
// that are not built in (undici's own error classes under fetch's TypeError, the DOMException of an
// aborted or timed-out fetch) become an Error that keeps its `name` and `code`. The audit found the
// doc promised "same class" for all of them; it now says this.

const endpoint = 'https://node.example.com/v3/secret-key';

/** An error class of a library (undici's ConnectTimeoutError, ws's own errors …). */
class ConnectTimeoutError extends Error {
  override name = 'ConnectTimeoutError';
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
}

describe('SteadyRpcError causes of other classes keep their name and code (docs/reference.md)', () => {
  it('a cause of a library error class is copied as an Error with its name and code, scrubbed', () => {
    const cause = new ConnectTimeoutError(`Connect Timeout Error (${endpoint})`);
    const copy = SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed', endpoint, { cause }).cause as Error;
    expect(copy.message).not.toContain('secret-key');
    expect(copy).toMatchObject({ name: 'ConnectTimeoutError', code: 'UND_ERR_CONNECT_TIMEOUT' });
    expect(copy).toBeInstanceOf(Error);
    expect(copy).not.toBeInstanceOf(ConnectTimeoutError);
  });

  it('a DOMException cause (a fetch timed out or aborted) keeps its name, as an Error', () => {
    const cause = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const copy = SteadyRpcError.forUrl('ERR_TIMEOUT', 'HTTP request timed out', endpoint, { cause }).cause as Error;
    expect(copy.name).toBe('TimeoutError');
    expect(copy).toBeInstanceOf(Error);
    expect(copy).not.toBeInstanceOf(DOMException);
  });
});

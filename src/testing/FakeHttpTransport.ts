import { SteadyRpcError } from '../errors.js';
import type { HttpEndpoint, HttpResponse, HttpTransport } from '../transport/HttpTransport.js';
import { markNotDelivered } from '../transport/HttpTransport.js';

/** Answers one POST. Must reject when `signal` aborts, as `fetch` does. */
export type FakeHttpHandler = (body: string, signal: AbortSignal, endpoint: HttpEndpoint) => Promise<HttpResponse>;

export interface RecordedHttpRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly body: string;
}

/**
 * How a URL fails, whatever its route:
 * - `refuse`: the connection is refused; the request never reaches the handler and the error
 *   proves it (`isNotDelivered` is true), so even a write may go to another node;
 * - `reset-after-send`: the handler gets the request and carries it out, then the connection
 *   breaks before its answer arrives; the error proves nothing (a write must not be sent again).
 */
export type FakeHttpFailure = 'refuse' | 'reset-after-send';

/**
 * An {@link HttpTransport} with no network: each URL is routed to a handler (typically
 * `FakeNode.http`). A URL with no route is refused, like a closed port; {@link fail} makes a routed
 * URL refuse or break after sending.
 */
export class FakeHttpTransport implements HttpTransport {
  readonly requests: RecordedHttpRequest[] = [];
  readonly #routes = new Map<string, FakeHttpHandler>();
  readonly #failures = new Map<string, FakeHttpFailure>();

  route(url: string, handler: FakeHttpHandler): this {
    this.#routes.set(url, handler);
    return this;
  }

  unroute(url: string): this {
    this.#routes.delete(url);
    return this;
  }

  /** Makes every request to `url` fail this way until {@link restore}. */
  fail(url: string, failure: FakeHttpFailure): this {
    this.#failures.set(url, failure);
    return this;
  }

  /** Ends a {@link fail}: `url` goes back to its route. */
  restore(url: string): this {
    this.#failures.delete(url);
    return this;
  }

  async post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse> {
    this.requests.push({ url: endpoint.url, headers: endpoint.headers, body });
    signal.throwIfAborted();
    const handler = this.#routes.get(endpoint.url);
    const failure = this.#failures.get(endpoint.url);
    if (!handler || failure === 'refuse') {
      throw markNotDelivered(SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed before it was sent: connection refused', endpoint.url));
    }
    if (failure === 'reset-after-send') {
      await handler(body, signal, endpoint);
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed: connection reset after the request was sent', endpoint.url);
    }
    return handler(body, signal, endpoint);
  }
}

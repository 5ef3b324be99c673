import { SteadyRpcError } from '../errors.js';
import type { HttpEndpoint, HttpResponse, HttpTransport } from '../transport/HttpTransport.js';

/** Answers one POST. Must reject when `signal` aborts, as `fetch` does. */
export type FakeHttpHandler = (body: string, signal: AbortSignal, endpoint: HttpEndpoint) => Promise<HttpResponse>;

export interface RecordedHttpRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly body: string;
}

/**
 * An {@link HttpTransport} with no network: each URL is routed to a handler (typically
 * `FakeNode.http`). A URL with no route is refused, like a closed port.
 */
export class FakeHttpTransport implements HttpTransport {
  readonly requests: RecordedHttpRequest[] = [];
  readonly #routes = new Map<string, FakeHttpHandler>();

  route(url: string, handler: FakeHttpHandler): this {
    this.#routes.set(url, handler);
    return this;
  }

  unroute(url: string): this {
    this.#routes.delete(url);
    return this;
  }

  async post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse> {
    this.requests.push({ url: endpoint.url, headers: endpoint.headers, body });
    signal.throwIfAborted();
    const handler = this.#routes.get(endpoint.url);
    if (!handler) {
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed: connection refused', endpoint.url);
    }
    return handler(body, signal, endpoint);
  }
}

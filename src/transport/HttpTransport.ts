import { SteadyRpcError } from '../errors.js';

/** Where to POST, resolved fresh before every request so credentials can rotate. */
export interface HttpEndpoint {
  url: string;
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * POSTs a JSON body and returns the status and the raw body. Holds no policy: retries, timeouts
 * and failover belong to the caller, which passes an `AbortSignal` for each attempt.
 */
export interface HttpTransport {
  post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse>;
}

/** The default {@link HttpTransport}, over the global `fetch` (or one passed in). */
export class FetchHttpTransport implements HttpTransport {
  readonly #fetch: typeof fetch;

  constructor(fetchImpl: typeof fetch = globalThis.fetch) {
    if (typeof fetchImpl !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', 'No fetch implementation: pass one to FetchHttpTransport');
    }
    this.#fetch = fetchImpl;
  }

  async post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse> {
    let response: Response;
    try {
      const { url, authorization } = splitUserinfo(endpoint.url);
      response = await this.#fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authorization, ...endpoint.headers },
        body,
        signal,
      });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      // fetch's own messages can carry the URL; never pass them on unredacted.
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed', endpoint.url, {
        cause: error,
        details: error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined,
      });
    }
  }
}

/**
 * fetch refuses URLs with userinfo; send it as Basic auth instead (as ws does for socket URLs),
 * unless the endpoint's own headers set an authorization.
 */
function splitUserinfo(raw: string): { url: string; authorization: Record<string, string> | undefined } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw, authorization: undefined };
  }
  if (url.username === '' && url.password === '') return { url: raw, authorization: undefined };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

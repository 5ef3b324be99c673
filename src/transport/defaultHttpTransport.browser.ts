import type { HttpPlatform } from './defaultHttpTransport.js';
import type { HttpTransport } from './HttpTransport.js';
import { FetchHttpTransport } from './HttpTransport.js';

/**
 * `defaultHttpTransport` in the browser build (the `browser` condition of the package's exports):
 * always {@link FetchHttpTransport} over the platform's `fetch`. Unlike the Node build's, it never
 * refers to `NodeHttpTransport`, so no bundle of it holds `node:http`.
 */
export function defaultHttpTransport(platform: HttpPlatform = globalThis as HttpPlatform): HttpTransport {
  return new FetchHttpTransport(platform.fetch as typeof fetch);
}

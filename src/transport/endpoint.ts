/**
 * A node's address: a URL string, a fixed endpoint object, or a function called before every
 * connect (or request) that returns one, so short-lived credentials are fetched fresh each time.
 */
export type EndpointSource<T extends { url: string }> = string | T | (() => T | Promise<T>);

export async function resolveEndpoint<T extends { url: string }>(source: EndpointSource<T>): Promise<T> {
  if (typeof source === 'string') return { url: source } as T;
  if (typeof source === 'function') return await source();
  return source;
}

/** The URL of a source when it is known without calling anything, for validation and display. */
export function staticUrl(source: EndpointSource<{ url: string }>): string | undefined {
  if (typeof source === 'string') return source;
  if (typeof source === 'function') return undefined;
  return source.url;
}

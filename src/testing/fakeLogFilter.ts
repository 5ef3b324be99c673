/**
 * Whether a log matches a `logs` subscription's or `eth_getLogs`' filter, as geth reads one:
 * `address` one address or a list of them (any; compared without regard to case); `topics` by
 * position, each `null` (any), one topic, or a list of them (any), a log with fewer topics than the
 * filter has positions matching none (geth's `filterLogs`). A filter that is not an object matches
 * every log.
 */
export function logMatches(filter: unknown, log: { readonly address: string; readonly topics: readonly string[] }): boolean {
  if (typeof filter !== 'object' || filter === null) return true;
  const { address, topics } = filter as { address?: unknown; topics?: unknown };
  if (address !== undefined && address !== null && !anyOf(address, log.address)) return false;
  if (!Array.isArray(topics)) return true;
  if (topics.length > log.topics.length) return false;
  return topics.every((wanted, i) => wanted === null || wanted === undefined || (log.topics[i] !== undefined && anyOf(wanted, log.topics[i]!)));
}

function anyOf(wanted: unknown, value: string): boolean {
  const lower = value.toLowerCase();
  return (Array.isArray(wanted) ? wanted : [wanted]).some((w) => typeof w === 'string' && w.toLowerCase() === lower);
}

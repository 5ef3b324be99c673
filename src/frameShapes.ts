/**
 * The frame shapes nodes send most, as geth, reth, erigon, nethermind and anvil write them. A frame
 * that matches, and whose result or error checks as one JSON value (`jsonScan.ts`), is
 * re-addressed by splicing an id (or subscription id) into its text instead of parsing and
 * serialising it again; anything else takes the general path. Shared by the session and
 * SharedSocketTransport, which both re-address frames.
 */

/** An answer: `{"jsonrpc":"2.0","id":N,"result":…` or `…"error":…`; group 1 is N. */
export const ANSWER_HEAD = /^\{"jsonrpc":"2\.0","id":(\d{1,15}),"(?:result|error)":/;

/** Where the id's digits start in a frame that matches {@link ANSWER_HEAD}: after `{"jsonrpc":"2.0","id":`. */
export const ID_AT = 22;

/** A notification, up to the opening quote of its subscription id. */
export const NOTIFICATION_PREFIX = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"';

/** Where the subscription id starts in a notification frame. */
export const SUBSCRIPTION_AT = NOTIFICATION_PREFIX.length;

/** What follows the subscription id's closing quote in a notification frame, up to its result. */
export const NOTIFICATION_RESULT = '","result":';

// Tested with a regular expression: V8's startsWith compares a pattern this long ten times slower.
const NOTIFICATION_HEAD = new RegExp(`^${NOTIFICATION_PREFIX.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

/**
 * The subscription id of a notification frame in the common shape, when it has no escapes (an id
 * with escapes reads differently once parsed); `undefined` for any other frame. It ends at
 * `SUBSCRIPTION_AT + id.length`, on its closing quote. When the frame's id is `known` (an id this
 * returned before, so with no quote or backslash, held elsewhere as a map's key, say), that string
 * is returned: no slice of the frame is made, and comparing or looking up the same string object is
 * cheap.
 */
export function plainSubscriptionId(text: string, known?: string): string | undefined {
  if (!NOTIFICATION_HEAD.test(text)) return undefined;
  if (known !== undefined && text.charCodeAt(SUBSCRIPTION_AT + known.length) === 34 /* " */ && text.startsWith(known, SUBSCRIPTION_AT)) return known;
  const end = text.indexOf('"', SUBSCRIPTION_AT);
  if (end <= SUBSCRIPTION_AT) return undefined;
  const id = text.slice(SUBSCRIPTION_AT, end);
  return id.includes('\\') ? undefined : id;
}

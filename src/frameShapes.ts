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
const NOTIFICATION_HEAD = new RegExp(`^${escapeRegExp(NOTIFICATION_PREFIX)}`);

/**
 * The subscription id of a notification frame in the common shape, when it has no escapes (an id
 * with escapes reads differently once parsed); `undefined` for any other frame. It ends at
 * `SUBSCRIPTION_AT + id.length`, on its closing quote.
 */
export function plainSubscriptionId(text: string): string | undefined {
  if (!NOTIFICATION_HEAD.test(text)) return undefined;
  const end = text.indexOf('"', SUBSCRIPTION_AT);
  if (end <= SUBSCRIPTION_AT) return undefined;
  const id = text.slice(SUBSCRIPTION_AT, end);
  return id.includes('\\') ? undefined : id;
}

/**
 * A subscription id that notifications keep coming for, with one test for its frames: the common
 * shape, that id, and {@link NOTIFICATION_RESULT}. Made from an id {@link plainSubscriptionId}
 * read (no quote, no backslash).
 */
export interface KnownSubscription {
  readonly id: string;
  /** Its frames' opening, up to their result: what `head` tests for. */
  readonly prefix: string;
  readonly head: RegExp;
}

export function knownSubscription(id: string): KnownSubscription {
  const prefix = `${NOTIFICATION_PREFIX}${id}${NOTIFICATION_RESULT}`;
  return { id, prefix, head: new RegExp(`^${escapeRegExp(prefix)}`) };
}

/**
 * The subscription id of a notification frame that opens in the common shape up to its result
 * (`NOTIFICATION_PREFIX`, a plain id, `NOTIFICATION_RESULT`); `undefined` for any other frame. For
 * a frame of `known`, its id string, found with one regular expression test (V8's `startsWith` at
 * an offset, and the slice of a frame and its hashing, cost more than the rest of the way does).
 */
export function notificationId(text: string, known?: KnownSubscription): string | undefined {
  if (known !== undefined && known.head.test(text)) return known.id;
  const id = plainSubscriptionId(text);
  return id !== undefined && text.startsWith(NOTIFICATION_RESULT, SUBSCRIPTION_AT + id.length) ? id : undefined;
}

/**
 * Whether `text` may be a notification of `known`, by three characters: `"method"` where an answer
 * has `"id"`, and the last character of its id followed by the closing quote where they are in its
 * frames. A quick sieve before the frame is compared with `known.prefix` in full.
 */
export function mayBeNotificationOf(text: string, known: KnownSubscription): boolean {
  const last = SUBSCRIPTION_AT + known.id.length - 1;
  return text.charCodeAt(ID_AT - 4) === 109 /* m */ && text.charCodeAt(last) === known.id.charCodeAt(known.id.length - 1) && text.charCodeAt(last + 1) === 34 /* " */;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

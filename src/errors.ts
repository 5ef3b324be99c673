import type { SecretBearer } from './redact.js';
import { redactText, redactUrl } from './redact.js';

/** Stable codes for every error steadyrpc throws or emits. */
export type SteadyRpcErrorCode =
  /** Options or node configuration were invalid. */
  | 'ERR_CONFIG'
  /** The object was used after `close()`. */
  | 'ERR_CLOSED'
  /** An operation did not finish within its deadline. */
  | 'ERR_TIMEOUT'
  /** The operation was aborted by its caller. */
  | 'ERR_ABORTED'
  /** A transport (HTTP or socket) failed: refused, reset, bad status, unreadable body. */
  | 'ERR_TRANSPORT'
  /** No node could serve the request. */
  | 'ERR_UPSTREAM_UNAVAILABLE'
  /** A node refused us for authentication or policy reasons (401/403, close 4401/1008/1003). */
  | 'ERR_UPSTREAM_AUTH'
  /** A node is on a different chain than the others. */
  | 'ERR_CHAIN_MISMATCH'
  /** A node answered, but the answer was not what the probe needs. */
  | 'ERR_BAD_RESPONSE'
  /** A node's head is further behind the best head than allowed. */
  | 'ERR_LAGGING'
  /** steadyrpc broke one of its own rules: a bug, please report it. */
  | 'ERR_INTERNAL';

const DETAILS = '\n\nDetails: ';

export interface SteadyRpcErrorOptions {
  cause?: unknown;
  /** Extra facts for logs; must not contain credentials. */
  details?: string;
}

/**
 * The one error class of steadyrpc. `code` is stable and meant for programs; `message` is for
 * people. URLs must go through {@link redactUrl} (or {@link SteadyRpcError.forUrl}) before they
 * reach a message.
 */
export class SteadyRpcError extends Error {
  override name = 'SteadyRpcError';
  readonly code: SteadyRpcErrorCode;
  readonly details: string | undefined;

  constructor(code: SteadyRpcErrorCode, shortMessage: string, options: SteadyRpcErrorOptions = {}) {
    // No own `cause` property when there is none: inspect() would print `[cause]: undefined`.
    super(options.details ? `${shortMessage}${DETAILS}${options.details}` : shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /**
   * An error about an endpoint, with its credentials kept out: the URL shows in its display form
   * (see {@link redactUrl}), and the details and the whole `cause` chain are copies with every
   * secret of the endpoint (userinfo, path, query, fragment, header values) replaced by `***` —
   * `util.inspect` and loggers print causes, and the messages of fetch and ws can quote the URL.
   * The copies keep each cause's name, stack (scrubbed) and `code`/`errno`/`syscall`/`address`/`port`.
   */
  static forUrl(
    code: SteadyRpcErrorCode,
    shortMessage: string,
    endpoint: string | SecretBearer,
    options: SteadyRpcErrorOptions = {},
  ): SteadyRpcError {
    const scrub = (text: string) => redactText(text, endpoint);
    const url = typeof endpoint === 'string' ? endpoint : endpoint.url;
    return new SteadyRpcError(code, `${shortMessage} (${redactUrl(url)})`, {
      cause: scrubbedCopy(options.cause, scrub, 0),
      details: options.details === undefined ? undefined : scrub(options.details),
    });
  }
}

/** Whether `error` is a {@link SteadyRpcError}, optionally with the given code. */
export function isSteadyRpcError(error: unknown, code?: SteadyRpcErrorCode): error is SteadyRpcError {
  return error instanceof SteadyRpcError && (code === undefined || error.code === code);
}

/** A short, credential-free description of any thrown value, for health records and logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

/** How deep a cause chain is copied; a deeper cause is left out. */
const MAX_CAUSE_DEPTH = 5;
const COPIED_FIELDS = ['code', 'errno', 'syscall', 'address', 'port'] as const;
const BUILTIN_ERRORS: readonly ErrorConstructor[] = [Error, TypeError, RangeError, SyntaxError];

/**
 * `error` as a SteadyRpcError that shows nothing `scrub` would hide: itself when it already shows
 * nothing (checked on its message, details and cause chain), else a scrubbed copy; a thrown value
 * that is not a SteadyRpcError is wrapped, with `shortMessage` before its first line. For errors
 * from code steadyrpc does not own (custom probes and transports) about a known node.
 */
export function scrubbedError(
  error: unknown,
  scrub: (text: string) => string,
  code: SteadyRpcErrorCode,
  shortMessage: string,
): SteadyRpcError {
  if (!(error instanceof SteadyRpcError)) {
    return new SteadyRpcError(code, scrub(`${shortMessage}: ${describeError(error)}`), { cause: scrubbedCopy(error, scrub, 0) });
  }
  for (let e: unknown = error, depth = 0; e instanceof Error && depth <= MAX_CAUSE_DEPTH; e = e.cause, depth++) {
    if (scrub(e.message) !== e.message || scrub(e.stack ?? '') !== (e.stack ?? '')) return scrubbedCopy(error, scrub, 0) as SteadyRpcError;
  }
  return error;
}

/**
 * A copy of a thrown value that shows nothing `scrub` would hide: Errors keep their class (for
 * built-in ones), code and fields, messages and stacks scrubbed; other values become Errors.
 */
function scrubbedCopy(value: unknown, scrub: (text: string) => string, depth: number): unknown {
  if (value === undefined || depth > MAX_CAUSE_DEPTH) return undefined;
  if (!(value instanceof Error)) return new Error(scrub(typeof value === 'string' ? value : describeValue(value)));
  const cause = scrubbedCopy(value.cause, scrub, depth + 1);
  const options = cause === undefined ? undefined : { cause };
  const message = scrub(value.message);
  let copy: Error;
  if (value instanceof SteadyRpcError) {
    const { details } = value;
    const short = !details ? value.message : value.message.slice(0, value.message.length - details.length - DETAILS.length);
    copy = new SteadyRpcError(value.code, scrub(short), { cause, details: details === undefined ? undefined : scrub(details) });
  } else if (value instanceof AggregateError) {
    copy = new AggregateError(value.errors.map((e: unknown) => scrubbedCopy(e, scrub, depth + 1)), message, options);
  } else {
    const Builtin = BUILTIN_ERRORS.find((type) => Object.getPrototypeOf(value) === type.prototype) ?? Error;
    copy = new Builtin(message, options);
  }
  if (copy.name !== value.name) Object.defineProperty(copy, 'name', { value: scrub(String(value.name)), configurable: true, writable: true });
  if (value.stack !== undefined) copy.stack = scrub(value.stack);
  const fields = value as unknown as Record<string, unknown>;
  for (const field of COPIED_FIELDS) {
    const v = fields[field];
    if (typeof v === 'number') (copy as unknown as Record<string, unknown>)[field] = v;
    else if (typeof v === 'string') (copy as unknown as Record<string, unknown>)[field] = scrub(v);
  }
  return copy;
}

function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

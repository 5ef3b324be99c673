import { redactText, redactUrl, secretsOf } from './redact.js';

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
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.code = code;
    this.details = options.details;
  }

  /**
   * An error about a URL, with its credentials stripped — from the message, the details, and the
   * `cause` chain (a cause whose message would show a secret is replaced by a redacted copy).
   */
  static forUrl(
    code: SteadyRpcErrorCode,
    shortMessage: string,
    url: string,
    options: SteadyRpcErrorOptions = {},
  ): SteadyRpcError {
    return new SteadyRpcError(code, `${shortMessage} (${redactUrl(url)})`, {
      cause: scrubCause(options.cause, url),
      details: options.details === undefined ? undefined : redactText(options.details, url),
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

function leaks(error: unknown, secrets: string[], depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  return secrets.some((secret) => error.message.includes(secret)) || leaks(error.cause, secrets, depth + 1);
}

/** `cause` as is, unless its message chain shows a secret of `url`: then a redacted copy. */
function scrubCause(cause: unknown, url: string): unknown {
  const secrets = [url, ...secretsOf(url)];
  if (!leaks(cause, secrets)) return cause;
  const messages: string[] = [];
  for (let e: unknown = cause; e instanceof Error && messages.length < 5; e = e.cause) messages.push(redactText(e.message, url));
  const copy = new Error(messages.join(' <- '));
  copy.name = (cause as Error).name;
  return copy;
}

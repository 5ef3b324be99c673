/** EIP-1193 codes the adapters use themselves. */
export const ProviderErrorCode = Object.freeze({
  /** The provider is not connected to any chain: closed, or no node is reachable. */
  DISCONNECTED: 4900,
});

/**
 * A failed JSON-RPC call as EIP-1193 shapes it: the numeric `code` and `data` of the JSON-RPC
 * error (or an EIP-1193 code such as 4900), so callers and libraries can branch on `code`.
 */
export class ProviderRpcError extends Error {
  override name = 'ProviderRpcError';
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** Whether a request for `method` may be sent again to another node. */
export type RepeatablePredicate = (method: string) => boolean;

/** Methods that act (sign, send, change node state) and would act twice if sent again. */
const UNREPEATABLE_METHODS: ReadonlySet<string> = new Set([
  'eth_sendtransaction',
  'eth_sign',
  'eth_signtransaction',
  'eth_signtypeddata',
  'eth_signtypeddata_v1',
  'eth_signtypeddata_v3',
  'eth_signtypeddata_v4',
]);

/** Namespaces of node-local actions: accounts, dev-chain control, mining, admin, debug setters, wallets. */
const UNREPEATABLE_PREFIXES: readonly string[] = Object.freeze([
  'personal_',
  'anvil_',
  'hardhat_',
  'evm_',
  'miner_',
  'admin_',
  'debug_set',
  'wallet_',
]);

/**
 * Whether a request that was in flight when its upstream died may be sent again on the new one.
 *
 * The old node may have carried the request out before it died, and nobody can know. Reads are
 * harmless twice. `eth_sendRawTransaction` is too: the same signed transaction has the same hash,
 * so a second submission is at worst rejected as known. `eth_subscribe` is too: the old upstream
 * and its subscription are gone. Signing with a node-held key, `eth_sendTransaction` (the node
 * picks the nonce, so twice may mean two transactions) and state-changing dev, admin and wallet
 * methods are not: such a request is answered with `NOT_RESENT` instead.
 *
 * Matching ignores case, so an oddly cased method errs on the side of not resending.
 */
export const isRepeatable: RepeatablePredicate = (method) => {
  const name = method.toLowerCase();
  if (UNREPEATABLE_METHODS.has(name)) return false;
  return !UNREPEATABLE_PREFIXES.some((prefix) => name.startsWith(prefix));
};

import { describe, expect, it } from 'vitest';
import { isRepeatable } from '../../src/session/repeatable.js';

describe('isRepeatable', () => {
  it.each([
    'eth_sendTransaction',
    'eth_sign',
    'eth_signTransaction',
    'eth_signTypedData',
    'eth_signTypedData_v1',
    'eth_signTypedData_v3',
    'eth_signTypedData_v4',
  ])('%s may act twice, so it is not repeatable', (method) => {
    expect(isRepeatable(method)).toBe(false);
  });

  it.each([
    'personal_sign',
    'personal_sendTransaction',
    'personal_unlockAccount',
    'anvil_mine',
    'anvil_setBalance',
    'hardhat_impersonateAccount',
    'evm_mine',
    'evm_revert',
    'evm_increaseTime',
    'miner_start',
    'admin_addPeer',
    'debug_setHead',
    'wallet_addEthereumChain',
    'wallet_sendCalls',
  ])('%s is in a state-changing namespace, so it is not repeatable', (method) => {
    expect(isRepeatable(method)).toBe(false);
  });

  it.each([
    'eth_chainId',
    'eth_blockNumber',
    'eth_call',
    'eth_getBalance',
    'eth_getLogs',
    'eth_estimateGas',
    'eth_getTransactionReceipt',
    'net_version',
    'web3_clientVersion',
    'debug_traceTransaction',
  ])('the read %s is repeatable', (method) => {
    expect(isRepeatable(method)).toBe(true);
  });

  it('eth_sendRawTransaction is repeatable: the same signed transaction has the same hash', () => {
    expect(isRepeatable('eth_sendRawTransaction')).toBe(true);
  });

  it('eth_subscribe and eth_unsubscribe are repeatable: the old upstream is gone', () => {
    expect(isRepeatable('eth_subscribe')).toBe(true);
    expect(isRepeatable('eth_unsubscribe')).toBe(true);
  });

  it('names that only resemble an unrepeatable method stay repeatable', () => {
    expect(isRepeatable('eth_signatures')).toBe(true);
    expect(isRepeatable('eth_sendTransactionCount')).toBe(true);
    expect(isRepeatable('eth_getTransactionByHash')).toBe(true);
    expect(isRepeatable('debug_getBadBlocks')).toBe(true);
  });

  it('oddly cased methods err on the side of not resending', () => {
    expect(isRepeatable('ETH_SENDTRANSACTION')).toBe(false);
    expect(isRepeatable('Anvil_Mine')).toBe(false);
  });
});

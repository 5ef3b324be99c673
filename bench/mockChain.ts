/** The mock upstream's chain data: mainnet-sized heads and logs as JSON text, built from templates. */

/** A mainnet-like header (about 1.2 KB on the wire); number, hash and parent hash filled in per block. */
const HEADER = {
  parentHash: 'PARENT',
  sha3Uncles: '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347',
  miner: '0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5',
  stateRoot: `0x${'2b'.repeat(32)}`,
  transactionsRoot: `0x${'3c'.repeat(32)}`,
  receiptsRoot: `0x${'4d'.repeat(32)}`,
  logsBloom: `0x${'5e'.repeat(256)}`,
  difficulty: '0x0',
  number: 'NUMBER',
  gasLimit: '0x1c9c380',
  gasUsed: '0xf4a6b2',
  timestamp: '0x66b2a1c3',
  extraData: '0x6265617665726275696c642e6f7267',
  mixHash: `0x${'6f'.repeat(32)}`,
  nonce: '0x0000000000000000',
  baseFeePerGas: '0x3b9aca00',
  withdrawalsRoot: `0x${'70'.repeat(32)}`,
  blobGasUsed: '0x20000',
  excessBlobGas: '0x0',
  parentBeaconBlockRoot: `0x${'81'.repeat(32)}`,
  hash: 'HASH',
};
const HEADER_PARTS = JSON.stringify(HEADER).split(/"PARENT"|"NUMBER"|"HASH"/) as [string, string, string, string];
export const hashOf = (n: number) => `"0x${n.toString(16).padStart(64, '0')}"`;
/** Block `n` as JSON: distinct hashes, so steadyrpc's duplicate suppression sees distinct heads. */
export const headJson = (n: number) => `${HEADER_PARTS[0]}${hashOf(n - 1)}${HEADER_PARTS[1]}"0x${n.toString(16)}"${HEADER_PARTS[2]}${hashOf(n)}${HEADER_PARTS[3]}`;
let logIndex = 0;
const LOG_PARTS = JSON.stringify({
  address: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48',
  topics: ['0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef', `0x${'0'.repeat(24)}${'ab'.repeat(20)}`, `0x${'0'.repeat(24)}${'cd'.repeat(20)}`],
  data: `0x${'0'.repeat(56)}05f5e100`,
  blockNumber: 'NUMBER',
  transactionHash: `0x${'a1'.repeat(32)}`,
  transactionIndex: '0x5',
  blockHash: 'HASH',
  logIndex: 'INDEX',
  removed: false,
}).split(/"NUMBER"|"HASH"|"INDEX"/) as [string, string, string, string];
export const logJson = (n: number) => `${LOG_PARTS[0]}"0x${n.toString(16)}"${LOG_PARTS[1]}${hashOf(n)}${LOG_PARTS[2]}"0x${(logIndex++).toString(16)}"${LOG_PARTS[3]}`;

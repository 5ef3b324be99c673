/**
 * Differential test: FakeNode (src/testing) against a real anvil in comparable states.
 *
 * Both get the same chain shape: head 7, one log (address LOGGER, data 0x1234, logIndex 0) in
 * block 6, nothing else. Hashes differ by construction, so hashes are compared by shape and by
 * what they link to (parentHash = the hash of the block below, on each node), never by value.
 *
 * - `agree`: what the fake and anvil answer alike (and geth too, as far as known): pinned, so the
 *   fake cannot drift from it unnoticed.
 * - `agree, but geth answers otherwise`: pinned as well, because the fake follows anvil there today;
 *   each names what geth answers (execution-apis tests, which geth generates, or geth's source).
 *   Whoever moves the fake towards geth drops the matching case here.
 * - `differ`: one `it.fails` each: the body asserts that the fake answers as anvil does, and fails
 *   because it does not. Each says what geth does and whether steadyrpc reads that answer.
 *
 * Last, the subscriptions: one more block (8, with one log) is mined on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainView } from '../../../src/consistency/ChainView.js';
import { classifyNodeError } from '../../../src/pool/nodeErrors.js';
import { head as readHeadResult, identify, readHead } from '../../../src/session/resultFields.js';
import { FakeChain, FakeNode, FakeSocketTransport } from '../../../src/testing/index.js';
import type { AnvilNode } from '../../integration/helpers/anvil.js';
import { DEV_ACCOUNT } from '../../integration/helpers/anvil.js';
import { startManualAnvil } from '../../integration/helpers/manualAnvil.js';
import { WsClient } from '../../integration/helpers/wsClient.js';

const CHAIN_ID = 31337;
const HEAD = 7;
const LOG_BLOCK = 6;
const LOGGER = '0x00000000000000000000000000000000000000aa';
/** CALLDATASIZE PUSH0 PUSH0 CALLDATACOPY PUSH1 0x2a CALLDATASIZE PUSH0 LOG1 STOP: one log of the call data. */
const LOGGER_CODE = '0x365f5f37602a365fa100';
const HASH32 = /^0x[0-9a-f]{64}$/;
const QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/;
const ZERO_HASH = `0x${'0'.repeat(64)}`;
const UNKNOWN_HASH = `0x${'ab'.repeat(32)}`;

interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: any;
  error?: { code: number; message: string };
}

let anvil: AnvilNode;
let fake: FakeNode;

async function anvilCall(method: string, params: unknown = []): Promise<Envelope> {
  const response = await fetch(anvil.httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await response.json()) as Envelope;
}

function fakeCall(method: string, params: unknown = []): Envelope {
  // Through JSON, as it would reach a client.
  return JSON.parse(JSON.stringify(fake.answer({ jsonrpc: '2.0', id: 1, method, params: params as unknown[] }))) as Envelope;
}

async function both(method: string, params: unknown = []): Promise<{ fake: Envelope; anvil: Envelope }> {
  return { fake: fakeCall(method, params), anvil: await anvilCall(method, params) };
}

/** What kind of answer: an error (with its code), null, an array, or an object. */
function outcome(envelope: Envelope): string {
  if (envelope.error) return `error ${envelope.error.code}`;
  if (envelope.result === null) return 'null';
  if (Array.isArray(envelope.result)) return 'array';
  return typeof envelope.result;
}

async function anvilOk(method: string, params: unknown[] = []): Promise<any> {
  const answer = await anvilCall(method, params);
  if (answer.error) throw new Error(`${method}: ${answer.error.message} (${answer.error.code})`);
  return answer.result;
}

/** A header as steadyrpc reads it (hash, number, parentHash) and as every node writes it. */
function expectHeader(block: any, number: number): void {
  expect(block.number).toBe(`0x${number.toString(16)}`);
  expect(block.hash).toMatch(HASH32);
  expect(block.parentHash).toMatch(HASH32);
  expect(block.timestamp).toMatch(QUANTITY);
  // steadyrpc's own reader of head texts finds the same fields.
  expect(identify('newHeads', JSON.stringify(block))).toMatchObject({ hash: block.hash, number: block.number, parentHash: block.parentHash });
}

/** The one log both chains have, in block 6 of each. */
function expectTheLog(log: any, blockHash: string): void {
  expect(log).toMatchObject({ address: LOGGER, blockNumber: `0x${LOG_BLOCK.toString(16)}`, blockHash, logIndex: '0x0', data: '0x1234', removed: false });
  expect(identify('logs', JSON.stringify(log))).toMatchObject({ blockHash, blockNumber: log.blockNumber, logIndex: '0x0', removed: false });
}

const blockHash = async (n: number) => ({ fake: fakeCall('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]).result.hash as string, anvil: (await anvilOk('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])).hash as string });

beforeAll(async () => {
  anvil = await startManualAnvil({ chainId: CHAIN_ID, genesisTimestamp: 1_700_000_000 });
  await anvilOk('anvil_mine', ['0x5']);
  await anvilOk('anvil_setCode', [LOGGER, LOGGER_CODE]);
  await anvilOk('eth_sendTransaction', [{ from: DEV_ACCOUNT, to: LOGGER, data: '0x1234' }]);
  await anvilOk('evm_mine', []);
  await anvilOk('evm_mine', []);

  fake = new FakeNode({ chainId: CHAIN_ID, chain: new FakeChain() });
  fake.advance(LOG_BLOCK).emitLog(LOGGER, '0x1234').advance(HEAD - LOG_BLOCK);

  // The states are comparable: same head, one log in block 6 on each.
  expect(await anvilOk('eth_blockNumber')).toBe(`0x${HEAD.toString(16)}`);
  expect((await anvilOk('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])).map((l: any) => l.blockNumber)).toEqual(['0x6']);
}, 30_000);

afterAll(async () => {
  await anvil?.stop();
});

describe('agree', () => {
  it('eth_blockNumber: the head, as a quantity', async () => {
    const { fake: f, anvil: a } = await both('eth_blockNumber');
    expect(f.result).toBe('0x7');
    expect(a.result).toBe(f.result);
  });

  it('eth_chainId: the chain id, as a quantity', async () => {
    const { fake: f, anvil: a } = await both('eth_chainId');
    expect(f.result).toBe('0x7a69');
    expect(a.result).toBe(f.result);
  });

  it("eth_getBlockByNumber 'latest': the head, linked to the block below it", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['latest', false]);
    const below = await blockHash(HEAD - 1);
    expectHeader(f.result, HEAD);
    expectHeader(a.result, HEAD);
    expect(f.result.parentHash).toBe(below.fake);
    expect(a.result.parentHash).toBe(below.anvil);
  });

  it('eth_getBlockByNumber by number: 0x5, 0X5 and the JSON number 5 are block 5', async () => {
    const five = await both('eth_getBlockByNumber', ['0x5', false]);
    expectHeader(five.fake.result, 5);
    expectHeader(five.anvil.result, 5);
    for (const tag of ['0X5', 5]) {
      const { fake: f, anvil: a } = await both('eth_getBlockByNumber', [tag, false]);
      expect(f.result.hash).toBe(five.fake.result.hash);
      expect(a.result.hash).toBe(five.anvil.result.hash);
    }
  });

  it("eth_getBlockByNumber 'earliest': block 0, whose parent is the zero hash", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['earliest', false]);
    expectHeader(f.result, 0);
    expectHeader(a.result, 0);
    expect(f.result.parentHash).toBe(ZERO_HASH);
    expect(a.result.parentHash).toBe(ZERO_HASH);
  });

  it('eth_getBlockByNumber full (true) and not (false): the same block', async () => {
    for (const tag of ['latest', '0x3']) {
      const full = await both('eth_getBlockByNumber', [tag, true]);
      const hashes = await both('eth_getBlockByNumber', [tag, false]);
      expect(full.fake.result.hash).toBe(hashes.fake.result.hash);
      expect(full.anvil.result.hash).toBe(hashes.anvil.result.hash);
      expect(full.fake.result.number).toBe(full.anvil.result.number);
    }
  });

  it('eth_getBlockByNumber above the head: null (not an error)', async () => {
    for (const tag of ['0x8', '0x64', '0xffffffffffffffff']) {
      const { fake: f, anvil: a } = await both('eth_getBlockByNumber', [tag, false]);
      expect(outcome(f)).toBe('null');
      expect(outcome(a)).toBe('null');
    }
  });

  it('eth_getBlockByHash: the block for a hash it has, null for one it has not', async () => {
    const latest = await both('eth_getBlockByNumber', ['latest', false]);
    expect(fakeCall('eth_getBlockByHash', [latest.fake.result.hash, false]).result).toMatchObject({ number: '0x7', hash: latest.fake.result.hash });
    expect((await anvilCall('eth_getBlockByHash', [latest.anvil.result.hash, false])).result).toMatchObject({ number: '0x7', hash: latest.anvil.result.hash });
    const { fake: f, anvil: a } = await both('eth_getBlockByHash', [UNKNOWN_HASH, false]);
    expect(outcome(f)).toBe('null');
    expect(outcome(a)).toBe('null');
  });

  it('eth_getLogs over a range: the log, with the fields steadyrpc keys logs by', async () => {
    const at6 = await blockHash(LOG_BLOCK);
    for (const range of [{ fromBlock: '0x0', toBlock: 'latest' }, { fromBlock: '0x0', toBlock: '0x7' }, { fromBlock: '0x6', toBlock: '0x6' }, { fromBlock: 'earliest', toBlock: 'latest' }]) {
      const { fake: f, anvil: a } = await both('eth_getLogs', [range]);
      expect(f.result).toHaveLength(1);
      expect(a.result).toHaveLength(1);
      expectTheLog(f.result[0], at6.fake);
      expectTheLog(a.result[0], at6.anvil);
    }
    const { fake: f, anvil: a } = await both('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x5' }]);
    expect(f.result).toEqual([]);
    expect(a.result).toEqual([]);
  });

  it('eth_getLogs by address: only that address', async () => {
    const other = '0x00000000000000000000000000000000000000bb';
    const { fake: f, anvil: a } = await both('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest', address: other }]);
    expect(f.result).toEqual([]);
    expect(a.result).toEqual([]);
  });

  it('eth_getLogs by blockHash: its logs; an unknown hash is the error -32000 "unknown block" (as geth)', async () => {
    const at6 = await blockHash(LOG_BLOCK);
    const f = fakeCall('eth_getLogs', [{ blockHash: at6.fake }]);
    const a = await anvilCall('eth_getLogs', [{ blockHash: at6.anvil }]);
    expectTheLog(f.result[0], at6.fake);
    expectTheLog(a.result[0], at6.anvil);
    const unknown = await both('eth_getLogs', [{ blockHash: UNKNOWN_HASH }]);
    expect(unknown.fake.error).toMatchObject({ code: -32000, message: expect.stringMatching(/unknown block/) });
    expect(unknown.anvil.error).toMatchObject({ code: -32000, message: expect.stringMatching(/unknown block/) });
    // steadyrpc asks the next node on that answer, whoever gives it.
    expect(classifyNodeError(unknown.fake.error!, 'eth_getLogs')).toBe('retry');
    expect(classifyNodeError(unknown.anvil.error!, 'eth_getLogs')).toBe('retry');
  });

  it('eth_feeHistory up to latest or a number: oldestBlock, one gasUsedRatio a block, one base fee more', async () => {
    const cases: Array<[params: unknown[], oldest: number, blocks: number]> = [
      [['0x3', 'latest', []], 5, 3],
      [['0x3', '0x6', []], 4, 3],
      [[3, 'latest', []], 5, 3],
      [['0x64', 'latest', []], 0, 8],
    ];
    for (const [params, oldest, blocks] of cases) {
      const { fake: f, anvil: a } = await both('eth_feeHistory', params);
      for (const result of [f.result, a.result]) {
        expect(result.oldestBlock).toBe(`0x${oldest.toString(16)}`);
        expect(result.gasUsedRatio).toHaveLength(blocks);
        expect(result.baseFeePerGas).toHaveLength(blocks + 1);
      }
      // steadyrpc's view reads the newest block of the answer alike from both.
      const views = [f, a].map((answer) => {
        const view = new ChainView();
        view.observe('eth_feeHistory', params, answer);
        return view.highest;
      });
      expect(views[0]).toBe(oldest + blocks - 1);
      expect(views[1]).toBe(views[0]);
    }
  });

  it('an unknown method: the error -32601, which steadyrpc reads as "ask another node"', async () => {
    const { fake: f, anvil: a } = await both('eth_noSuchMethod', []);
    expect(f.error?.code).toBe(-32601);
    expect(a.error?.code).toBe(-32601);
    expect(classifyNodeError(f.error!, 'eth_noSuchMethod')).toBe('retry');
    expect(classifyNodeError(a.error!, 'eth_noSuchMethod')).toBe('retry');
  });
});

describe('agree, but geth answers otherwise (pinned while the fake follows anvil)', () => {
  it('eth_getLogs with fromBlock > toBlock: [] (geth: -32000 "invalid block range params", execution-apis filter-error-reversed-block-range)', async () => {
    const { fake: f, anvil: a } = await both('eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x2' }]);
    expect(f.result).toEqual([]);
    expect(a.result).toEqual([]);
  });

  it('eth_getLogs with toBlock above the head: clamped to the head (geth: -32602 "block range extends beyond current head block")', async () => {
    const { fake: f, anvil: a } = await both('eth_getLogs', [{ fromBlock: '0x0', toBlock: '0x64' }]);
    expect(f.result.map((l: any) => l.blockNumber)).toEqual(['0x6']);
    expect(a.result.map((l: any) => l.blockNumber)).toEqual(['0x6']);
  });

  it("eth_getBlockByNumber '0x05' (leading zero): block 5 (geth: -32602 \"hex number with leading zero digits\")", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['0x05', false]);
    expect(f.result.number).toBe('0x5');
    expect(a.result.number).toBe('0x5');
  });
});

describe('agree since the fake was brought in line (each was an it.fails: the fake answered otherwise)', () => {
  // geth numbers the pending block head + 1 (hash, nonce and miner null); anvil head + 1 with a
  // hash; the fake as geth. It answered the head block itself, so ChainView's handling of a
  // pending answer (head + 1 never raises the view: namesPending/observe) went unexercised.
  it("eth_getBlockByNumber 'pending': the block after the head", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['pending', false]);
    expect(a.result.number).toBe('0x8');
    expect(f.result.number).toBe(a.result.number);
    expect(f.result.parentHash).toBe((await blockHash(HEAD)).fake);
  });

  // anvil answers a block for 'safe'/'finalized' (32 and 64 blocks down, not below 0; geth: the
  // safe/finalized block, or an error "safe block not found" before the CL sets one). The fake
  // answered null, as for a missing block.
  it("eth_getBlockByNumber 'safe' / 'finalized': a block", async () => {
    for (const tag of ['safe', 'finalized']) {
      const { fake: f, anvil: a } = await both('eth_getBlockByNumber', [tag, false]);
      expect(outcome(a)).toBe('object');
      expect(outcome(f)).toBe(outcome(a));
      expect(f.result.number).toBe(a.result.number);
    }
  });

  // The fake answered eth_getTransactionReceipt -32601, which classifyNodeError reads as 'retry'
  // (ask the next node); anvil and geth answer null, which ChainView judges as a by-hash read
  // (BY_HASH, onlyIfMissing). Receipt reads could not be tested on FakeNode as they happen.
  it('eth_getTransactionReceipt of an unknown hash: null', async () => {
    const { fake: f, anvil: a } = await both('eth_getTransactionReceipt', [UNKNOWN_HASH]);
    expect(outcome(a)).toBe('null');
    expect(outcome(f)).toBe('null');
  });

  it("eth_getTransactionReceipt and eth_getTransactionByHash of the log's transaction: in the log's block, the receipt with the log", async () => {
    const [fakeLog] = fakeCall('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]).result;
    const [anvilLog] = (await anvilCall('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])).result;
    const f = fakeCall('eth_getTransactionReceipt', [fakeLog.transactionHash]).result;
    const a = (await anvilCall('eth_getTransactionReceipt', [anvilLog.transactionHash])).result;
    for (const receipt of [f, a]) {
      expect(receipt).toMatchObject({ blockNumber: '0x6', transactionIndex: '0x0', status: '0x1', to: LOGGER });
      expect(receipt.logs).toHaveLength(1);
      expect(receipt.logs[0]).toMatchObject({ logIndex: '0x0', data: '0x1234', blockNumber: '0x6' });
    }
    const ft = fakeCall('eth_getTransactionByHash', [fakeLog.transactionHash]).result;
    const at = (await anvilCall('eth_getTransactionByHash', [anvilLog.transactionHash])).result;
    for (const [tx, log] of [[ft, fakeLog], [at, anvilLog]]) expect(tx).toMatchObject({ hash: log.transactionHash, blockHash: log.blockHash, blockNumber: '0x6', transactionIndex: '0x0' });
  });

  // fromBlock above the head: anvil -32602 "BlockOutOfRangeError…", geth -32602 "block range
  // extends beyond current head block" (the fake's words); both 'retry' in classifyNodeError
  // (ask a node that has the range). The fake answered [], a lagging node's silent empty answer.
  it('eth_getLogs with fromBlock above the head: an error -32602, which steadyrpc reads as "ask another node"', async () => {
    const { fake: f, anvil: a } = await both('eth_getLogs', [{ fromBlock: '0x64', toBlock: '0x65' }]);
    expect(a.error?.code).toBe(-32602);
    expect(f.error?.code).toBe(-32602);
    expect(classifyNodeError(a.error!, 'eth_getLogs')).toBe('retry');
    expect(classifyNodeError(f.error!, 'eth_getLogs')).toBe('retry');
  });

  // anvil -32602, geth -32602 "invalid argument 0: cannot specify both BlockHash and
  // FromBlock/ToBlock…" (execution-apis); the fake used blockHash and ignored the range.
  it('eth_getLogs with blockHash and fromBlock: an error -32602', async () => {
    const at6 = await blockHash(LOG_BLOCK);
    const f = fakeCall('eth_getLogs', [{ blockHash: at6.fake, fromBlock: '0x1' }]);
    const a = await anvilCall('eth_getLogs', [{ blockHash: at6.anvil, fromBlock: '0x1' }]);
    expect(a.error?.code).toBe(-32602);
    expect(f.error?.code).toBe(-32602);
  });

  // Without fromBlock, anvil and geth start at 'latest'; the fake started at the genesis.
  it('eth_getLogs without fromBlock: from the latest block', async () => {
    for (const filter of [{}, { toBlock: '0x6' }]) {
      const { fake: f, anvil: a } = await both('eth_getLogs', [filter]);
      expect(a.result).toEqual([]);
      expect(f.result).toEqual(a.result);
    }
  });

  // Malformed params: anvil and geth answer -32602 (invalid argument), which steadyrpc passes to
  // the client ('answer' in classifyNodeError); the fake answered as if the call were well formed.
  it("malformed: eth_getBlockByNumber ['bogus', false] is -32602", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['bogus', false]);
    expect(a.error?.code).toBe(-32602);
    expect(f.error?.code).toBe(-32602);
  });

  it("malformed: eth_getBlockByNumber ['0x5'] (no fullTx flag) is -32602", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['0x5']);
    expect(a.error?.code).toBe(-32602);
    expect(f.error?.code).toBe(-32602);
  });

  it("malformed: eth_getBlockByHash ['0x1234', false] (short hash) is -32602", async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByHash', ['0x1234', false]);
    expect(a.error?.code).toBe(-32602);
    expect(f.error?.code).toBe(-32602);
  });

  it('malformed: eth_getLogs [] (no filter) is -32602', async () => {
    const { fake: f, anvil: a } = await both('eth_getLogs', []);
    expect(a.error?.code).toBe(-32602);
    expect(f.error?.code).toBe(-32602);
  });

  // No anvil needed: the fake answers a fee history above its head with geth's error, which
  // steadyrpc reads as 'retry' ("request beyond head block" is in NOT_THIS_NODE). Its own error
  // used to be read as an 'answer', so a pool test with a lagging FakeNode saw it reach the client
  // where a lagging geth would be skipped.
  it("eth_feeHistory above the head: the fake's error is classified as geth's is ('retry')", () => {
    const f = fakeCall('eth_feeHistory', ['0x3', '0x64', []]);
    const geth = { code: -32000, message: 'request beyond head block: requested 100, head 7' };
    expect(classifyNodeError(geth, 'eth_feeHistory')).toBe('retry');
    expect(classifyNodeError(f.error!, 'eth_feeHistory')).toBe('retry');
    expect(f.error).toEqual(geth);
  });

  // blockCount 0: anvil answers one block, geth (and the fake) an empty history (oldestBlock 0x0);
  // the fake answered -32602. steadyrpc never asks it.
  it('eth_feeHistory with blockCount 0: a result', async () => {
    const { fake: f, anvil: a } = await both('eth_feeHistory', ['0x0', 'latest', []]);
    expect(outcome(a)).toBe('object');
    expect(outcome(f)).toBe('object');
  });

  // The fake's blocks were headers of four fields. They now carry a base fee and their
  // transactions (one per log); newHeads still gives the four-field header, as geth sends headers
  // (anvil sends the whole block). steadyrpc reads only hash, number and parentHash.
  it('eth_getBlockByNumber: a block has a transactions array and a baseFeePerGas', async () => {
    const { fake: f, anvil: a } = await both('eth_getBlockByNumber', ['latest', true]);
    expect(a.result).toHaveProperty('transactions');
    expect(a.result).toHaveProperty('baseFeePerGas');
    expect(f.result).toHaveProperty('transactions');
    expect(f.result).toHaveProperty('baseFeePerGas');
  });

  // Logs carried no topics, transactionHash or transactionIndex on the fake (its `logs`
  // subscription still filters on address only). steadyrpc keys logs by blockHash, logIndex and
  // removed only (LogsContinuity.ts).
  it('eth_getLogs: a log has topics, transactionHash and transactionIndex', async () => {
    const { fake: f, anvil: a } = await both('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]);
    for (const key of ['topics', 'transactionHash', 'transactionIndex']) {
      expect(a.result[0]).toHaveProperty(key);
      expect(f.result[0]).toHaveProperty(key);
    }
  });
});

describe('differ (each it.fails: the fake does not answer as anvil does)', () => {
  // Here the FAKE is the one like geth: geth ends a 'pending' fee history at head + 1
  // (eth/gasprice/feehistory.go), anvil at the head. Kept so the difference stays on record.
  it.fails("eth_feeHistory 'pending': the same range as anvil's (fake: like geth, to head + 1)", async () => {
    const { fake: f, anvil: a } = await both('eth_feeHistory', ['0x3', 'pending', []]);
    expect(f.result.oldestBlock).toBe(a.result.oldestBlock);
  });

  // Above the head: anvil a success with no blocks (oldestBlock 0x62, gasUsedRatio []), geth and
  // the fake -32000 "request beyond head block: requested 100, head 7" (see above).
  it.fails('eth_feeHistory ending above the head: the same kind of answer as anvil', async () => {
    const { fake: f, anvil: a } = await both('eth_feeHistory', ['0x3', '0x64', []]);
    expect(outcome(f)).toBe(outcome(a));
  });
});

describe('subscriptions (mines block 8, with one log, on both)', () => {
  let ws: WsClient;
  const transport = new FakeSocketTransport();
  const fakeFrames: Envelope[][] = [[], []];
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

  function openFake(index: number) {
    const socket = transport.open(
      { url: 'ws://fake/' },
      { onOpen: () => {}, onMessage: (text) => void fakeFrames[index]!.push(JSON.parse(text) as Envelope), onClose: () => {}, onError: () => {} },
    );
    return socket;
  }
  /** The fake answers in a microtask after send(), as a server cannot answer inside it. */
  async function fakeSocketCall(socket: ReturnType<typeof openFake>, index: number, method: string, params: unknown[], id: number): Promise<Envelope> {
    socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    await tick();
    const answer = fakeFrames[index]!.find((frame) => frame.id === id);
    if (answer === undefined) throw new Error(`the fake did not answer ${method} #${id}`);
    return answer;
  }

  beforeAll(async () => {
    transport.route('ws://fake/', fake.socket);
    ws = await WsClient.connect(anvil.wsUrl);
  });
  afterAll(() => ws?.close());

  it('newHeads and logs: notification envelopes and results read alike; unsubscribe of an unknown id is false on both', async () => {
    const socket = openFake(0);
    await tick();
    expect(socket.state).toBe('open');
    const fakeHeads = (await fakeSocketCall(socket, 0, 'eth_subscribe', ['newHeads'], 1)).result as string;
    const fakeLogs = (await fakeSocketCall(socket, 0, 'eth_subscribe', ['logs', {}], 2)).result as string;
    const anvilHeads = (await ws.call('eth_subscribe', ['newHeads'])).result as string;
    const anvilLogs = (await ws.call('eth_subscribe', ['logs', {}])).result as string;
    for (const id of [fakeHeads, fakeLogs, anvilHeads, anvilLogs]) expect(id).toMatch(/^0x[0-9a-f]+$/);

    const parent = await blockHash(HEAD);
    await anvilOk('eth_sendTransaction', [{ from: DEV_ACCOUNT, to: LOGGER, data: '0x1234' }]);
    await anvilOk('evm_mine', []);
    fake.advance(1).emitLog(LOGGER, '0x1234');

    const anvilHead = (await ws.waitFor('anvil newHeads', () => ws.notifications(anvilHeads)[0]?.frame, 10_000)) as Envelope & { params: any };
    const anvilLog = (await ws.waitFor('anvil logs', () => ws.notifications(anvilLogs)[0]?.frame, 10_000)) as Envelope & { params: any };
    const fakeNotes = fakeFrames[0]!.filter((frame: any) => frame.method === 'eth_subscription') as Array<Envelope & { method: string; params: any }>;
    const fakeHead = fakeNotes.find((n) => n.params.subscription === fakeHeads)!;
    const fakeLog = fakeNotes.find((n) => n.params.subscription === fakeLogs)!;

    const cases = [
      { head: fakeHead, log: fakeLog, headsId: fakeHeads, logsId: fakeLogs, parentHash: parent.fake },
      { head: anvilHead, log: anvilLog, headsId: anvilHeads, logsId: anvilLogs, parentHash: parent.anvil },
    ];
    for (const { head, log, headsId, logsId, parentHash } of cases) {
      // A notification has no `id` key (ethers treats any frame with one as a response).
      for (const [frame, id] of [[head, headsId], [log, logsId]] as const) {
        expect(frame).not.toHaveProperty('id');
        expect(frame).toMatchObject({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: id } });
      }
      const header = head.params.result;
      expectHeader(header, 8);
      expect(header.parentHash).toBe(parentHash);
      const text = JSON.stringify(header);
      expect(readHead(text, 0)).toBe(true);
      expect(readHeadResult.number).toBe(8);
      expect(log.params.result).toMatchObject({ address: LOGGER, blockNumber: '0x8', blockHash: header.hash, logIndex: '0x0', data: '0x1234', removed: false });
      expect(identify('logs', JSON.stringify(log.params.result))).toMatchObject({ blockHash: header.hash, blockNumber: '0x8', logIndex: '0x0', removed: false });
    }

    // eth_unsubscribe: true for a live id, false for an unknown one on both (geth: the error -32000
    // "subscription not found" for an unknown id, rpc/handler.go; steadyrpc ignores the answer to its
    // own unsubscribe, Outbox.ts, so this does not matter to it).
    expect((await fakeSocketCall(socket, 0, 'eth_unsubscribe', ['0x1234'], 3)).result).toBe(false);
    expect((await ws.call('eth_unsubscribe', ['0x1234'])).result).toBe(false);
    expect((await fakeSocketCall(socket, 0, 'eth_unsubscribe', [fakeHeads], 4)).result).toBe(true);
    expect((await ws.call('eth_unsubscribe', [anvilHeads])).result).toBe(true);

    // eth_subscribe of an unknown kind: -32602 on both (geth: -32601 "no \"bogus\" subscription in
    // eth namespace", rpc/errors.go; steadyrpc passes subscribe errors to the client).
    expect((await fakeSocketCall(socket, 0, 'eth_subscribe', ['bogus'], 5)).error?.code).toBe(-32602);
    expect((await ws.call('eth_subscribe', ['bogus'])).error?.code).toBe(-32602);
  });

  // Subscription ids: anvil and geth give random 128-bit ids, distinct on every socket; so does the
  // fake by default (`subscriptionIds: 'random'`). Its `per-socket` ids, counted from 0x1 on each
  // socket, are the case of ids a client may keep by chance across a reconnection.
  it('subscription ids differ across sockets', async () => {
    const first = openFake(1);
    const second = transport.open({ url: 'ws://fake/' }, { onOpen: () => {}, onMessage: (text) => void fakeFrames[1]!.push(JSON.parse(text) as Envelope), onClose: () => {}, onError: () => {} });
    await tick();
    const a1 = (await ws.call('eth_subscribe', ['newHeads'])).result;
    const other = await WsClient.connect(anvil.wsUrl);
    try {
      const a2 = (await other.call('eth_subscribe', ['newHeads'])).result;
      expect(a2).not.toBe(a1);
    } finally {
      other.close();
    }
    const f1 = (await fakeSocketCall(first, 1, 'eth_subscribe', ['newHeads'], 11)).result;
    const f2 = (await fakeSocketCall(second, 1, 'eth_subscribe', ['newHeads'], 12)).result;
    expect(f2).not.toBe(f1);
  });
});

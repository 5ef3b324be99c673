/**
 * Case 6: the memory a busy `logs` subscription keeps. A session (in process, on fake sockets: the
 * case measures memory, not speed) gets a mainnet-like stream of logs (`logsPerBlock` logs of about
 * 600 bytes in each of `blocks` blocks) and the heap it keeps after a full GC is compared with the
 * heap before, with the defaults (delivered logs kept to retract them on a fork, bounded by
 * `continuity.reorgDepth` and `continuity.maxRetainedBytes`) and with logs continuity off.
 */
import { NodePool, UpstreamSession } from 'steadyrpc';
import { FakeClock, FakeHttpTransport, FakeSocketTransport, type FakeSocket } from 'steadyrpc/testing';

export type RetentionVariant = 'defaults' | 'logs-off';

export interface RetentionMeasurement {
  variant: RetentionVariant;
  logs: number;
  delivered: number;
  /** Heap kept after the stream, over the heap before it (after full GCs), in bytes. */
  retainedBytes: number;
  /** What the session accounts for (`stats().retainedBytes`). */
  accountedBytes: number;
  maxRetainedBytes: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const word = (n: number, salt: number) => `0x${salt.toString(16).padStart(8, '0')}${n.toString(16).padStart(56, '0')}`;

/** A log as mainnet nodes write it (an ERC-20 Transfer: three topics, one word of data), ~600 bytes. */
function logText(block: number, index: number): string {
  const n = block * 10_000 + index;
  return JSON.stringify({
    address: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48',
    topics: ['0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef', word(n, 1), word(n, 2)],
    data: word(n, 3),
    blockNumber: `0x${block.toString(16)}`,
    transactionHash: word(n, 4),
    transactionIndex: `0x${index.toString(16)}`,
    blockHash: word(block, 5),
    logIndex: `0x${index.toString(16)}`,
    removed: false,
  });
}

export async function retentionCase({ variant, blocks, logsPerBlock }: { variant: RetentionVariant; blocks: number; logsPerBlock: number }): Promise<RetentionMeasurement> {
  if (!gc) throw new Error('the retention case needs --expose-gc');
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  let server: FakeSocket | undefined;
  sockets.route('ws://a.bench/', (socket) => {
    server = socket;
    socket.accept();
  });
  sockets.onSend((text, socket) => {
    const { id, method } = JSON.parse(text) as { id?: number; method: string };
    if (id !== undefined) socket.receive(JSON.stringify({ jsonrpc: '2.0', id, result: method === 'eth_subscribe' ? '0xfeed' : '0x1' }));
  });
  const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.bench/' }], clock, httpTransport: new FakeHttpTransport() });
  pool.update('a', { status: 'healthy', head: 1 });
  const session = new UpstreamSession({ pool, transport: sockets, clock, ...(variant === 'logs-off' ? { continuity: { logs: false } } : {}) });
  let delivered = 0;
  session.on('message', () => void (delivered += 1));
  await clock.flush();
  session.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["logs",{}]}');
  await clock.flush();
  delivered = 0;
  const push = (block: number) => {
    for (let i = 0; i < logsPerBlock; i++) {
      server!.receive(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xfeed","result":${logText(block, i)}}}`);
    }
  };
  push(1); // warm-up: first-use allocations are not the stream's
  const before = heapAfterGc();
  for (let block = 2; block <= blocks + 1; block++) push(block);
  const after = heapAfterGc();
  const { retainedBytes: accountedBytes } = session.stats();
  session.close();
  pool.close();
  return { variant, logs: blocks * logsPerBlock, delivered: delivered - logsPerBlock, retainedBytes: after - before, accountedBytes, maxRetainedBytes: 2 * 1024 * 1024 };
}

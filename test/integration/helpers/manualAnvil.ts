/**
 * An anvil node that mines only on demand (`--no-mining`) from a genesis block with a fixed
 * timestamp (`--timestamp`): several of these started with the same timestamp and chainId have the
 * same genesis hash, and stay byte-identical as long as they mine the same blocks (see sharedChain.ts).
 *
 * `mineBlock()` mines one exactly specified block on such a node.
 *
 * Why not `startAnvil()` from anvil.ts: it always passes `--block-time` and has no genesis-timestamp
 * option. This launcher reuses its binary lookup and port probe, and tracks its own children the same
 * way (SIGKILL on process exit for any node still running).
 */
import { spawn } from 'node:child_process';
import { freePort, resolveAnvilCommand, trackAnvil, type AnvilNode } from './anvil.js';

export interface ManualAnvilOptions {
  chainId: number;
  /** Unix seconds of the genesis block. */
  genesisTimestamp: number;
  /** Default 15 s. */
  startTimeoutMs?: number;
}

/** anvil's default dev-account balance (we pass no `--balance`). */
const BALANCE_WEI = 10_000n * 10n ** 18n;

class PortTaken extends Error {}

export async function startManualAnvil(options: ManualAnvilOptions): Promise<AnvilNode> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort(), options, deadline);
    } catch (error) {
      // Somebody took the port between our probe and anvil's bind: try another one.
      if (!(error instanceof PortTaken) || attempt >= 5 || Date.now() >= deadline) throw error;
    }
  }
}

async function launch(port: number, options: ManualAnvilOptions, deadline: number): Promise<AnvilNode> {
  const { command, prefixArgs, env } = resolveAnvilCommand();
  const args = [
    ...prefixArgs,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--chain-id', String(options.chainId),
    '--timestamp', String(options.genesisTimestamp),
    '--no-mining',
    '--quiet',
  ];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  // The bin.mjs wrapper forwards SIGTERM to anvil; a SIGKILL would orphan it.
  trackAnvil(child, prefixArgs.length === 0 ? 'SIGKILL' : 'SIGTERM');
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString('utf8')).slice(-4_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let ended: string | undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (why: string) => {
      ended ??= why;
      resolve();
    };
    child.once('exit', (code, signal) => done(`exited with ${signal ?? `code ${code}`}`));
    child.once('error', (error) => done(`could not spawn: ${error.message}`));
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (ended) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killTimer);
    })());

  const httpUrl = `http://127.0.0.1:${port}`;
  const describe = () => `anvil (${command} ${args.join(' ')}) ${ended ?? ''}; output: ${output.trim() || '(none)'}`;
  try {
    for (;;) {
      if (ended) {
        if (/address already in use|os error (98|48)|EADDRINUSE/i.test(output)) throw new PortTaken(describe());
        throw new Error(`${describe()} before answering eth_chainId`);
      }
      if (Date.now() >= deadline) throw new Error(`${describe()} did not answer eth_chainId in time`);
      if ((await chainId(httpUrl)) === options.chainId) break;
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { httpUrl, wsUrl: `ws://127.0.0.1:${port}`, port, chainId: options.chainId, balanceWei: BALANCE_WEI, pid: child.pid, stop };
}

async function chainId(url: string): Promise<number | undefined> {
  return rpc<string>(url, 'eth_chainId', [], 1_000).then(
    (answer) => Number(BigInt(answer)),
    () => undefined,
  );
}

/** One JSON-RPC call over plain HTTP. */
export async function rpc<T = any>(url: string, method: string, params: unknown[] = [], timeoutMs = 10_000): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method} on ${url}: ${body.error.message} (${body.error.code})`);
  return body.result as T;
}

interface Header {
  number: string;
  hash: string;
  gasUsed: string;
  gasLimit: string;
  baseFeePerGas: string;
  transactions: string[];
}

/**
 * Mines one block on top of block `parentNumber` (which must be the node's head) with exactly these
 * signed raw txs and this timestamp; returns its hash. Sets the base fee explicitly (EIP-1559, from
 * the parent): after `anvil_rollback`, anvil keeps the base fee it computed from the DROPPED head, so a
 * replayed block would otherwise get a different base fee (and state root, and hash).
 */
export async function mineBlock(url: string, parentNumber: number, txs: string[], timestamp: number): Promise<string> {
  const parent = await rpc<Header>(url, 'eth_getBlockByNumber', ['latest', false]);
  if (Number(parent.number) !== parentNumber) throw new Error(`mineBlock: ${url} is at block ${Number(parent.number)}, expected ${parentNumber}`);
  for (const tx of txs) await rpc(url, 'eth_sendRawTransaction', [tx]);
  await rpc(url, 'anvil_setNextBlockBaseFeePerGas', [`0x${nextBaseFee(parent).toString(16)}`]);
  await rpc(url, 'evm_mine', [{ timestamp }]);
  const block = await rpc<Header>(url, 'eth_getBlockByNumber', ['latest', false]);
  if (Number(block.number) !== parentNumber + 1 || block.transactions.length !== txs.length) {
    throw new Error(`mineBlock: ${url} mined block ${Number(block.number)} with ${block.transactions.length} txs, expected ${parentNumber + 1} with ${txs.length}`);
  }
  return block.hash;
}

/** EIP-1559 base fee of the child of `parent` (elasticity 2, change denominator 8), as anvil computes it. */
function nextBaseFee(parent: Header): bigint {
  const [used, target, base] = [BigInt(parent.gasUsed), BigInt(parent.gasLimit) / 2n, BigInt(parent.baseFeePerGas)];
  if (used === target) return base;
  if (used < target) return base - (base * (target - used)) / target / 8n;
  const delta = (base * (used - target)) / target / 8n;
  return base + (delta > 1n ? delta : 1n);
}

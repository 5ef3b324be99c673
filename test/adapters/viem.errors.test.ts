import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTransport,
  encodeErrorResult,
  parseAbi,
  RpcRequestError,
  type Transport,
} from 'viem';
import { describe, expect, it } from 'vitest';
import type { FakeNode } from '../../src/testing/index.js';
import { resilientTransport, type ResilientTransportOptions } from '../../src/viem.js';
import { adapterWorld, extend, type AdapterWorld } from './world.js';


const ADDRESS = '0x0000000000000000000000000000000000000001';
const abi = parseAbi(['function boom() view returns (uint256)', 'error Oops(uint256 code, string why)']);
const revertData = encodeErrorResult({ abi, errorName: 'Oops', args: [7n, 'nope'] });

/** viem's own webSocket transport, minus the socket: the node's answer, thrown as it throws it. */
function oracle(node: FakeNode): Transport {
  return () =>
    createTransport({
      key: 'oracle',
      name: 'oracle',
      type: 'webSocket',
      retryCount: 0,
      async request({ method, params }) {
        const body = { method, params };
        const response = node.answer({ jsonrpc: '2.0', id: 1, method, params } as never) as any;
        if (response.error) throw new RpcRequestError({ body, error: response.error, url: 'ws://oracle' });
        return response.result;
      },
    });
}

async function clients(options: Partial<ResilientTransportOptions> = {}) {
  const world = adapterWorld();
  const client = createPublicClient({ transport: resilientTransport({ ...world.nodesOptions(), ...options } as ResilientTransportOptions) });
  const plain = createPublicClient({ transport: oracle(world.nodes.a) });
  await world.settle();
  return { world, client, plain };
}

async function run<T>(world: AdapterWorld, action: Promise<T>): Promise<T> {
  await world.settle();
  await world.settle();
  return action;
}

function shape(error: unknown) {
  const e = error as BaseError;
  const revert = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
  return {
    name: e.name,
    shortMessage: e.shortMessage,
    revert: revert ? { errorName: (revert as any).data?.errorName, args: (revert as any).data?.args, raw: (revert as any).raw } : undefined,
    code: (e.walk?.((x: any) => typeof x?.code === 'number') as any)?.code,
  };
}

describe('viem: node errors decode as against a plain node', () => {
  it('a custom-error revert (code 3, data) decodes to the same ContractFunctionRevertedError', async () => {
    const { world, client, plain } = await clients();
    extend(world.nodes.a, (r) => (r.method === 'eth_call' ? { error: { code: 3, message: 'execution reverted', data: revertData } } : undefined));
    const got = await run(world, client.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e));
    const want = await plain.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e);
    expect(shape(want).revert).toEqual({ errorName: 'Oops', args: [7n, 'nope'], raw: revertData });
    expect(shape(got)).toEqual(shape(want));
    client.transport.close();
  });

  it('an error with code -32000 and revert data decodes the same', async () => {
    const { world, client, plain } = await clients();
    extend(world.nodes.a, (r) => (r.method === 'eth_call' ? { error: { code: -32000, message: 'execution reverted', data: revertData } } : undefined));
    const got = await run(world, client.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e));
    const want = await plain.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e);
    expect(shape(got)).toEqual(shape(want));
    client.transport.close();
  });

  it('an error whose data is an object ({ data: 0x… }) decodes the same', async () => {
    const { world, client, plain } = await clients();
    extend(world.nodes.a, (r) => (r.method === 'eth_call' ? { error: { code: -32015, message: 'VM Exception', data: { message: 'revert', data: revertData } } } : undefined));
    const got = await run(world, client.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e));
    const want = await plain.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e);
    expect(shape(got)).toEqual(shape(want));
    expect((got as BaseError).walk((x: any) => x instanceof RpcRequestError)).toMatchObject({ data: { message: 'revert', data: revertData } });
    client.transport.close();
  });

  it('a null result is null, as against a plain node', async () => {
    const { world, client } = await clients();
    const got = await run(world, client.request({ method: 'eth_getBlockByNumber', params: ['0x3e8', false] }));
    expect(got).toBeNull();
    client.transport.close();
  });

  it('an estimateGas revert keeps its data', async () => {
    const { world, client, plain } = await clients();
    extend(world.nodes.a, (r) => (r.method === 'eth_estimateGas' ? { error: { code: 3, message: 'execution reverted', data: revertData } } : undefined));
    const got = await run(world, client.estimateContractGas({ address: ADDRESS, abi, functionName: 'boom', account: ADDRESS }).catch((e: unknown) => e));
    const want = await plain.estimateContractGas({ address: ADDRESS, abi, functionName: 'boom', account: ADDRESS }).catch((e: unknown) => e);
    expect(shape(got)).toEqual(shape(want));
    client.transport.close();
  });
});

describe('viem: steadyrpc\'s own errors are not reverts', () => {
  it('readContract while every node is down rejects with REQUEST_TIMEOUT (-32052), not a ContractFunctionRevertedError', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const client = createPublicClient({ transport: resilientTransport(world.nodesOptions()) });
    const call = client.readContract({ address: ADDRESS, abi, functionName: 'boom' }).catch((e: unknown) => e);
    await world.clock.advance(11_000);
    await world.settle();
    const error = (await call) as BaseError;
    expect(error.walk((e) => e instanceof ContractFunctionRevertedError)).toBeNull();
    expect(error.walk((e: any) => e?.code === -32052)).toBeTruthy();
    client.transport.close();
  });
});

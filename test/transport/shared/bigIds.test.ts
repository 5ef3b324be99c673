import { describe, expect, it } from 'vitest';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../../src/testing/index.js';
import { settle, user } from '../../helpers/sharedUser.js';

/** Beyond Number.MAX_SAFE_INTEGER: JSON.parse reads both as 12345678901234567000 (no double holds either). */
const BIG = '12345678901234567890';
const BIG2 = '12345678901234567891';

async function openUser() {
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock: new FakeClock(), random: () => 0.5 });
  const u = user();
  const socket = shared.open({ url: 'ws://a.test/' }, u.listener);
  await settle();
  const server = fake.last()!;
  server.accept();
  const texts = () => u.events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
  return { server, socket, texts };
}

const upstreamId = (text: string) => (JSON.parse(text) as { id: number }).id;

// Found in review: a frame not in the shape a session writes (its "id" after "method", a batch) is
// parsed and written again, and its answer carried the parsed id: one past 2^53 came back rounded,
// so the client could not match its answer (the session keeps such ids' text: src/session/idText.ts).
describe('an id beyond 2^53 on a frame that is parsed', () => {
  it('comes back as the text the virtual socket sent, whether the node answers in the common shape or not', async () => {
    const { server, socket, texts } = await openUser();
    socket.send(`{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":${BIG}}`);
    socket.send(`{"jsonrpc":"2.0","method":"eth_chainId","params":[],"id":${BIG2}}`);
    server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent[0]!)},"result":"0x10"}`);
    server.receive(`{"id":${upstreamId(server.sent[1]!)},"jsonrpc":"2.0","result":"0x1"}`);
    expect(texts()).toEqual([`{"jsonrpc":"2.0","id":${BIG},"result":"0x10"}`, `{"jsonrpc":"2.0","id":${BIG2},"result":"0x1"}`]);
  });

  it('in a batch, each answer carries its own id though both ids parse to one number', async () => {
    const { server, socket, texts } = await openUser();
    socket.send(`[{"jsonrpc":"2.0","id":${BIG},"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":${BIG2},"method":"eth_gasPrice"}]`);
    for (const text of server.sent) server.receive(`{"jsonrpc":"2.0","id":${upstreamId(text)},"result":"0x1"}`);
    expect(texts()).toEqual([`{"jsonrpc":"2.0","id":${BIG},"result":"0x1"}`, `{"jsonrpc":"2.0","id":${BIG2},"result":"0x1"}`]);
  });

  it('on eth_subscribe and eth_unsubscribe, served by the shared subscriptions', async () => {
    const { server, socket, texts } = await openUser();
    socket.send(`{"jsonrpc":"2.0","method":"eth_subscribe","params":["newHeads"],"id":${BIG}}`);
    server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent[0]!)},"result":"0xup"}`);
    const subscription = (JSON.parse(texts()[0]!) as { result: string }).result;
    expect(texts()[0]).toBe(`{"jsonrpc":"2.0","id":${BIG},"result":"${subscription}"}`);
    socket.send(`{"jsonrpc":"2.0","method":"eth_unsubscribe","params":["${subscription}"],"id":${BIG2}}`);
    await settle();
    expect(texts()[1]).toBe(`{"jsonrpc":"2.0","id":${BIG2},"result":true}`);
  });
});

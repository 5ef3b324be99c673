import { describe, expect, it } from 'vitest';
import type { SocketListener } from '../../../src/index.js';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../../src/testing/index.js';
import { settle, user } from '../../helpers/sharedUser.js';

const BOOM = new Error('listener failed');

/** A user whose listener records every event, then throws on `event` (a message only when `when` holds). */
function thrower(event: keyof SocketListener, when: (text: string) => boolean = () => true) {
  const u = user();
  const inner = u.listener[event] as (...args: unknown[]) => void;
  (u.listener as unknown as Record<string, unknown>)[event] = (...args: unknown[]) => {
    inner(...args);
    if (event !== 'onMessage' || when(args[0] as string)) throw BOOM;
  };
  return u;
}

function setup() {
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock: new FakeClock(), random: () => 0.5 });
  const open = (u: ReturnType<typeof user>) => shared.open({ url: 'ws://a.test/' }, u.listener);
  return { fake, shared, open, server: () => fake.last()! };
}

/** The first of three users on one real socket throws on `event`. */
async function threeUsers(event: keyof SocketListener, when?: (text: string) => boolean) {
  const world = setup();
  const users = [thrower(event, when), user(), user()];
  const sockets = users.map(world.open);
  await settle();
  return { ...world, users, sockets };
}

const upstreamId = (text: string) => (JSON.parse(text) as { id: number }).id;
const subscribe = '{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}';

// Found in review: a fan-out stopped at the first virtual socket whose listener threw, so the
// sockets after it on the real socket never heard of the frame, the open, the error or the close.
describe('a virtual socket whose listener throws', () => {
  it.each([
    ['in the common shape', '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x2"}}'],
    ['parsed', '{"jsonrpc":"2.0","method":"eth_subscription","params":{"result":"0x2","subscription":"0xup"}}'],
  ])('does not keep a notification (%s) from the other subscribers; its error is thrown after', async (_shape, notification) => {
    const { server, users, sockets } = await threeUsers('onMessage', (text) => text.includes('eth_subscription'));
    server().accept();
    for (const socket of sockets) socket.send(subscribe);
    server().receive(`{"jsonrpc":"2.0","id":${upstreamId(server().sent[0]!)},"result":"0xup"}`);
    expect(() => server().receive(notification)).toThrow(BOOM);
    for (const u of users) expect(u.messages().at(-1)).toMatchObject({ method: 'eth_subscription', params: { result: '0x2' } });
  });

  it.each([
    ['its id', '"result":"0xup"'],
    ['an error', '"error":{"code":-32000,"message":"no"}'],
  ])('does not keep the answer to a shared subscribe (%s) from the others waiting on it', async (_answer, member) => {
    const { server, users, sockets } = await threeUsers('onMessage');
    server().accept();
    for (const socket of sockets) socket.send(subscribe);
    expect(() => server().receive(`{"jsonrpc":"2.0","id":${upstreamId(server().sent[0]!)},${member}}`)).toThrow(BOOM);
    for (const u of users) expect(u.messages()).toEqual([expect.objectContaining({ jsonrpc: '2.0', id: 1 })]);
  });

  it('does not keep the others from hearing the real socket open', async () => {
    const { server, users } = await threeUsers('onOpen');
    expect(() => server().accept()).toThrow(BOOM);
    for (const u of users) expect(u.types()).toEqual(['open']);
  });

  it('does not keep the others from hearing the real socket fail', async () => {
    const { server, users } = await threeUsers('onError');
    server().accept();
    expect(() => server().fail(new Error('reset'))).toThrow(BOOM);
    for (const u of users) expect(u.types()).toEqual(['open', 'error']);
  });

  it('does not keep the others from hearing the real socket close, and the transport forgets it', async () => {
    const { server, shared, users } = await threeUsers('onClose');
    server().accept();
    expect(() => server().serverClose(1012, 'restart')).toThrow(BOOM);
    for (const u of users) expect(u.events.at(-1)).toEqual({ type: 'close', info: { code: 1012, reason: 'restart' } });
    expect(shared.stats()).toMatchObject({ sockets: 0, users: 0 });
  });

  it('does not keep users waiting to join the open socket from being let on by the node’s frame', async () => {
    const { server, open, users, sockets } = await threeUsers('onMessage');
    server().accept();
    sockets[0]!.send('{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}');
    const late = [thrower('onOpen'), user()];
    for (const u of late) open(u);
    await settle();
    // The answer's listener throws; the frame still tells that the node is there.
    expect(() => server().receive(`{"jsonrpc":"2.0","id":${upstreamId(server().sent[0]!)},"result":"0x1"}`)).toThrow(BOOM);
    expect(users[0]!.messages()).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
    for (const u of late) expect(u.types()).toEqual(['open']);
  });
});

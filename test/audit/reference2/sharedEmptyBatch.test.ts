import { describe, expect, it } from 'vitest';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../../src/testing/index.js';
import { settle, user } from '../../helpers/sharedUser.js';

// docs/reference.md, SharedSocketTransport, "What still differs from a socket per session, by
// design": "an empty batch gets no answer". Nothing is written on the shared socket for it either.

describe('SharedSocketTransport: an empty batch', () => {
  it('is not written upstream and gets no answer; the socket carries on', async () => {
    const clock = new FakeClock();
    const fake = new FakeSocketTransport();
    const shared = new SharedSocketTransport({ transport: fake, clock, random: () => 0.5 });
    const a = user();
    const socket = shared.open({ url: 'ws://a.test/' }, a.listener);
    await settle();
    const server = fake.last()!;
    server.accept();
    await settle();
    expect(a.types()).toEqual(['open']);

    socket.send('[]');
    socket.send(' [ ] ');
    await settle();
    await clock.advance(60_000);
    expect(server.sent).toEqual([]);
    expect(a.types()).toEqual(['open']);

    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }));
    const sent = server.sentJson() as Array<{ id: number; method: string }>;
    expect(sent.map((m) => m.method)).toEqual(['eth_blockNumber']);
    server.receiveJson({ jsonrpc: '2.0', id: sent[0]!.id, result: '0x64' });
    expect(a.messages()).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import { FakeSocket, FakeSocketTransport } from '../../src/testing/FakeSocketTransport.js';
import type { SocketCloseInfo, SocketListener } from '../../src/transport/SocketTransport.js';

type Call = ['open'] | ['message', string] | ['close', SocketCloseInfo] | ['error', string] | ['pong'];

function recorder(): SocketListener & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    onOpen: () => calls.push(['open']),
    onMessage: (text) => calls.push(['message', text]),
    onClose: (info) => calls.push(['close', info]),
    onError: (error) => calls.push(['error', error.message]),
    onPong: () => calls.push(['pong']),
  };
}

/** Runs pending microtasks (where connect and send handlers run). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('FakeSocketTransport routing', () => {
  it('records every socket and leaves it connecting when nothing plays the server', () => {
    const transport = new FakeSocketTransport();
    const socket = transport.open({ url: 'ws://a' }, recorder());
    expect(socket).toBeInstanceOf(FakeSocket);
    expect(transport.sockets).toEqual([socket]);
    expect(transport.last()).toBe(socket);
    expect(socket.state).toBe('connecting');
    expect(socket.endpoint).toEqual({ url: 'ws://a' });
  });

  it('runs the route for the URL, else the default handler, after open() returns', async () => {
    const transport = new FakeSocketTransport();
    transport.route('ws://a', (s) => s.accept());
    transport.onConnect((s) => s.refuse(401));
    const a = recorder();
    const b = recorder();
    const socketA = transport.open({ url: 'ws://a' }, a);
    const socketB = transport.open({ url: 'ws://b' }, b);
    expect(a.calls).toEqual([]);
    await flush();
    expect(a.calls).toEqual([['open']]);
    expect(b.calls).toEqual([['close', { code: 1006, reason: 'HTTP 401', httpStatus: 401 }]]);
    expect(transport.openSockets).toEqual([socketA]);
    expect(socketB.state).toBe('closed');

    transport.unroute('ws://a');
    const c = recorder();
    transport.open({ url: 'ws://a' }, c);
    await flush();
    expect(c.calls).toEqual([['close', { code: 1006, reason: 'HTTP 401', httpStatus: 401 }]]);
  });
});

describe('FakeSocket messages', () => {
  it('accept, receive and send reach the right side', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.receive('hello');
    socket.receiveJson({ jsonrpc: '2.0', id: 1, result: '0x1' });
    socket.send('{"id":7}');
    socket.send('"plain"');
    expect(listener.calls).toEqual([
      ['open'],
      ['message', 'hello'],
      ['message', '{"jsonrpc":"2.0","id":1,"result":"0x1"}'],
    ]);
    expect(socket.sent).toEqual(['{"id":7}', '"plain"']);
    expect(socket.sentJson()).toEqual([{ id: 7 }, 'plain']);
  });

  it('send() while not open throws ERR_TRANSPORT with the URL redacted', () => {
    const socket = new FakeSocketTransport().open({ url: 'ws://user:secret@host/?apikey=abc' }, recorder());
    try {
      socket.send('x');
      expect.unreachable();
    } catch (error) {
      expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
      expect((error as Error).message).not.toMatch(/secret|abc/);
    }
    expect(socket.sent).toEqual([]);
  });

  it('receive() before accept() throws', () => {
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, recorder());
    expect(() => socket.receive('x')).toThrow(/not open yet/);
  });

  it('send handlers answer in a microtask, the socket one first, then the transport one', async () => {
    const transport = new FakeSocketTransport();
    const seen: string[] = [];
    transport.onSend((text, s) => {
      seen.push(`transport:${text}`);
      s.receive(`re:${text}`);
    });
    const listener = recorder();
    const socket = transport.open({ url: 'ws://a' }, listener);
    socket.onSend((text) => seen.push(`socket:${text}`));
    socket.accept();
    socket.send('1');
    socket.send('2');
    expect(listener.calls).toEqual([['open']]);
    await flush();
    expect(seen).toEqual(['socket:1', 'transport:1', 'socket:2', 'transport:2']);
    expect(listener.calls).toEqual([['open'], ['message', 're:1'], ['message', 're:2']]);
  });

  it('ping() counts only while open; pong() calls onPong', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.ping();
    socket.accept();
    socket.ping();
    socket.ping();
    socket.pong();
    expect(socket.pings).toBe(2);
    expect(listener.calls).toEqual([['open'], ['pong']]);
  });
});

describe('FakeSocket closing', () => {
  it('client close() calls onClose once with its code and reason, and records it', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.close(4000, 'bye');
    socket.close(1000, 'again');
    socket.terminate();
    expect(socket.state).toBe('closed');
    expect(socket.closedWith).toEqual({ code: 4000, reason: 'bye' });
    expect(socket.terminated).toBe(false);
    expect(listener.calls).toEqual([['open'], ['close', { code: 4000, reason: 'bye' }]]);
  });

  it('close() without arguments reports 1000 and an empty reason', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.close();
    expect(listener.calls.at(-1)).toEqual(['close', { code: 1000, reason: '' }]);
  });

  it('close() while connecting aborts with 1006, as the ws transport does', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.close(1000);
    expect(listener.calls).toEqual([['close', { code: 1006, reason: '' }]]);
  });

  it('close() rejects a code a close frame may not carry', () => {
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, recorder());
    socket.accept();
    expect(() => socket.close(1006)).toThrow(/Expected close code/);
    expect(socket.state).toBe('open');
  });

  it('terminate() closes with 1006', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.terminate();
    expect(socket.terminated).toBe(true);
    expect(listener.calls.at(-1)).toEqual(['close', { code: 1006, reason: '' }]);
  });

  it('serverClose() reports its code and reason', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.serverClose(4401, 'unauthorized');
    expect(socket.closeInfo).toEqual({ code: 4401, reason: 'unauthorized' });
    expect(listener.calls).toEqual([['open'], ['close', { code: 4401, reason: 'unauthorized' }]]);
  });

  it('fail() calls onError then onClose 1006, and a close() from onError changes nothing', () => {
    const calls: string[] = [];
    const transport = new FakeSocketTransport();
    const socket: FakeSocket = transport.open(
      { url: 'ws://a' },
      {
        onOpen: () => calls.push('open'),
        onMessage: () => calls.push('message'),
        onError: (error) => {
          calls.push(`error:${error.message}`);
          socket.close(1000);
        },
        onClose: (info) => calls.push(`close:${info.code}`),
      },
    );
    socket.accept();
    socket.fail();
    expect(calls).toEqual(['open', 'error:fake failure', 'close:1006']);
  });

  it('after close, drivers are no-ops, receive is ignored, and the listener hears nothing more', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.serverClose();
    socket.accept();
    socket.receive('late');
    socket.receiveJson({ late: true });
    socket.serverClose(4000);
    socket.finishClose();
    socket.refuse(403);
    socket.fail();
    socket.pong();
    socket.close();
    socket.terminate();
    socket.ping();
    expect(listener.calls).toEqual([['open'], ['close', { code: 1000, reason: '' }]]);
    expect(socket.closedWith).toBeUndefined();
    expect(socket.terminated).toBe(false);
    expect(socket.pings).toBe(0);
    expect(() => socket.send('x')).toThrow(/not open/);
  });

  it('drivers used in the wrong live state throw, naming the state', () => {
    const socket = new FakeSocketTransport().open({ url: 'ws://a' }, recorder());
    expect(() => socket.serverClose()).toThrow(/not open yet/);
    expect(() => socket.pong()).toThrow(/not open yet/);
    socket.accept();
    expect(() => socket.accept()).toThrow(/expected state 'connecting', got 'open'/);
    expect(() => socket.refuse(401)).toThrow(/expected state 'connecting', got 'open'/);
  });
});

describe("FakeSocketTransport with closeHandshake: 'manual'", () => {
  it('close() moves to closing, where frames still arrive, until finishClose()', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport({ closeHandshake: 'manual' }).open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.close(4000, 'switching');
    expect(socket.state).toBe('closing');
    expect(() => socket.send('x')).toThrow(/not open/);
    socket.receive('in flight');
    socket.finishClose();
    expect(listener.calls).toEqual([
      ['open'],
      ['message', 'in flight'],
      ['close', { code: 4000, reason: 'switching' }],
    ]);
  });

  it('terminate() during closing closes at once with 1006', () => {
    const listener = recorder();
    const socket = new FakeSocketTransport({ closeHandshake: 'manual' }).open({ url: 'ws://a' }, listener);
    socket.accept();
    socket.close();
    socket.terminate();
    expect(listener.calls.at(-1)).toEqual(['close', { code: 1006, reason: '' }]);
  });

  it('rejects an unknown closeHandshake', () => {
    expect(() => new FakeSocketTransport({ closeHandshake: 'later' as 'manual' })).toThrow(
      /Expected closeHandshake to be 'immediate' or 'manual', got later/,
    );
  });
});

/**
 * WsSocketTransport stages each frame's bytes for the frame check while it hands the frame on
 * (stageFrame, jsonScan.ts), and only then: a check during the hand-over reads them in place, any
 * later one copies them again, so bytes written over afterwards are never taken for the frame's.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { checkFrame } from '../../src/jsonScan.js';
import type { UpstreamSocket } from '../../src/transport/SocketTransport.js';
import { WsSocketTransport } from '../../src/transport/WsSocketTransport.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Seen {
  text: string;
  bytes: Uint8Array | undefined;
  /** checkFrame of the whole frame, during the hand-over. */
  checked: boolean;
}

async function connect(): Promise<{ server: ServerSocket; seen: Seen[]; next(count: number): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const connection = once(wss, 'connection') as Promise<[ServerSocket]>;
  const seen: Seen[] = [];
  let wake: (() => void) | undefined;
  let socket: UpstreamSocket | undefined;
  const opened = new Promise<void>((resolve) => {
    socket = new WsSocketTransport().open({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` }, {
      onOpen: resolve,
      onMessage: (text, bytes) => {
        seen.push({ text, bytes, checked: checkFrame(text, 0, text.length, -1, bytes) });
        wake?.();
      },
      onClose: () => {},
      onError: () => {},
    });
  });
  cleanups.push(() => socket?.terminate());
  const [[server]] = await Promise.all([connection, opened]);
  const next = async (count: number) => {
    while (seen.length < count) await new Promise<void>((resolve) => (wake = resolve));
  };
  return { server, seen, next };
}

describe('WsSocketTransport stages a frame for the frame check only while it hands it on', () => {
  it('a check during the hand-over answers on the frame; a later one, on the bytes as they are then', async () => {
    const { server, seen, next } = await connect();
    const good = '{"jsonrpc":"2.0","id":7,"result":[1,2,3]}';
    const bad = '{"jsonrpc":"2.0","id":7,"result":[1,2,3}}';
    server.send(good);
    await next(1);
    expect(seen[0]).toMatchObject({ text: good, checked: true });
    // The frame's bytes written over after the hand-over (a buffer used again): a check given them
    // now reads what they hold now, not what was staged.
    const bytes = seen[0]!.bytes!;
    Buffer.from(bad).copy(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    expect(checkFrame(bad, 0, bad.length, -1, bytes)).toBe(false);
  });

  it('hands on frames beyond ASCII, large ones and the ASCII ones between them as before, each checked on its own bytes', async () => {
    const { server, seen, next } = await connect();
    const frames = [
      '{"a":"é ✓ 𝄞"}',
      '{"a":1}',
      JSON.stringify({ result: 'x'.repeat(40_000) }),
      '{"a":[true,false,null]}',
      '{"a":"ü"',
      '{"a":[1,2}',
    ];
    for (const frame of frames) server.send(frame);
    await next(frames.length);
    expect(seen.map((s) => s.text)).toEqual(frames);
    expect(seen.map((s) => s.checked)).toEqual([true, true, true, true, false, false]);
  });
});

import type { SocketCloseInfo, SocketListener } from '../../src/index.js';
import { SharedSocketTransport } from '../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../src/testing/index.js';

/** Lets a few rounds of microtasks run (a shared socket's open and routing settle in them). */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A listener that records what a user socket of a SharedSocketTransport hears. */
export function user() {
  const events: Array<{ type: 'open' } | { type: 'message'; text: string } | { type: 'close'; info: SocketCloseInfo } | { type: 'error'; error: Error }> = [];
  const listener: SocketListener = {
    onOpen: () => events.push({ type: 'open' }),
    onMessage: (text) => events.push({ type: 'message', text }),
    onClose: (info) => events.push({ type: 'close', info }),
    onError: (error) => events.push({ type: 'error', error }),
  };
  return {
    listener,
    events,
    messages: () => events.flatMap((e) => (e.type === 'message' ? [JSON.parse(e.text)] : [])),
    types: () => events.map((e) => e.type),
  };
}

/** Two users on one open real socket of a SharedSocketTransport over fake sockets (the node's end: `server`). */
export async function twoUsers() {
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock: new FakeClock(), random: () => 0.5 });
  const users = [user(), user()];
  const sockets = users.map((u) => shared.open({ url: 'ws://a.test/' }, u.listener));
  await settle();
  const server = fake.last()!;
  server.accept();
  return { shared, users, sockets, server };
}

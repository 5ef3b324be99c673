import type { SocketCloseInfo, SocketListener } from '../../src/index.js';

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

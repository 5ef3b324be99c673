import { afterEach, describe, expect, it, vi } from 'vitest';
import { StandardWebSocketTransport, WsSocketTransport, defaultSocketTransport } from '../../src/index.js';
import { defaultSocketTransport as browserDefaultSocketTransport } from '../../src/transport/defaultSocketTransport.browser.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';

describe('defaultSocketTransport', () => {
  const WebSocket = fakeWebSocketClass();

  it('keeps ws on Node, even where Node has a global WebSocket (22 and later)', () => {
    expect(defaultSocketTransport()).toBeInstanceOf(WsSocketTransport);
    expect(defaultSocketTransport({ process: { versions: { node: '22.12.0' } }, WebSocket })).toBeInstanceOf(WsSocketTransport);
  });

  it('uses the platform WebSocket in browsers and workers, Bun and Deno', () => {
    const browser = defaultSocketTransport({ WebSocket });
    expect(browser).toBeInstanceOf(StandardWebSocketTransport);
    browser.open({ url: 'ws://node.test/' }, { onOpen() {}, onMessage() {}, onClose() {}, onError() {} });
    expect(WebSocket.instances).toHaveLength(1);
    // Bun and Deno say they are Node too, for compatibility.
    expect(defaultSocketTransport({ process: { versions: { node: '22.6.0' } }, Bun: {}, WebSocket })).toBeInstanceOf(StandardWebSocketTransport);
    expect(defaultSocketTransport({ process: { versions: { node: '20.11.1' } }, Deno: {}, WebSocket })).toBeInstanceOf(StandardWebSocketTransport);
  });

  it('falls back to ws where there is neither Node nor a global WebSocket', () => {
    expect(defaultSocketTransport({})).toBeInstanceOf(WsSocketTransport);
  });
});

describe('defaultSocketTransport, browser build', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('uses the WebSocket of the platform it is given', () => {
    const WebSocket = fakeWebSocketClass();
    browserDefaultSocketTransport({ WebSocket }).open({ url: 'ws://node.test/' }, { onOpen() {}, onMessage() {}, onClose() {}, onError() {} });
    expect(WebSocket.instances).toHaveLength(1);
  });

  // Found in review: it passed `{ WebSocket: undefined }`, and the transport then took the global one.
  it('refuses a platform without a WebSocket (ERR_CONFIG), even where the global scope has one', () => {
    vi.stubGlobal('WebSocket', class {});
    expect(() => browserDefaultSocketTransport({})).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

import type { Readable } from 'node:stream';
import { SteadyRpcError } from '../errors.js';

/**
 * Reads a request body (a Node `IncomingMessage`, or any readable stream of bytes) as UTF-8 text,
 * holding at most `maxBytes` of it: `undefined` as soon as it is larger. The stream is then left
 * paused, not destroyed, so the host can still answer (413, with `connection: close` so the rest
 * is never read). Rejects when the stream fails or closes before its end (the client went away).
 *
 * Uses no Node global (bytes are `Uint8Array`s, decoded with `TextDecoder`), so the root entry,
 * which exports it, stays loadable in a browser bundle; `node:stream` is imported for its type only.
 */
export function readHttpBody(stream: Readable, maxBytes: number): Promise<string | undefined> {
  if (!Number.isFinite(maxBytes) || maxBytes < 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected maxBytes to be a finite number >= 0, got ${maxBytes}`);
  }
  return new Promise((resolve, reject) => {
    if (stream.readableEnded) return resolve('');
    if (stream.destroyed) return reject(new SteadyRpcError('ERR_ABORTED', 'The request body was closed before it was read'));
    const chunks: Uint8Array[] = [];
    let size = 0;
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onData = (chunk: Uint8Array | string) => {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.length;
      if (size > maxBytes) {
        stop();
        stream.pause();
        chunks.length = 0;
        return resolve(undefined);
      }
      chunks.push(bytes);
    };
    const onEnd = () => {
      stop();
      resolve(utf8Text(chunks, size));
    };
    const onError = (error: unknown) => {
      stop();
      reject(new SteadyRpcError('ERR_ABORTED', 'The request body could not be read', { cause: error }));
    };
    const onClose = () => {
      stop();
      reject(new SteadyRpcError('ERR_ABORTED', 'The request body ended early: the client went away'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * The chunks' bytes as text. A byte-order mark is kept, as `Buffer#toString` keeps it (the parser
 * then refuses the body rather than reading a different one); invalid sequences become U+FFFD.
 */
function utf8Text(chunks: Uint8Array[], size: number): string {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return decoder.decode(whole);
}

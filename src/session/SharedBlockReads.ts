import type { UpstreamLink } from './UpstreamLink.js';

/**
 * A node's block at a height, read once for every caller that asks while the read is under way (an
 * indexer reads the receipts of all the logs of a block at once, and each `null` asks for the
 * block: see ViewGate's `#confirm`). Reads of another link start afresh.
 */
export class SharedBlockReads {
  #link: UpstreamLink | undefined;
  readonly #reading = new Map<number, Promise<unknown>>();

  /** The read of `link`'s block at `number` under way, or the one `send` starts. */
  read(link: UpstreamLink, number: number, send: () => Promise<unknown>): Promise<unknown> {
    const reading = this.#reading;
    if (this.#link !== link) {
      this.#link = link;
      reading.clear();
    }
    const under = reading.get(number);
    if (under !== undefined) return under;
    const sent = send();
    reading.set(number, sent);
    const done = () => {
      if (reading.get(number) === sent) reading.delete(number);
      // Nothing under way: the link is not kept (it may be one the session left).
      if (reading.size === 0) this.#link = undefined;
    };
    sent.then(done, done);
    return sent;
  }
}

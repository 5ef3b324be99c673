import type { NodePool } from './NodePool.js';

/**
 * What `pool.request()`'s view gate knows of each node's head: the latest word of it, its probed
 * head or what it answered `eth_blockNumber` with when the gate had to ask (that, when the two came
 * at once: the gate asks because the probe's word did not do, and must then go by the answer it
 * got). Not the higher: a node's head can go down (a node that rewound after a crash, one restored
 * from a snapshot, an endpoint that balances over several nodes), and its state at `latest` is then
 * that of its lower head (`test/pool/nodeHeadWentDown.test.ts`).
 */
export class NodeHeadWords {
  readonly #pool: NodePool;
  /** The head each node last answered when asked, and when (on the pool's clock): its word until a probe reads it later. */
  readonly #asked = new Map<string, { head: number; at: number }>();

  constructor(pool: NodePool) {
    this.#pool = pool;
  }

  /** `name` answered `head` when asked, now. */
  asked(name: string, head: number): void {
    this.#asked.set(name, { head, at: this.#pool.clock.now() });
  }

  /**
   * Each node's head as known now, before a request is sent: a head learned while the request is
   * on its way (a probe landing meanwhile) cannot vouch for the answer, which the node may have
   * made from before.
   */
  known(): Map<string, number> {
    const heads = new Map<string, number>();
    for (const { name } of this.#pool.nodes) {
      let head = this.#pool.headOf(name);
      const asked = this.#asked.get(name);
      if (asked !== undefined) {
        const probedAt = this.#pool.health(name).headAt;
        if (head === undefined || probedAt === undefined || probedAt <= asked.at) head = asked.head;
        else this.#asked.delete(name); // a probe read it since: the answer is old news
      }
      if (head !== undefined && head >= 0) heads.set(name, head);
    }
    return heads;
  }
}

import { SteadyRpcError, scrubbedError } from '../errors.js';
import { redactNodeText } from '../pool/NodeConfig.js';
import { redactText } from '../redact.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import type { SocketCloseInfo, SocketEndpoint } from '../transport/SocketTransport.js';
import { isAuthOrPolicyClose } from '../transport/SocketTransport.js';
import type { SessionContext } from './SessionContext.js';
import type { SessionSwitchReason } from './SessionEvents.js';
import { UpstreamLink } from './UpstreamLink.js';

/** Fails a link: what it owes moves on, and the session moves on (see `LinkSwitcher.linkFailed`). */
export type LinkFailed = (link: UpstreamLink, cause: string, error: unknown) => void;

/**
 * The first step of every move to a node (make-before-break or not): a new link to it becomes the
 * session's `next`, its socket is opened (paced by the pool's connect limit, within the connect
 * deadline), and the socket's open (on to the replays) and close (a failure; a refusal also
 * quarantines the node) are reported.
 */
export class LinkOpener {
  readonly #ctx: SessionContext;
  readonly #failed: LinkFailed;
  #generation = 0;
  /** Links failed because a send found their socket closing: their close is still to be reported. */
  #closing: WeakSet<UpstreamLink> | undefined;

  constructor(ctx: SessionContext, failed: LinkFailed) {
    this.#ctx = ctx;
    this.#failed = failed;
  }

  /** A send found `link`'s socket closing: its close, when it comes, is reported although the link is failed. */
  closing(link: UpstreamLink): void {
    (this.#closing ??= new WeakSet()).add(link);
  }

  async prepare(node: string, reason: SessionSwitchReason): Promise<void> {
    const ctx = this.#ctx;
    const link = new UpstreamLink(node, ++this.#generation, ctx.clock);
    ctx.next = link;
    ctx.nextReason = reason;
    // Shared by every session on the pool: a failover of thousands of sessions is paced. A
    // multiplexed transport connects once for them all and paces that itself.
    if (!ctx.transport.multiplexed) {
      await ctx.pool.connectPermit(node);
      if (!link.alive || link !== ctx.next) return;
    }
    link.setTimer('connect', ctx.settings.connectTimeoutMs, () =>
      this.#failed(link, 'connect-timeout', new SteadyRpcError('ERR_TIMEOUT', `Node "${node}" did not open a socket within ${ctx.settings.connectTimeoutMs} ms`)),
    );
    // What a transport or an endpoint function reports may quote the node's URL (ws does, and so
    // may a custom one): the node's credentials, and those of the endpoint it gave, stay out.
    const info = ctx.pool.node(node);
    let endpoint: SocketEndpoint;
    try {
      endpoint = await resolveEndpoint(info.ws!);
    } catch (error) {
      return this.#failed(link, 'error', scrubbedError(error, (text) => redactNodeText(info, text), 'ERR_TRANSPORT', `Endpoint of node "${node}" failed`));
    }
    if (!link.alive) return;
    const scrub = (text: string) => redactNodeText(info, redactText(text, endpoint, { revealPath: info.revealPath }));
    link.endpoint = endpoint;
    link.socket = ctx.transport.open(endpoint, {
      onOpen: () => this.#onOpen(link),
      onMessage: (text, bytes) => ctx.frames.onMessage(link, text, bytes),
      onClose: (info) => this.#onClose(link, info),
      onError: (error) => ctx.events.emit('error', new SteadyRpcError('ERR_TRANSPORT', `Socket error on node "${node}"`, { cause: scrubbedError(error, scrub, 'ERR_TRANSPORT', 'Socket error') })),
    });
  }

  #onOpen(link: UpstreamLink): void {
    if (link !== this.#ctx.next || link.phase !== 'connecting') return;
    link.clearTimer('connect');
    link.phase = 'replaying';
    link.openedAt = link.lastSeenAt = this.#ctx.clock.now();
    this.#ctx.replayer.maybeActivate(link);
  }

  #onClose(link: UpstreamLink, closed: SocketCloseInfo): void {
    const ctx = this.#ctx;
    // A reason may quote what we sent (a gateway echoing the key it refused): scrubbed like errors.
    const { tooBigSuspects, ...info } = closed.reason ? { ...closed, reason: redactNodeText(ctx.pool.node(link.node), closed.reason) } : closed;
    if (info.messageTooBig && tooBigSuspects !== undefined) link.tooBigSuspects = new Set(tooBigSuspects);
    const auth = isAuthOrPolicyClose(info);
    // The close of a link already left still counts when a send failed on it (see closing()), or
    // when the node refused us, whatever left it first: a node that refused us is not retried.
    if (ctx.state === 'closed' || (!link.alive && !auth && !this.#closing?.has(link))) return;
    ctx.events.emit('upstreamClose', { node: link.node, ...info, auth, ...(link.openedAt === undefined ? {} : { openMs: ctx.clock.now() - link.openedAt }) });
    const error = new SteadyRpcError(auth ? 'ERR_UPSTREAM_AUTH' : 'ERR_TRANSPORT', `Node "${link.node}" closed the socket (${info.code}${info.httpStatus ? `, HTTP ${info.httpStatus}` : ''}${info.reason ? `: ${info.reason}` : ''})`);
    if (auth) ctx.pool.quarantine(link.node, ctx.settings.authQuarantineMs, error);
    if (link.alive) this.#failed(link, auth ? 'auth' : info.messageTooBig ? 'message-too-big' : 'closed', error);
    else if (auth) ctx.events.emit('error', error);
  }
}

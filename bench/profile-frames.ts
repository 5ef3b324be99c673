/**
 * `tsx bench/profile-frames.ts [--frames 200000] [--rounds 5] [--only raw,session,session-plain,check]`
 *
 * The CPU cost of one pushed newHeads notification through a session, in this process and without
 * sockets: frames from the bench mock's chain (`mockChain.ts`), as Buffers the way ws hands them
 * over, are decoded and given to a session's upstream socket listener; the client JSON.parses
 * what the session emits. `raw` is what a raw ws client does with the same frame (decode and
 * JSON.parse). Rounds interleave the consumers, so a busy machine slows them alike; the ratio
 * (raw ns / consumer ns per frame) is the notification case's throughput ratio without ws's
 * own receive cost (which both pay in `npm run bench`, so that one's ratios are closer to 1).
 * `check`: decoding and the frame check alone (`checkFrame` with the frame's bytes, SIMD where it can); `check-js`: the
 * same with the JavaScript check. Times are this process's CPU time (user + system), steadier than
 * wall time on a shared machine.
 */
import { parseArgs } from 'node:util';
import { NodePool, UpstreamSession, type UpstreamSessionOptions } from '../src/index.js';
import { checkFrame, isCompactValue, isPlainText } from '../src/jsonScan.js';
import type { SocketListener, SocketTransport, UpstreamSocket } from '../src/transport/SocketTransport.js';
import { headJson } from './mockChain.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string', default: 'raw,session,session-plain,check,check-js' },
    'no-parse': { type: 'boolean', default: false },
  },
});
const FRAMES = Number(values.frames);
/** Whether the consumer JSON.parses what it gets (off: the cost of everything before that). */
const parse = !values['no-parse'];
const ROUNDS = Number(values.rounds);
const BATCH = 2_000;
/** Frames of one 64 KB socket read (a head is about 1.2 KB). */
const FRAMES_PER_READ = 50;
const consumers = values.only.split(',') as Consumer[];
type Consumer = 'raw' | 'session' | 'session-plain' | 'check' | 'check-js';

const SUBSCRIPTION = '"0x5ab1e0000000000000000000000000001"';
const PREFIX = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":${SUBSCRIPTION},"result":`;
let headNumber = 20_000_000;
/** The next `count` frames, as ws gives them (made outside the timed part). */
function nextFrames(count: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(Buffer.from(`${PREFIX}${headJson(++headNumber)}}}`));
  return frames;
}

/** A transport with one socket that opens at once and answers what a subscribing client needs. */
class PushTransport implements SocketTransport {
  listener: SocketListener | undefined;
  open(_endpoint: unknown, listener: SocketListener): UpstreamSocket {
    this.listener = listener;
    queueMicrotask(() => listener.onOpen());
    return {
      send: (text) => {
        const { id, method } = JSON.parse(text) as { id: number; method: string };
        const result = method === 'eth_subscribe' ? SUBSCRIPTION : method === 'eth_chainId' ? '"0x1"' : `"0x${headNumber.toString(16)}"`;
        queueMicrotask(() => listener.onMessage(`{"jsonrpc":"2.0","id":${id},"result":${result}}`));
      },
      close: () => {},
      terminate: () => {},
    };
  }
}

let delivered = 0;
let checked = 0;

async function openSession(options: Partial<UpstreamSessionOptions>): Promise<{ listener: SocketListener; close(): void }> {
  const transport = new PushTransport();
  const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }] });
  const session = new UpstreamSession({ pool, transport, ...options });
  session.on('message', (text) => {
    if (!parse) {
      if (text.charCodeAt(11) === 34 && text.length > 1000) delivered += 1;
      return;
    }
    const message = JSON.parse(text) as { method?: string };
    if (message.method === 'eth_subscription') delivered += 1;
  });
  session.on('error', () => {});
  await new Promise<void>((resolve) => (session.state === 'ready' ? resolve() : session.once('switch', () => resolve())));
  session.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
  await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    listener: transport.listener!,
    close() {
      session.close();
      pool.close();
    },
  };
}

async function run(consumer: Consumer, frames: number): Promise<number> {
  const opened = consumer === 'session' ? await openSession({}) : consumer === 'session-plain' ? await openSession({ continuity: { newHeads: false, logs: false } }) : undefined;
  const handle: (buffer: Buffer) => void =
    consumer === 'raw'
      ? (buffer) => {
          const text = buffer.toString('utf8');
          if (!parse) {
            if (text.charCodeAt(11) === 34 && text.length > 1000) delivered += 1;
            return;
          }
          const message = JSON.parse(text) as { method?: string };
          if (message.method === 'eth_subscription') delivered += 1;
        }
      : consumer === 'check'
        ? (buffer) => {
            const text = buffer.toString('utf8');
            if (checkFrame(text, 0, text.length, -1, buffer)) checked += 1;
          }
        : consumer === 'check-js'
          ? (buffer) => {
              const text = buffer.toString('utf8');
              if (isPlainText(text) && isCompactValue(text, 0, text.length)) checked += 1;
            }
          : (buffer) => opened!.listener.onMessage(buffer.toString('utf8'), buffer);
  let us = 0;
  try {
    for (let done = 0; done < frames; done += BATCH) {
      const batch = nextFrames(Math.min(BATCH, frames - done));
      const started = process.cpuUsage();
      // ws hands a socket read's frames over in one turn of the event loop: about 50 of these per
      // 64 KB read; the turn ends (microtasks run) between reads.
      for (let i = 0; i < batch.length; i++) {
        handle(batch[i]!);
        if (i % FRAMES_PER_READ === FRAMES_PER_READ - 1) await null;
      }
      const { user, system } = process.cpuUsage(started);
      us += user + system;
    }
  } finally {
    opened?.close();
  }
  return (us * 1000) / frames;
}

// Warm-up: every path compiled before anything is timed.
for (const consumer of consumers) await run(consumer, 20_000);
const results = new Map<Consumer, number[]>(consumers.map((c) => [c, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const consumer of consumers) {
    delivered = 0;
    const ns = await run(consumer, FRAMES);
    if (!consumer.startsWith('check') && delivered !== FRAMES) throw new Error(`${consumer}: ${delivered} of ${FRAMES} notifications delivered`);
    if (consumer.startsWith('check') && checked === 0) throw new Error(`${consumer}: no frame passed`);
    results.get(consumer)!.push(ns);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const raw = results.get('raw');
process.stdout.write(`${FRAMES} frames × ${ROUNDS} rounds, CPU ns per frame (median; all rounds)${raw ? ', ratio = raw ns / ns (median of per-round ratios)' : ''}\n`);
for (const [consumer, ns] of results) {
  const ratio = raw ? ` ${median(ns.map((x, i) => raw[i]! / x)).toFixed(2)}×` : '';
  process.stdout.write(`  ${consumer.padEnd(14)} ${median(ns).toFixed(0).padStart(6)} ns${ratio}  (${ns.map((x) => x.toFixed(0)).join(' ')})\n`);
}

/**
 * The live terminal timeline: one line per event (faults, switches, which node answers each
 * client), a status line per second, colours only when asked (the CLI asks when stdout is a TTY).
 */
import type { ClientName, ClientTrace } from './ClientTrace.js';
import type { NodeName } from './nodes.js';

export type Who = 'proxy' | ClientName;
export type MarkerKind = 'cut' | 'restore' | 'blackhole';

export interface Marker {
  at: number;
  kind: MarkerKind;
  label: string;
}

export interface SwitchRecord {
  at: number;
  who: Who;
  scope: 'pool' | 'session';
  from: string | undefined;
  to: string | undefined;
  reason: string;
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36 } as const;
export type Tone = keyof typeof ANSI;

export const NODE_TONE: Record<NodeName, Tone> = { a: 'green', b: 'yellow' };
const MARKER_TONE: Record<MarkerKind, Tone> = { cut: 'red', restore: 'green', blackhole: 'magenta' };

export class Timeline {
  readonly markers: Marker[] = [];
  readonly switches: SwitchRecord[] = [];
  readonly #out: (line: string) => void;
  readonly #color: boolean;
  readonly now: () => number;

  constructor(options: { out: (line: string) => void; color: boolean; now: () => number }) {
    this.#out = options.out;
    this.#color = options.color;
    this.now = options.now;
  }

  paint(tone: Tone, text: string): string {
    return this.#color ? `\x1b[${ANSI[tone]}m${text}\x1b[0m` : text;
  }

  node(node: string | undefined): string {
    return node === 'a' || node === 'b' ? this.paint(NODE_TONE[node], node) : this.paint('red', node ?? '-');
  }

  /** A line without a time (set-up, summary). */
  print(text = ''): void {
    this.#out(text);
  }

  /** A fault or a restore of the primary: a marker on the chart and a banner line. */
  marker(kind: MarkerKind, label: string, detail: string): void {
    const at = this.now();
    this.markers.push({ at, kind, label });
    this.#out(`${this.#time(at)}  ${this.paint(MARKER_TONE[kind], this.paint('bold', `── ${label.toUpperCase()} ──`))} ${detail}`);
  }

  /** The script moving on (no chart marker). */
  note(text: string): void {
    this.#out(`${this.#time(this.now())}  ${this.paint('cyan', text)}`);
  }

  /** Something one party did or saw. */
  event(who: Who, text: string): void {
    this.#out(`${this.#time(this.now())}  ${who.padEnd(6)}  ${text}`);
  }

  /** A pool's preferred node or a session's upstream changed. */
  switched(record: Omit<SwitchRecord, 'at'>): void {
    const at = this.now();
    this.switches.push({ ...record, at });
    const what = record.scope === 'pool' ? 'pool now prefers' : 'session moved to';
    this.event(record.who, `${what} ${this.node(record.to)} ${this.paint('dim', `(${record.reason}${record.from ? `, was ${record.from}` : ''})`)}`);
  }

  /** One line with every client's state: the node answering it, blocks received, calls answered/sent. */
  status(traces: readonly ClientTrace[]): void {
    const parts = traces.map((t) => {
      const waiting = t.oldestOwedMs();
      const node = waiting > 750 ? this.paint('red', `waiting ${(waiting / 1000).toFixed(1)}s`) : this.node(t.node);
      return `${t.name} ${node} ${String(t.blocks.length).padStart(3)} blocks ${`${t.answered}/${t.sent}`.padEnd(7)}`;
    });
    this.#out(`${this.#time(this.now())}  ${this.paint('dim', '·')}       ${parts.join(this.paint('dim', '  │  '))}`.trimEnd());
  }

  #time(at: number): string {
    return this.paint('dim', `${(at / 1000).toFixed(1).padStart(5)}s`);
  }
}

export type Labels = Readonly<Record<string, string>>;
export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * One metric family: a name, its help and type, and its samples. A histogram's samples carry the
 * series they belong to as a third element: `_bucket` (with an `le` label), `_sum` or `_count`.
 */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: ReadonlyArray<readonly [labels: Labels, value: number, suffix?: '_bucket' | '_sum' | '_count']>;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Renders families in the Prometheus text exposition format (version 0.0.4). */
export function renderPrometheus(families: Iterable<MetricFamily>): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const [labels, value, suffix = ''] of family.samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${family.name}${suffix}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

/** A counter family with labelled values, incremented from events. */
export class CounterFamily {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(labels))?.value ?? 0;
  }

  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      samples: [...this.#values.values()].map(({ labels, value }) => [labels, value] as const),
    };
  }
}

/**
 * A histogram family with labelled series, observed from events: cumulative buckets (`le`, upper
 * bounds inclusive, `+Inf` last), `_sum` and `_count`, as Prometheus expects them.
 */
export class HistogramFamily {
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds of the buckets, ascending; `+Inf` is added. */
    buckets: readonly number[],
  ) {
    this.#bounds = [...buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels, value: number): void {
    const key = keyOf(labels);
    let series = this.#series.get(key);
    if (!series) this.#series.set(key, (series = { labels, counts: this.#bounds.map(() => 0), sum: 0, count: 0 }));
    const bucket = this.#bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.counts[bucket]! += 1;
    series.sum += value;
    series.count += 1;
  }

  /** How many values were observed for `labels`, and their sum. */
  get(labels: Labels = {}): { count: number; sum: number } {
    const series = this.#series.get(keyOf(labels));
    return { count: series?.count ?? 0, sum: series?.sum ?? 0 };
  }

  family(): MetricFamily {
    const samples: Array<MetricFamily['samples'][number]> = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += counts[i]!;
        samples.push([{ ...labels, le: String(bound) }, cumulative, '_bucket']);
      });
      samples.push([{ ...labels, le: '+Inf' }, count, '_bucket'], [labels, sum, '_sum'], [labels, count, '_count']);
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

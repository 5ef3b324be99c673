/**
 * The reference proxy keeps its sessions to itself; what they do shows in its metrics. This polls
 * the session counters of `proxy.metrics` and reports each increase (the demo has one proxy
 * client, so every increase is that client's).
 */
import type { Metrics } from 'steadyrpc';

export interface CounterIncrease {
  /** Metric name without the prefix, e.g. `session_switches_total`. */
  name: string;
  labels: Readonly<Record<string, string>>;
  by: number;
}

const WATCHED = ['session_switches_total', 'session_inflight_rehomed_total', 'session_backfill_total'];

export function watchProxySessions(metrics: Metrics, onIncrease: (increase: CounterIncrease) => void, everyMs = 50): () => void {
  const last = new Map<string, number>();
  const read = () => {
    for (const family of metrics.families()) {
      const name = family.name.replace(/^steadyrpc_/, '');
      if (!WATCHED.includes(name)) continue;
      for (const [labels, value] of family.samples) {
        const key = `${name}${JSON.stringify(labels)}`;
        const before = last.get(key) ?? 0;
        last.set(key, value);
        if (value > before) onIncrease({ name, labels, by: value - before });
      }
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return () => {
    read();
    clearInterval(timer);
  };
}

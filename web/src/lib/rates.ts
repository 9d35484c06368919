/**
 * Rates from successive scrapes of counters (records in, bytes in): the console diffs two snapshots the way
 * Prometheus' `rate()` does, treating a counter that went down as restarted from zero.
 */

export interface CounterSnapshot {
  /** When the scrape was taken, ms. */
  readonly at: number;
  readonly values: ReadonlyMap<string, number>;
}

/** Per key, the increase per second between `previous` and `current`; keys new in `current` count from 0. */
export function ratesBetween(previous: CounterSnapshot | undefined, current: CounterSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  if (!previous) return out;
  const seconds = (current.at - previous.at) / 1000;
  if (!(seconds > 0)) return out;
  for (const [key, now] of current.values) {
    const before = previous.values.get(key) ?? 0;
    const increase = now >= before ? now - before : now; // a restarted counter started again from zero
    out.set(key, increase / seconds);
  }
  return out;
}

/** `1536` -> `1.5 KiB`; `12` -> `12 B`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return `${bytes < 0 ? '-' : ''}${text} ${units[u]}`;
}

/** A rate for a table cell: `0`, `3.2`, `1,250`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1);
  return Math.round(perSecond).toLocaleString('en-US');
}

/**
 * Series for charts from the server's metrics history (GET /v1/metrics/history): counters become rates per
 * second between successive samples of one node (a counter that went down restarted from zero, as in
 * `ratesBetween`), gauges are drawn as sampled. Aligned on the samples' times, as uPlot wants.
 */
import { ratesBetween } from './rates.ts';

export interface HistoryPoint {
  readonly t: number;
  readonly node: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface ChartSeries {
  /** Seconds since the epoch (uPlot's time scale). */
  readonly times: number[];
  /** Per series label, one value per time (null where the series has no value). */
  readonly series: Map<string, Array<number | null>>;
}

/** `tollstream_records_in_total{stream="tolls"}` -> `tolls`; a key without labels -> `fallback`. */
export function seriesLabel(key: string, fallback: string): string {
  const m = /\{(.*)\}$/.exec(key);
  if (!m) return fallback;
  return m[1]!.split(',').map((pair) => JSON.parse(pair.slice(pair.indexOf('=') + 1)) as string).join(' ');
}

/**
 * The series of metric `name` over `points` (oldest first). `rate`: per-second increase since the node's
 * previous sample (none for a node's first sample); `gauge`: the value as sampled. With several nodes the
 * label is prefixed with the node's name.
 */
export function historySeries(points: readonly HistoryPoint[], name: string, kind: 'rate' | 'gauge', fallbackLabel = name): ChartSeries {
  const nodes = new Set(points.map((p) => p.node));
  const times = points.map((p) => p.t / 1000);
  const series = new Map<string, Array<number | null>>();
  const previous = new Map<string, { at: number; values: Map<string, number> }>();
  points.forEach((p, i) => {
    const own = new Map<string, number>();
    for (const [key, value] of Object.entries(p.values)) {
      if (key === name || key.startsWith(`${name}{`)) own.set(key, value);
    }
    const current = { at: p.t, values: own };
    const shown = kind === 'rate' ? (previous.has(p.node) ? ratesBetween(previous.get(p.node), current) : new Map<string, number>()) : own;
    previous.set(p.node, current);
    for (const [key, value] of shown) {
      const label = nodes.size > 1 ? `${p.node}: ${seriesLabel(key, fallbackLabel)}` : seriesLabel(key, fallbackLabel);
      let column = series.get(label);
      if (!column) series.set(label, (column = new Array<number | null>(points.length).fill(null)));
      column[i] = value;
    }
  });
  return { times, series };
}

/**
 * `kept` (oldest first) with the points of a later read added: a point already kept (same node and time) is not
 * added twice, since a read starts a little before the newest kept point to catch a node's sample appended late;
 * then only the last `windowMs` before the newest point stays. The page rereads only what is new, this way.
 */
export function appendHistory(kept: readonly HistoryPoint[], fresh: readonly HistoryPoint[], windowMs: number): HistoryPoint[] {
  const key = (p: HistoryPoint) => `${p.node}\u0000${p.t}`;
  const seen = new Set(kept.map(key));
  const added = fresh.filter((p) => !seen.has(key(p)));
  if (added.length === 0) return [...kept];
  const merged = [...kept, ...added].sort((a, b) => a.t - b.t);
  const from = merged[merged.length - 1]!.t - windowMs;
  return merged.filter((p) => p.t >= from);
}

/** A chart's values with line breaks: `null` is a gap in the line, `undefined` a time the line passes over. */
export interface GappedSeries {
  readonly times: number[];
  readonly series: Map<string, Array<number | null | undefined>>;
}

/**
 * The longest time between two samples of a series that its line joins, in seconds: a few sample intervals, or a
 * few of the usual spacings of the points shown when the server thinned a long range.
 */
export function maxJoinedGapSeconds(times: readonly number[], intervalSeconds: number): number {
  const steps = times.slice(1).map((t, i) => t - times[i]!).filter((d) => d > 0).sort((a, b) => a - b);
  const usual = steps.length === 0 ? 0 : steps[Math.floor(steps.length / 2)]!;
  return 3 * Math.max(intervalSeconds, usual);
}

/**
 * Breaks each series' line where it has no sample for longer than `maxGapSeconds` (a server that was down, a
 * consumer that did not exist), and joins it across shorter holes (another node's samples, a sample taken while
 * a scrape failed). A gap with no time inside it gets one, at its middle, so there is a place for the break.
 */
export function breakGaps(data: ChartSeries, maxGapSeconds: number): GappedSeries {
  const columns = [...data.series.values()];
  const valued = (c: ReadonlyArray<number | null>, i: number) => c[i] !== null && c[i] !== undefined;
  // Times to add: the middle of each too-long gap of some series that has no other time inside it.
  const added = new Set<number>();
  for (const c of columns) {
    let last = -1;
    data.times.forEach((t, i) => {
      if (!valued(c, i)) return;
      if (last >= 0 && i === last + 1 && t - data.times[last]! > maxGapSeconds) added.add((t + data.times[last]!) / 2);
      last = i;
    });
  }
  const order = [...data.times.map((t, i) => ({ t, from: i as number | null })), ...[...added].map((t) => ({ t, from: null }))].sort((a, b) => a.t - b.t);
  const times = order.map((o) => o.t);
  const series = new Map<string, Array<number | null | undefined>>();
  for (const [label, c] of data.series) {
    const out: Array<number | null | undefined> = order.map((o) => (o.from === null || !valued(c, o.from) ? undefined : c[o.from]));
    let last = -1;
    out.forEach((v, i) => {
      if (v === undefined) return;
      if (last >= 0 && times[i]! - times[last]! > maxGapSeconds) for (let k = last + 1; k < i; k++) out[k] = null;
      last = i;
    });
    series.set(label, out);
  }
  return { times, series };
}

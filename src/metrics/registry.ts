/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format 0.0.4. Label children are cached, so the hot path is a Map lookup and an add.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  render(out: string[]): void;
  series(): MetricSeries[];
}

/** One series of a counter or gauge: its label values by label name, and its value now. */
export interface MetricSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface CounterChild {
  inc(value?: number): void;
}

export interface GaugeChild {
  set(value: number): void;
  inc(value?: number): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

export interface LabeledMetric<Child> {
  /** The series for these label values (in the order the label names were declared). */
  labels(...values: string[]): Child;
  /** Forgets every series (for gauges rebuilt from a snapshot at each scrape). */
  reset(): void;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Default latency buckets, in seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Array<() => void> = [];
  private readonly asyncCollectors: Array<() => Promise<void>> = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): LabeledMetric<CounterChild> {
    const family = new Family<CounterState>(name, help, 'counter', labelNames, () => ({ value: 0 }));
    this.add(family);
    return {
      labels: (...values) => {
        const state = family.child(values);
        return {
          inc(value = 1) {
            state.value += value;
          },
        };
      },
      reset: () => family.reset(),
    };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): LabeledMetric<GaugeChild> {
    const family = new Family<CounterState>(name, help, 'gauge', labelNames, () => ({ value: 0 }));
    this.add(family);
    return {
      labels: (...values) => {
        const state = family.child(values);
        return {
          set(value) {
            state.value = value;
          },
          inc(value = 1) {
            state.value += value;
          },
        };
      },
      reset: () => family.reset(),
    };
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS_SECONDS,
  ): LabeledMetric<HistogramChild> {
    const bounds = [...buckets].sort((a, b) => a - b);
    const family = new Family<HistogramState>(name, help, 'histogram', labelNames, () => ({
      counts: new Array<number>(bounds.length).fill(0),
      sum: 0,
      count: 0,
    }), bounds);
    this.add(family);
    return {
      labels: (...values) => {
        const state = family.child(values);
        return {
          observe(value) {
            // Linear scan: a dozen buckets is faster than a binary search's bookkeeping.
            for (let i = 0; i < bounds.length; i++) {
              if (value <= bounds[i]!) {
                state.counts[i]!++;
                break;
              }
            }
            state.sum += value;
            state.count++;
          },
        };
      },
      reset: () => family.reset(),
    };
  }

  /** Runs before each rendering, to refresh gauges from a snapshot (e.g. the log's stats). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  /**
   * Runs before each `renderAsync`, for values that need a query (e.g. the warehouse's freshness). A collector
   * that fails leaves its metrics as they were; it should log the failure itself.
   */
  onCollectAsync(collect: () => Promise<void>): void {
    this.asyncCollectors.push(collect);
  }

  /**
   * The series of a counter or gauge family as a scrape would show them now (run `collect()` first to refresh
   * the values collectors fill in); [] for a histogram or an unknown name.
   */
  series(name: string): MetricSeries[] {
    return this.metrics.get(name)?.series() ?? [];
  }

  /** Runs every collector, async ones included, as a scrape does before it renders. */
  async collect(): Promise<void> {
    await Promise.allSettled(this.asyncCollectors.map((collect) => collect()));
    for (const collect of this.collectors) collect();
  }

  /** Runs the async collectors (concurrently), then renders as `render()` does. */
  async renderAsync(): Promise<string> {
    await Promise.allSettled(this.asyncCollectors.map((collect) => collect()));
    return this.render();
  }

  /** The Prometheus text exposition format 0.0.4. Async collectors do not run here (see `renderAsync`). */
  render(): string {
    for (const collect of this.collectors) collect();
    const out: string[] = [];
    for (const metric of this.metrics.values()) metric.render(out);
    return out.join('');
  }

  private add(metric: Metric): void {
    if (!NAME.test(metric.name)) throw new Error(`invalid metric name '${metric.name}'`);
    if (this.metrics.has(metric.name)) throw new Error(`metric '${metric.name}' is registered twice`);
    this.metrics.set(metric.name, metric);
  }
}

/** The content type of `Registry.render()`. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface CounterState {
  value: number;
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

class Family<State extends CounterState | HistogramState> implements Metric {
  private readonly children = new Map<string, { labels: string; values: readonly string[]; state: State }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly labelNames: readonly string[],
    private readonly init: () => State,
    private readonly bounds: readonly number[] = [],
  ) {
    for (const label of labelNames) if (!LABEL.test(label) || label === 'le') throw new Error(`invalid label name '${label}' on '${name}'`);
  }

  child(values: readonly string[]): State {
    if (values.length !== this.labelNames.length) {
      throw new Error(`metric '${this.name}' takes labels (${this.labelNames.join(', ')}), got ${values.length} values`);
    }
    const key = values.join('\u0000');
    let child = this.children.get(key);
    if (!child) {
      const labels = this.labelNames.map((n, i) => `${n}="${escapeLabel(values[i]!)}"`).join(',');
      child = { labels, values: [...values], state: this.init() };
      this.children.set(key, child);
    }
    return child.state;
  }

  reset(): void {
    this.children.clear();
  }

  series(): MetricSeries[] {
    const out: MetricSeries[] = [];
    for (const { values, state } of this.children.values()) {
      if (!('value' in state)) continue;
      out.push({ labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]!])), value: state.value });
    }
    return out;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} ${this.type}\n`);
    for (const { labels, state } of this.children.values()) {
      if ('value' in state) {
        out.push(`${this.name}${labels ? `{${labels}}` : ''} ${formatNumber(state.value)}\n`);
        continue;
      }
      const sep = labels ? ',' : '';
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += state.counts[i]!;
        out.push(`${this.name}_bucket{${labels}${sep}le="${formatNumber(this.bounds[i]!)}"} ${cumulative}\n`);
      }
      out.push(`${this.name}_bucket{${labels}${sep}le="+Inf"} ${state.count}\n`);
      out.push(`${this.name}_sum${labels ? `{${labels}}` : ''} ${formatNumber(state.sum)}\n`);
      out.push(`${this.name}_count${labels ? `{${labels}}` : ''} ${state.count}\n`);
    }
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

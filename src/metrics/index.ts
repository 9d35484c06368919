/** Metrics: a small Prometheus registry. The one public door. */
export { Registry, LATENCY_BUCKETS_SECONDS, PROMETHEUS_CONTENT_TYPE } from './registry.ts';
export type { CounterChild, GaugeChild, HistogramChild, LabeledMetric, MetricSeries, MetricType } from './registry.ts';

/**
 * A metric kept in the console's metrics history, and which of its labels: other labels are summed away (records in
 * per stream, not per shard), or with `combine: 'max'` the highest value is kept (the slowest shard is the
 * consumer's lag). The platform keeps its own; an app names its own (`App.historySeries`).
 */
export interface HistorySeries {
  readonly name: string;
  readonly by: readonly string[];
  readonly combine?: 'max';
}

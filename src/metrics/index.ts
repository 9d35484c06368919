/** Metrics: a small Prometheus registry. The one public door. */
export { Registry, LATENCY_BUCKETS_SECONDS, PROMETHEUS_CONTENT_TYPE } from './registry.ts';
export type { CounterChild, GaugeChild, HistogramChild, LabeledMetric, MetricSeries, MetricType } from './registry.ts';

/**
 * History: charts of the last hours from the server's metrics history (GET /v1/metrics/history, kept in the log
 * for `metrics.historyRetentionHours`, so they survive page loads and server restarts): records in per stream,
 * how far each consumer is behind, errors, and the warehouse's freshness.
 */
import { historySeries, type ChartSeries, type HistoryPoint } from '../../lib/history.ts';
import { responsiveChart, type ChartHandle } from '../../ui/chart.ts';
import { h, replace } from '../../ui/dom.ts';
import { describeError, every, type Page } from '../context.ts';

interface HistoryAnswer {
  readonly intervalSeconds: number;
  readonly retentionHours: number;
  readonly points: readonly HistoryPoint[];
}

interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  /** Metric names, each with how to draw it and the label of a series without labels. */
  readonly metrics: ReadonlyArray<{ readonly name: string; readonly kind: 'rate' | 'gauge'; readonly label: string; readonly prefix?: string }>;
  /** A line drawn across the chart (a promise the system makes). */
  readonly limit?: { readonly value: number; readonly label: string };
}

const CHARTS: readonly ChartSpec[] = [
  { id: 'records-in', title: 'Records in per second, by stream', unit: 'records/s', metrics: [{ name: 'tollstream_records_in_total', kind: 'rate', label: 'records' }] },
  {
    id: 'lag',
    title: 'How far each consumer is behind (seconds)',
    unit: 's',
    metrics: [
      { name: 'tollstream_function_iterator_age_seconds', kind: 'gauge', label: 'function', prefix: 'function ' },
      { name: 'tollstream_delivery_behind_latest_seconds', kind: 'gauge', label: 'delivery', prefix: 'delivery ' },
      { name: 'tollstream_query_lag_seconds', kind: 'gauge', label: 'query', prefix: 'query ' },
    ],
  },
  {
    id: 'lag-records',
    title: 'How far each function, delivery and query is behind, by shard (records)',
    unit: 'records',
    metrics: [{ name: 'tollstream_consumer_lag_records', kind: 'gauge', label: 'consumer' }],
  },
  {
    id: 'errors',
    title: 'Errors per second',
    unit: 'errors/s',
    metrics: [
      { name: 'tollstream_function_errors_total', kind: 'rate', label: 'functions', prefix: 'function ' },
      { name: 'tollstream_delivery_errors_total', kind: 'rate', label: 'deliveries', prefix: 'delivery ' },
      { name: 'tollstream_query_errors_total', kind: 'rate', label: 'queries', prefix: 'query ' },
    ],
  },
  { id: 'freshness', title: 'Warehouse freshness (seconds)', unit: 's', metrics: [{ name: 'tollstream_warehouse_freshness_seconds', kind: 'gauge', label: 'newest row age' }], limit: { value: 1800, label: 'promise: 30 minutes' } },
];

const RANGES = [
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '48h', label: 'Last 48 hours' },
];

const COLOURS = ['#0a58b0', '#b05a0a', '#2e7d32', '#8e24aa', '#c62828', '#00838f', '#6d4c41', '#455a64'];

/** One chart's data: the metrics' series merged on the samples' times. */
function chartData(points: readonly HistoryPoint[], spec: ChartSpec): ChartSeries {
  const merged: ChartSeries = { times: points.map((p) => p.t / 1000), series: new Map() };
  for (const m of spec.metrics) {
    for (const [label, values] of historySeries(points, m.name, m.kind, m.label).series) merged.series.set(`${m.prefix ?? ''}${label}`, values);
  }
  return merged;
}

export const historyPage: Page = (container, ctx) => {
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const range = h('select', { id: 'history-range' }, ...RANGES.map((r) => h('option', { value: r.value }, r.label)));
  const status = h('p', { class: 'muted', id: 'history-status' }, 'Reading the history…');
  const boxes = new Map<string, HTMLElement>();
  const sections = CHARTS.map((spec) => {
    const box = h('div', { class: 'chart', role: 'img', 'aria-label': `Chart: ${spec.title}` });
    boxes.set(spec.id, box);
    return h('section', { 'aria-labelledby': `${spec.id}-h` }, h('h2', { id: `${spec.id}-h` }, spec.title), box);
  });
  replace(container, error, h('div', { class: 'field narrow' }, h('label', { for: 'history-range' }, 'Time range'), range), status, ...sections);

  const charts = new Map<string, ChartHandle>();
  const shapes = new Map<string, string>();
  const draw = (answer: HistoryAnswer) => {
    const points = answer.points;
    status.textContent =
      points.length === 0
        ? `No samples in this range yet: the server records one every ${answer.intervalSeconds} s and keeps them ${answer.retentionHours} h.`
        : `${points.length} samples, one every ${answer.intervalSeconds} s (thinned for long ranges); kept ${answer.retentionHours} h, across restarts.`;
    for (const spec of CHARTS) {
      const box = boxes.get(spec.id)!;
      const data = chartData(points, spec);
      const labels = [...data.series.keys()];
      const columns: Array<Array<number | null>> = [...data.series.values()];
      if (spec.limit) {
        labels.push(spec.limit.label);
        columns.push(data.times.map(() => spec.limit!.value));
      }
      // uPlot fixes its series at creation: a chart whose series changed is drawn anew.
      const shape = labels.join('\u0000');
      if (shapes.get(spec.id) !== shape) {
        charts.get(spec.id)?.destroy();
        box.replaceChildren();
        if (labels.length === 0 || data.times.length === 0) {
          box.append(h('p', { class: 'muted' }, 'Nothing recorded for this chart in this range.'));
          charts.delete(spec.id);
          shapes.set(spec.id, shape);
          continue;
        }
        charts.set(
          spec.id,
          responsiveChart(
            box,
            {
              height: 200,
              scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
              axes: [{ stroke: '#4a5361' }, { stroke: '#4a5361', size: 70, label: spec.unit }],
              series: [
                { label: 'time' },
                ...labels.map((label, i) => (spec.limit && i === labels.length - 1 ? { label, stroke: '#c62828', dash: [6, 4], width: 1, points: { show: false } } : { label, stroke: COLOURS[i % COLOURS.length]!, width: 1.5, points: { show: false } })),
              ],
            },
            [data.times, ...columns],
          ),
        );
        shapes.set(spec.id, shape);
      } else {
        charts.get(spec.id)?.setData([data.times, ...columns]);
      }
    }
  };

  let stopTimer = () => {};
  const start = () => {
    stopTimer();
    stopTimer = every(10_000, async () => {
      try {
        const answer = await ctx.json<HistoryAnswer>(`/v1/metrics/history?since=${range.value}&maxPoints=720`);
        error.hidden = true;
        draw(answer);
      } catch (err) {
        error.hidden = false;
        error.textContent = `Could not read the metrics history: ${describeError(err)}`;
      }
    });
  };
  range.addEventListener('change', start);
  start();
  return () => {
    stopTimer();
    for (const c of charts.values()) c.destroy();
  };
};

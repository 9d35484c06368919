/**
 * History: charts of the last hours from the server's metrics history (GET /v1/metrics/history, kept in the log
 * for `metrics.historyRetentionHours`, so they survive page loads and server restarts): records in per stream,
 * how far each consumer is behind, errors, dead letters, and the warehouse's freshness. The range is read once; each refresh
 * reads only the samples since the newest one shown and appends them. Each chart's numbers are also a table.
 */
import { appendHistory, breakGaps, historySeries, maxJoinedGapSeconds, type ChartSeries, type HistoryPoint } from '../../lib/history.ts';
import { responsiveChart, type ChartHandle } from '../../ui/chart.ts';
import { dataTable, h, replace } from '../../ui/dom.ts';
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
    title: 'How far each function, delivery and query is behind, by shard (seconds)',
    unit: 's',
    // The age of the oldest record not yet processed: 0 when the consumer is at the tip.
    metrics: [{ name: 'tollstream_consumer_lag_seconds', kind: 'gauge', label: 'consumer' }],
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
  {
    id: 'dead-letters',
    title: 'Dead letters: webhook deliveries given up (notifications)',
    unit: 'deliveries',
    metrics: [{ name: 'tollstream_notify_dead_letters', kind: 'gauge', label: 'dead letters' }],
  },
  { id: 'freshness', title: 'Warehouse freshness (seconds)', unit: 's', metrics: [{ name: 'tollstream_warehouse_freshness_seconds', kind: 'gauge', label: 'newest row age' }], limit: { value: 1800, label: 'promise: 30 minutes' } },
];

const HOUR_MS = 3_600_000;
const RANGES = [
  { value: '1h', label: 'Last hour', ms: HOUR_MS },
  { value: '6h', label: 'Last 6 hours', ms: 6 * HOUR_MS },
  { value: '24h', label: 'Last 24 hours', ms: 24 * HOUR_MS },
  { value: '48h', label: 'Last 48 hours', ms: 48 * HOUR_MS },
];
/** Points of a whole range, thinned by the server; a refresh that grew the page past twice this reads the range anew. */
const MAX_POINTS = 720;
/** The most new points one refresh takes (a tab that slept for hours); past it the range is read anew. */
const MAX_NEW_POINTS = 2000;

const COLOURS = ['#0a58b0', '#b05a0a', '#2e7d32', '#8e24aa', '#c62828', '#00838f', '#6d4c41', '#455a64'];

/** One chart's data: the metrics' series merged on the samples' times. */
function chartData(points: readonly HistoryPoint[], spec: ChartSpec): ChartSeries {
  const merged: ChartSeries = { times: points.map((p) => p.t / 1000), series: new Map() };
  for (const m of spec.metrics) {
    for (const [label, values] of historySeries(points, m.name, m.kind, m.label).series) merged.series.set(`${m.prefix ?? ''}${label}`, values);
  }
  return merged;
}

/** A chart's numbers as a table, newest first: the time of each sample and each series' value. */
function chartTable(spec: ChartSpec, data: ChartSeries): HTMLElement {
  const columns = [...data.series.values()];
  const rows = data.times.map((t, i) => {
    const at = new Date(t * 1000);
    return [h('time', { datetime: at.toISOString() }, at.toLocaleTimeString('en-GB')), ...columns.map((c) => c[i] ?? null)];
  });
  return dataTable(['Time', ...data.series.keys()], rows.reverse(), `${spec.title}: the samples charted`);
}

export const historyPage: Page = (container, ctx) => {
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const range = h('select', { id: 'history-range' }, ...RANGES.map((r) => h('option', { value: r.value }, r.label)));
  const status = h('p', { class: 'muted', id: 'history-status' }, 'Reading the history…');
  const boxes = new Map<string, HTMLElement>();
  const tables = new Map<string, HTMLDetailsElement>();
  const latest = new Map<string, ChartSeries>();
  const sections = CHARTS.map((spec) => {
    const box = h('div', { class: 'chart', role: 'img', 'aria-label': `Chart: ${spec.title}` });
    boxes.set(spec.id, box);
    // Drawn only while open: a long range is thousands of rows.
    const table = h('details', { class: 'chart-data', id: `${spec.id}-data`, ontoggle: () => showTable(spec) }, h('summary', {}, 'Numbers'));
    tables.set(spec.id, table);
    return h('section', { 'aria-labelledby': `${spec.id}-h` }, h('h2', { id: `${spec.id}-h` }, spec.title), box, table);
  });
  replace(container, error, h('div', { class: 'field narrow' }, h('label', { for: 'history-range' }, 'Time range'), range), status, ...sections);

  const showTable = (spec: ChartSpec) => {
    const table = tables.get(spec.id)!;
    const data = latest.get(spec.id);
    table.querySelector('.table-wrap, p')?.remove();
    if (!table.open) return;
    table.append(data && data.times.length > 0 ? chartTable(spec, data) : h('p', { class: 'muted' }, 'Nothing recorded for this chart in this range.'));
  };

  const charts = new Map<string, ChartHandle>();
  const shapes = new Map<string, string>();
  const draw = (shown: readonly HistoryPoint[], intervalSeconds: number, retentionHours: number) => {
    status.textContent =
      shown.length === 0
        ? `No samples in this range yet: the server records one every ${intervalSeconds} s and keeps them ${retentionHours} h.`
        : `${shown.length} samples, one every ${intervalSeconds} s (thinned for long ranges); kept ${retentionHours} h, across restarts.`;
    for (const spec of CHARTS) {
      const box = boxes.get(spec.id)!;
      const data = chartData(shown, spec);
      latest.set(spec.id, data);
      showTable(spec);
      // Hours the server was down are a break in each line, not a straight line across them.
      const drawn = breakGaps(data, maxJoinedGapSeconds(data.times, intervalSeconds));
      const labels = [...drawn.series.keys()];
      const columns: Array<Array<number | null | undefined>> = [...drawn.series.values()];
      if (spec.limit) {
        labels.push(spec.limit.label);
        columns.push(drawn.times.map(() => spec.limit!.value));
      }
      // uPlot fixes its series at creation: a chart whose series changed is drawn anew.
      const shape = labels.join('\u0000');
      if (shapes.get(spec.id) !== shape) {
        charts.get(spec.id)?.destroy();
        box.replaceChildren();
        if (labels.length === 0 || drawn.times.length === 0) {
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
            [drawn.times, ...columns],
          ),
        );
        shapes.set(spec.id, shape);
      } else {
        charts.get(spec.id)?.setData([drawn.times, ...columns]);
      }
    }
  };

  // The samples shown, oldest first. The first read of a range takes all of it (thinned by the server); later ones
  // only what came since the newest sample shown, from a little before it, for a node's sample appended late.
  let points: HistoryPoint[] = [];
  let whole = false;
  let intervalMs = 10_000;
  const refresh = async (chosen: (typeof RANGES)[number]) => {
    const newest = points[points.length - 1];
    if (!whole || newest === undefined || points.length > 2 * MAX_POINTS) {
      const answer = await ctx.json<HistoryAnswer>(`/v1/metrics/history?since=${chosen.value}&maxPoints=${MAX_POINTS}`);
      if (range.value !== chosen.value) return;
      points = [...answer.points];
      whole = true;
      intervalMs = answer.intervalSeconds * 1000;
      draw(points, answer.intervalSeconds, answer.retentionHours);
      return;
    }
    const from = newest.t - Math.max(2 * intervalMs, 5000);
    const answer = await ctx.json<HistoryAnswer>(`/v1/metrics/history?since=${from}&maxPoints=${MAX_NEW_POINTS}`);
    if (range.value !== chosen.value) return;
    // A thinned answer has gaps that appending would hide: take the range anew next time.
    if (answer.points.length >= MAX_NEW_POINTS) whole = false;
    else points = appendHistory(points, answer.points, chosen.ms);
    draw(points, answer.intervalSeconds, answer.retentionHours);
  };

  let stopTimer = () => {};
  const start = () => {
    stopTimer();
    points = [];
    whole = false;
    const chosen = RANGES.find((r) => r.value === range.value) ?? RANGES[0]!;
    stopTimer = every(10_000, async () => {
      try {
        await refresh(chosen);
        error.hidden = true;
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

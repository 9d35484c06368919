/**
 * Functions and delivery, from /metrics (parsed in the browser): each delivery's state, throughput, errors,
 * buffering and freshness; the warehouse's freshness; function metrics when the server exports them; and
 * every other metric behind a filter.
 */
import { formatRate, ratesBetween, type CounterSnapshot } from '../../lib/rates.ts';
import { samplesOf, sumBy, type MetricFamily } from '../../lib/prometheus.ts';
import { cellText, dataTable, h, replace } from '../../ui/dom.ts';
import { describeError, every, type Page } from '../context.ts';
import { showDeadLetters } from './dead-letters.ts';

export const deliveryPage: Page = (container, ctx) => {
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const deliveries = h('div', {}, h('p', { class: 'loading' }, 'Reading /metrics…'));
  const warehouse = h('div', {});
  const functions = h('div', {});
  const notifications = h('div', {});
  const deadBox = h('div', {});
  const filter = h('input', { id: 'metric-filter', type: 'search', placeholder: 'tollstream_', autocomplete: 'off', spellcheck: 'false' });
  const all = h('div', {});
  replace(
    container,
    error,
    h('section', { 'aria-labelledby': 'deliveries-h' }, h('h2', { id: 'deliveries-h' }, 'Deliveries'), deliveries),
    h('section', { 'aria-labelledby': 'warehouse-h' }, h('h2', { id: 'warehouse-h' }, 'Warehouse'), warehouse),
    h('section', { 'aria-labelledby': 'functions-h' }, h('h2', { id: 'functions-h' }, 'Functions'), functions),
    h('section', { 'aria-labelledby': 'notify-h' }, h('h2', { id: 'notify-h' }, 'Notifications'), notifications),
    h('section', { 'aria-labelledby': 'dead-h' }, h('h2', { id: 'dead-h' }, 'Dead letters'), deadBox),
    h('details', { class: 'all-metrics' }, h('summary', {}, h('h2', { class: 'inline' }, 'All metrics')), h('div', { class: 'field narrow' }, h('label', { for: 'metric-filter' }, 'Show metrics whose name contains'), filter), all),
  );

  let latest: Map<string, MetricFamily> | undefined;
  let previous: CounterSnapshot | undefined;
  const renderAll = () => {
    if (!latest) return;
    const needle = filter.value.trim().toLowerCase();
    const rows: unknown[][] = [];
    for (const f of latest.values()) {
      if (needle !== '' && !f.name.toLowerCase().includes(needle)) continue;
      // Histogram buckets only when asked for by name: they are most of the lines and say little in a table.
      for (const s of f.samples) if (!s.name.endsWith('_bucket') || needle.includes('bucket')) rows.push([s.name, f.type, Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(', '), s.value]);
    }
    replace(all, rows.length === 0 ? h('p', { class: 'muted' }, 'No metric matches.') : dataTable(['Sample', 'Type', 'Labels', 'Value'], rows.slice(0, 500), `${rows.length} samples${rows.length > 500 ? ' (first 500 shown)' : ''}`));
  };
  filter.addEventListener('input', renderAll);

  const stop = every(3000, async () => {
    try {
      const families = await ctx.metrics();
      latest = families;
      error.hidden = true;
      const now = Date.now();
      const rowsNow: CounterSnapshot = { at: now, values: sumBy(families, 'tollstream_delivery_rows_total', 'delivery') };
      const rowRates = ratesBetween(previous, rowsNow);
      previous = rowsNow;
      replace(deliveries, deliveryTable(families, rowRates));
      replace(warehouse, warehouseView(families));
      replace(functions, functionView(families));
      replace(notifications, notifyView(families));
      renderAll();
    } catch (err) {
      error.hidden = false;
      error.textContent = `Could not read /metrics: ${describeError(err)}`;
    }
  });
  const stopDead = showDeadLetters(deadBox, ctx);
  return () => {
    stop();
    stopDead();
  };
};

function deliveryTable(families: Map<string, MetricFamily>, rowRates: ReadonlyMap<string, number>): HTMLElement {
  const names = [...new Set(samplesOf(families, 'tollstream_delivery_rows_total').map((s) => s.labels.delivery ?? ''))].sort();
  if (names.length === 0) return h('p', { class: 'muted' }, 'No deliveries run on this server (tollstream_delivery_* metrics are absent).');
  const one = (metric: string, delivery: string) => samplesOf(families, metric, { delivery }).reduce((sum, s) => sum + s.value, 0);
  const rows = names.map((d) => {
    const state = samplesOf(families, 'tollstream_delivery_state', { delivery: d }).find((s) => s.value === 1)?.labels.state ?? 'unknown';
    const errors = samplesOf(families, 'tollstream_delivery_errors_total', { delivery: d }).filter((s) => s.value > 0);
    return [
      d,
      state,
      rowRates.has(d) ? formatRate(rowRates.get(d)!) : '…',
      one('tollstream_delivery_rows_total', d),
      one('tollstream_delivery_records_read_total', d),
      one('tollstream_delivery_batches_total', d),
      errors.length === 0 ? 0 : errors.map((s) => `${s.labels.type ?? '?'}: ${s.value}`).join(', '),
      one('tollstream_delivery_retries_total', d),
      one('tollstream_delivery_buffered_records', d),
      `${cellText(one('tollstream_delivery_data_freshness_seconds', d))} s`,
      `${formatRate(one('tollstream_delivery_behind_latest_seconds', d))} s`,
    ];
  });
  return dataTable(['Delivery', 'State', 'Rows/s', 'Rows delivered', 'Records read', 'Batches', 'Errors', 'Retries', 'Buffered', 'Data freshness', 'Behind latest'], rows);
}

function warehouseView(families: Map<string, MetricFamily>): HTMLElement {
  const up = samplesOf(families, 'tollstream_warehouse_up')[0];
  const freshness = samplesOf(families, 'tollstream_warehouse_freshness_seconds')[0];
  if (!up && !freshness) return h('p', { class: 'muted' }, 'This server runs without a warehouse.');
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Status'),
    h('dd', {}, up === undefined ? 'unknown' : up.value === 1 ? 'up' : 'down (the freshness query failed; see the server log)'),
    h('dt', {}, 'Freshness'),
    h('dd', { 'data-testid': 'warehouse-freshness' }, freshness === undefined ? 'no rows loaded yet' : `${formatRate(freshness.value)} s since the newest loaded row arrived`),
  );
}

/** The notification queues: what waits in the outbox, what waits for a webhook, what gave up. */
function notifyView(families: Map<string, MetricFamily>): HTMLElement {
  const gauges: Array<[string, string]> = [
    ['tollstream_notify_outbox_pending', 'Outbox, waiting to be fanned out'],
    ['tollstream_notify_deliveries_pending', 'Webhook deliveries waiting'],
    ['tollstream_notify_dead_letters', 'Dead letters'],
  ];
  const present = gauges.filter(([name]) => families.has(name));
  if (present.length === 0) return h('p', { class: 'muted' }, 'This server exports no notification metrics (tollstream_notify_*).');
  const total = (name: string) => samplesOf(families, name).reduce((sum, s) => sum + s.value, 0);
  return h('dl', { class: 'facts' }, ...present.flatMap(([name, label]) => [h('dt', {}, label), h('dd', {}, total(name).toLocaleString('en-US'))]));
}

/** One row per event source mapping, one column per `tollstream_function_*` metric (the prefix dropped). */
function functionView(families: Map<string, MetricFamily>): HTMLElement {
  const metrics = [...families.values()].filter((f) => f.name.startsWith('tollstream_function_'));
  if (metrics.length === 0) return h('p', { class: 'muted' }, 'This server exports no function metrics (tollstream_function_*).');
  const byMapping = new Map<string, Map<string, number>>();
  for (const f of metrics) {
    for (const s of f.samples) {
      const who = s.labels.mapping ?? s.labels.function ?? Object.values(s.labels).join(' ');
      const row = byMapping.get(who) ?? new Map<string, number>();
      row.set(f.name, (row.get(f.name) ?? 0) + s.value);
      byMapping.set(who, row);
    }
  }
  const columns = metrics.map((f) => f.name.slice('tollstream_function_'.length).replace(/_total$/, '').replace(/_/g, ' '));
  const rows = [...byMapping].sort(([a], [b]) => a.localeCompare(b)).map(([who, values]) => [who, ...metrics.map((f) => values.get(f.name) ?? null)]);
  return dataTable(['Mapping', ...columns], rows, 'Event source mappings');
}

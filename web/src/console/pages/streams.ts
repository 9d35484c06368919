/**
 * Streams: shards, retention and stored bytes per stream, ingest rates (records/s, bytes/s) from the
 * difference of successive /metrics scrapes, a chart of records/s, how far each consumer is behind (in seconds,
 * and in records per shard), and on a cluster node which node works each consumer shard (from /health). A stream's
 * name leads to its per-shard view (shards.ts).
 */
import { formatBytes, formatRate, ratesBetween, type CounterSnapshot } from '../../lib/rates.ts';
import { consumerLag, totalRecordsBehind } from '../../lib/consumer-lag.ts';
import { shardOwners, type HealthBody, type ShardOwner } from '../../lib/leases.ts';
import { sumBy, type MetricFamily } from '../../lib/prometheus.ts';
import { responsiveChart, type ChartHandle } from '../../ui/chart.ts';
import { h, replace } from '../../ui/dom.ts';
import { describeError, every, type Page } from '../context.ts';
import { showShards } from './shards.ts';

interface StreamSummary {
  readonly name: string;
  readonly status: string;
  readonly openShardCount: number;
}
interface StreamDescription extends StreamSummary {
  readonly retentionHours: number;
  readonly retentionBytes?: number;
  readonly shards: ReadonlyArray<{ shardId: string; endingSequenceNumber?: string }>;
  readonly dedupe?: { mode: string; field?: string; windowSeconds?: number };
}

const SCRAPE_MS = 2000;
const HISTORY = 150; // 5 minutes of 2 s scrapes
const COLOURS = ['#0a58b0', '#a4161a', '#1b6e34', '#6b4b00', '#6d28d9', '#0e7490'];

export const streamsPage: Page = (container, ctx, path) => {
  if (path[0] !== undefined) return showShards(container, ctx, path[0]);
  const error = h('div', { class: 'notice error', role: 'alert', hidden: true });
  const table = h('div', {}, h('p', { class: 'loading' }, 'Loading streams…'));
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'Records per second per stream over the last minutes; the figures are in the table above.' });
  const consumers = h('div', {});
  const updated = h('p', { class: 'muted small' });
  replace(
    container,
    error,
    h('section', { 'aria-label': 'Streams' }, table, updated),
    h('section', { class: 'card', 'aria-labelledby': 'rate-h' }, h('h2', { id: 'rate-h' }, 'Ingest rate (records/s)'), chartBox),
    h('section', { 'aria-labelledby': 'consumers-h' }, h('h2', { id: 'consumers-h' }, 'Consumers'), consumers),
  );

  let previous: { records: CounterSnapshot; bytes: CounterSnapshot } | undefined;
  const details = new Map<string, StreamDescription>();
  let detailsAt = 0;
  const times: number[] = [];
  const history = new Map<string, Array<number | null>>();
  let chart: ChartHandle | undefined;
  let chartStreams = '';

  const stop = every(SCRAPE_MS, async () => {
    try {
      const [families, list, health] = await Promise.all([
        ctx.metrics(),
        ctx.json<{ streams: StreamSummary[] }>('/v1/streams'),
        // Only for the leases: a node that is starting or stopping answers 503, and the page goes on without them.
        ctx.json<HealthBody>('/health').catch(() => undefined),
      ]);
      const now = Date.now();
      if (now - detailsAt > 10_000 || list.streams.some((s) => !details.has(s.name))) {
        detailsAt = now;
        const described = await Promise.all(list.streams.map((s) => ctx.json<StreamDescription>(`/v1/streams/${encodeURIComponent(s.name)}`).catch(() => undefined)));
        details.clear();
        for (const d of described) if (d) details.set(d.name, d);
      }
      const records: CounterSnapshot = { at: now, values: sumBy(families, 'tollstream_records_in_total', 'stream') };
      const bytes: CounterSnapshot = { at: now, values: sumBy(families, 'tollstream_bytes_in_total', 'stream') };
      const recordRates = ratesBetween(previous?.records, records);
      const byteRates = ratesBetween(previous?.bytes, bytes);
      previous = { records, bytes };
      const stored = sumBy(families, 'tollstream_stored_bytes', 'stream');
      const dups = sumBy(families, 'tollstream_duplicates_dropped_total', 'stream');
      error.hidden = true;

      const names = list.streams.map((s) => s.name).sort();
      replace(table, streamTable(list.streams, details, recordRates, byteRates, records.values, stored, dups));
      updated.textContent = `Updated ${new Date(now).toLocaleTimeString()}; rates are the change between scrapes ${SCRAPE_MS / 1000} s apart.`;
      replace(consumers, consumerTable(families, shardOwners(health)));

      // Rate history for the chart.
      if (recordRates.size > 0 || names.length === 0) {
        times.push(now / 1000);
        for (const name of names) {
          const series = history.get(name) ?? new Array<number | null>(times.length - 1).fill(null);
          series.push(recordRates.get(name) ?? 0);
          history.set(name, series);
        }
        for (const [name, series] of history) if (series.length < times.length) series.push(null);
        if (times.length > HISTORY) {
          times.shift();
          for (const series of history.values()) series.shift();
        }
        const key = [...history.keys()].join('\n');
        const data = [times.slice(), ...[...history.values()].map((s) => s.slice())] as [number[], ...Array<Array<number | null>>];
        if (key !== chartStreams || !chart) {
          chart?.destroy();
          chartBox.replaceChildren();
          chartStreams = key;
          chart = responsiveChart(
            chartBox,
            {
              height: 200,
              legend: { live: false },
              scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.15] } },
              axes: [
                { stroke: '#4a5361', space: 90, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300], values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString()) },
                { stroke: '#4a5361', size: 60 },
              ],
              series: [{}, ...[...history.keys()].map((name, i) => ({ label: name, stroke: COLOURS[i % COLOURS.length]!, width: 2, points: { show: false }, value: (_u: unknown, v: number | null) => (v === null ? '—' : `${formatRate(v)}/s`) }))],
            },
            data,
          );
        } else {
          chart.setData(data);
        }
      }
    } catch (err) {
      error.hidden = false;
      error.textContent = `Could not refresh: ${describeError(err)}`;
    }
  });
  return () => {
    stop();
    chart?.destroy();
  };
};

function streamTable(
  streams: readonly StreamSummary[],
  details: ReadonlyMap<string, StreamDescription>,
  recordRates: ReadonlyMap<string, number>,
  byteRates: ReadonlyMap<string, number>,
  totals: ReadonlyMap<string, number>,
  stored: ReadonlyMap<string, number>,
  dups: ReadonlyMap<string, number>,
): HTMLElement {
  if (streams.length === 0) return h('p', { class: 'muted' }, 'No streams yet. Create one with `tollstream streams create NAME` or POST /v1/streams.');
  const rows = [...streams].sort((a, b) => a.name.localeCompare(b.name));
  const rate = (m: ReadonlyMap<string, number>, name: string, f: (n: number) => string) => (m.has(name) ? f(m.get(name)!) : '…');
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': 'Streams', tabindex: 0 },
    h(
      'table',
      { 'data-testid': 'streams-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Stream', 'Status', 'Open shards', 'All shards', 'Retention', 'Records/s', 'Bytes/s', 'Records in', 'Duplicates dropped', 'Stored'].map((c, i) => h('th', { scope: 'col', class: i >= 2 && i !== 4 ? 'num' : null }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((s) => {
          const d = details.get(s.name);
          const retention = d ? `${d.retentionHours} h${d.retentionBytes ? `, ${formatBytes(d.retentionBytes)}` : ''}` : '…';
          return h(
            'tr',
            { 'data-stream': s.name },
            h('th', { scope: 'row' }, h('a', { href: `#/streams/${encodeURIComponent(s.name)}`, title: `Shards of ${s.name}` }, s.name)),
            h('td', {}, s.status),
            h('td', { class: 'num' }, s.openShardCount),
            h('td', { class: 'num' }, d ? d.shards.length : '…'),
            h('td', {}, retention),
            h('td', { class: 'num', 'data-testid': 'records-per-second' }, rate(recordRates, s.name, formatRate)),
            h('td', { class: 'num' }, rate(byteRates, s.name, (n) => `${formatBytes(n)}/s`)),
            h('td', { class: 'num', 'data-testid': 'records-in' }, (totals.get(s.name) ?? 0).toLocaleString('en-US')),
            h('td', { class: 'num' }, (dups.get(s.name) ?? 0).toLocaleString('en-US')),
            h('td', { class: 'num' }, formatBytes(stored.get(s.name) ?? 0)),
          );
        }),
      ),
    ),
  );
}

/**
 * Deliveries, functions and queries with how far behind the newest record they are, in seconds and in records
 * per shard, and, on a cluster node, the node working each of their shards.
 */
function consumerTable(families: Map<string, MetricFamily>, owners: Map<string, ShardOwner[]>): HTMLElement {
  const lags = consumerLag(families);
  if (lags.length === 0) return h('p', { class: 'muted' }, 'No consumer on this server reports its lag (deliveries, functions and queries do when they run).');
  const count = (n: number) => n.toLocaleString('en-US');
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': 'Consumers', tabindex: 0 },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Consumer'),
          h('th', { scope: 'col' }, 'Kind'),
          h('th', { scope: 'col', class: 'num' }, 'Behind the newest record'),
          h('th', { scope: 'col', class: 'num' }, 'Records behind'),
          h('th', { scope: 'col' }, 'Behind per shard'),
          ...(owners.size > 0 ? [h('th', { scope: 'col' }, 'Node per shard')] : []),
        ),
      ),
      h(
        'tbody',
        {},
        ...lags.map((l) => {
          const total = totalRecordsBehind(l);
          return h(
            'tr',
            { 'data-consumer': l.consumer },
            h('th', { scope: 'row' }, l.consumer),
            h('td', {}, l.kind),
            h('td', { class: 'num' }, l.seconds === undefined ? '—' : `${formatRate(l.seconds)} s`),
            h('td', { class: 'num', 'data-testid': 'lag-records' }, total === undefined ? '—' : count(total)),
            h(
              'td',
              {},
              l.shards.length === 0
                ? '—'
                : h(
                    'ul',
                    { class: 'shard-lag' },
                    ...l.shards.map((s) =>
                      h(
                        'li',
                        { 'data-shard': `${s.stream}/${s.shard}` },
                        `${s.stream} ${s.shard}: `,
                        h('span', { class: 'num', 'data-testid': 'shard-lag-records' }, `${count(s.records)} records`),
                        ...(s.seconds === undefined ? [] : [', ', h('span', { class: 'num', 'data-testid': 'shard-lag-seconds' }, `${formatRate(s.seconds)} s`)]),
                      ),
                    ),
                  ),
            ),
            ...(owners.size > 0 ? [ownerCell(owners.get(`${l.kind}:${l.consumer}`))] : []),
          );
        }),
      ),
    ),
  );
}

/** The node working each shard of a consumer under leases; a dash for one that runs outside them. */
function ownerCell(shards: readonly ShardOwner[] | undefined): HTMLElement {
  if (!shards || shards.length === 0) return h('td', {}, '—');
  return h('td', {}, h('ul', { class: 'shard-lag' }, ...shards.map((s) => h('li', { 'data-shard': `${s.stream}/${s.shard}` }, `${s.stream} ${s.shard}: `, s.owner === null ? h('span', { class: 'muted' }, 'nobody (moving)') : h('strong', {}, s.owner)))));
}

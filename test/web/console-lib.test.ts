/** The console's pure helpers: history chart series (rates per node, restarts, labels) and the tail's request. */
import { describe, expect, it } from 'vitest';
import { appendHistory, historySeries, seriesLabel, type HistoryPoint } from '../../web/src/lib/history.ts';
import { axisLabel, axisWidth, isMoneyColumn, shortCategory } from '../../web/src/lib/report-series.ts';
import { tailQueryString } from '../../web/src/lib/tail.ts';

const IN = (stream: string) => `tollstream_records_in_total{stream="${stream}"}`;

describe('historySeries', () => {
  it('turns counters into rates between samples, and reads a counter that went down as restarted', () => {
    const points: HistoryPoint[] = [
      { t: 10_000, node: 'local', values: { [IN('tolls')]: 100, tollstream_warehouse_freshness_seconds: 3 } },
      { t: 20_000, node: 'local', values: { [IN('tolls')]: 600, tollstream_warehouse_freshness_seconds: 4 } },
      // The server restarted: its counters start again from zero.
      { t: 30_000, node: 'local', values: { [IN('tolls')]: 50, [IN('alerts')]: 10, tollstream_warehouse_freshness_seconds: 2 } },
    ];
    const rates = historySeries(points, 'tollstream_records_in_total', 'rate');
    expect(rates.times).toEqual([10, 20, 30]);
    expect(rates.series.get('tolls')).toEqual([null, 50, 5]);
    expect(rates.series.get('alerts')).toEqual([null, null, 1]);

    const gauge = historySeries(points, 'tollstream_warehouse_freshness_seconds', 'gauge', 'freshness');
    expect([...gauge.series.keys()]).toEqual(['freshness']);
    expect(gauge.series.get('freshness')).toEqual([3, 4, 2]);
  });

  it('keeps the nodes of a cluster apart, each rate against its own previous sample', () => {
    const points: HistoryPoint[] = [
      { t: 10_000, node: 'a', values: { [IN('tolls')]: 0 } },
      { t: 11_000, node: 'b', values: { [IN('tolls')]: 1000 } },
      { t: 20_000, node: 'a', values: { [IN('tolls')]: 100 } },
      { t: 21_000, node: 'b', values: { [IN('tolls')]: 3000 } },
    ];
    const rates = historySeries(points, 'tollstream_records_in_total', 'rate');
    expect(rates.series.get('a: tolls')).toEqual([null, null, 10, null]);
    expect(rates.series.get('b: tolls')).toEqual([null, null, null, 200]);
  });

  it('does not mix up a metric with another whose name starts the same', () => {
    const points: HistoryPoint[] = [{ t: 1000, node: 'local', values: { tollstream_query_rows_in_total: 5, 'tollstream_query_rows_in_total_x{q="z"}': 9 } }];
    expect([...historySeries(points, 'tollstream_query_rows_in_total', 'gauge', 'rows').series.keys()]).toEqual(['rows']);
  });
});

describe('appendHistory', () => {
  const at = (t: number, node = 'local', n = t): HistoryPoint => ({ t, node, values: { [IN('tolls')]: n } });

  it('adds what a later read brought once, in time order, a late sample of another node included', () => {
    const kept = [at(1000), at(2000), at(3000)];
    // The read starts before the newest kept sample: 2000 and 3000 come again, and node b's 2500 came late.
    const merged = appendHistory(kept, [at(2000), at(3000), at(2500, 'b'), at(4000)], 3_600_000);
    expect(merged.map((p) => `${p.node}@${p.t}`)).toEqual(['local@1000', 'local@2000', 'b@2500', 'local@3000', 'local@4000']);
    expect(kept).toHaveLength(3);
  });

  it('keeps only the window before the newest sample, and keeps everything when nothing is new', () => {
    const kept = [at(1000), at(2000), at(3000)];
    expect(appendHistory(kept, [at(3000)], 1500)).toEqual(kept);
    expect(appendHistory(kept, [at(4000)], 1500).map((p) => p.t)).toEqual([3000, 4000]);
    // Rates stay what a fresh read of the same window gives: the first kept sample has none.
    expect(historySeries(appendHistory(kept, [at(4000, 'local', 4100)], 1500), 'tollstream_records_in_total', 'rate').series.get('tolls')).toEqual([null, 1100]);
  });
});

describe('seriesLabel', () => {
  it('shows the label values, or the fallback for a series without labels', () => {
    expect(seriesLabel('tollstream_function_iterator_age_seconds{mapping="abc-tolls-spend"}', 'x')).toBe('abc-tolls-spend');
    expect(seriesLabel('tollstream_notify_dead_letters', 'dead letters')).toBe('dead letters');
    expect(seriesLabel('m{a="1",b="two"}', 'x')).toBe('1 two');
  });
});

describe('tailQueryString', () => {
  const blank = { from: 'LATEST', at: '', sequenceNumber: '', shard: '', key: '', field: '', value: '' };
  it('sends only what the form asks for, a time read as UTC', () => {
    expect(tailQueryString(blank)).toBe('from=LATEST');
    expect(tailQueryString({ ...blank, from: 'AT_TIMESTAMP', at: '2026-12-07T08:30' })).toBe('from=AT_TIMESTAMP&timestamp=2026-12-07T08%3A30%3A00Z');
    expect(tailQueryString({ ...blank, from: 'AT_TIMESTAMP', at: '2026-12-07T08:30:15' })).toBe('from=AT_TIMESTAMP&timestamp=2026-12-07T08%3A30%3A15Z');
    expect(tailQueryString({ ...blank, from: 'AT_SEQUENCE_NUMBER', sequenceNumber: ' 4200 ', shard: 'shardId-000000000001', key: ' C1 ', field: 'plaza_id', value: 'P01' })).toBe(
      'from=AT_SEQUENCE_NUMBER&sequenceNumber=4200&shard=shardId-000000000001&key=C1&field=plaza_id&value=P01',
    );
  });
});

describe('report charts', () => {
  it('labels a cents axis as money and sizes the axis to its longest label', () => {
    expect(isMoneyColumn('revenue_cents')).toBe(true);
    expect(isMoneyColumn('trips')).toBe(false);
    expect(axisLabel(123456, true)).toBe('$1,234.56');
    expect(axisLabel(250_000_000, true)).toBe('$2,500,000');
    expect(axisLabel(1_500_000, false)).toBe('1,500,000');
    expect(axisLabel(0.125, false)).toBe('0.125');
    const labels = ['$0', '$2,500,000'];
    // Wider than the fixed 70 px the axis had, which cut "$2,500,000" off.
    expect(axisWidth(labels)).toBeGreaterThan(70);
    expect(axisWidth(['1'])).toBe(40);
    expect(shortCategory('P01')).toBe('P01');
    expect(shortCategory('a-very-long-plaza-name')).toBe('a-very-long-p…');
  });
});

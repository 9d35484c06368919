/** The console's pure helpers: history chart series (rates per node, restarts, labels) and the tail's request. */
import { describe, expect, it } from 'vitest';
import { appendHistory, breakGaps, historySeries, maxJoinedGapSeconds, seriesLabel, type HistoryPoint } from '../../web/src/lib/history.ts';
import { axisLabel, axisWidth, isMoneyColumn, shortCategory } from '../../web/src/lib/report-series.ts';
import { parsePrometheusText } from '../../web/src/lib/prometheus.ts';
import { hashRangeShare, recordsInByShard } from '../../web/src/lib/shards.ts';
import { tailQueryString } from '../../web/src/lib/tail.ts';
import { splitHashKeyRange } from '../../src/log/index.ts';

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

describe('breakGaps', () => {
  const LAG = 'tollstream_consumer_lag_seconds{kind="function",consumer="spend",shard="shardId-000000000000"}';
  const sample = (t: number, value: number, node = 'local'): HistoryPoint => ({ t, node, values: { [LAG]: value } });

  it('breaks the line over the hours the server was down, and joins samples a few intervals apart', () => {
    // One sample every 10 s, then the server is down for two hours, then samples again.
    const points = [sample(0, 1), sample(10_000, 2), sample(20_000, 3), sample(7_220_000, 0), sample(7_230_000, 0)];
    const data = historySeries(points, 'tollstream_consumer_lag_seconds', 'gauge');
    const max = maxJoinedGapSeconds(data.times, 10);
    expect(max).toBe(30);
    const drawn = breakGaps(data, max);
    // A time is added inside the outage, where the line has a null: uPlot leaves a gap there instead of a line.
    expect(drawn.times).toEqual([0, 10, 20, 3620, 7220, 7230]);
    expect(drawn.series.get('function spend shardId-000000000000')).toEqual([1, 2, 3, null, 0, 0]);
    // Without the break, the chart would draw a straight line from the last sample before to the first after.
    expect(data.series.get('function spend shardId-000000000000')).toEqual([1, 2, 3, 0, 0]);
  });

  it('joins a series across the samples of another node and breaks it only where its own node stopped', () => {
    const points = [sample(0, 1, 'a'), sample(1000, 5, 'b'), sample(10_000, 2, 'a'), sample(11_000, 6, 'b'), sample(20_000, 3, 'a'), sample(21_000, 7, 'b'), sample(30_000, 4, 'a')];
    // Node b is down from 21 s to 61 s; a goes on. Both are sampled every 10 s.
    points.push(sample(40_000, 4, 'a'), sample(50_000, 4, 'a'), sample(60_000, 4, 'a'), sample(61_000, 8, 'b'));
    const data = historySeries(points, 'tollstream_consumer_lag_seconds', 'gauge');
    const drawn = breakGaps(data, maxJoinedGapSeconds(data.times, 10));
    expect(drawn.times).toEqual(data.times);
    const a = drawn.series.get('a: function spend shardId-000000000000')!;
    const b = drawn.series.get('b: function spend shardId-000000000000')!;
    // a's line passes over b's times (undefined is joined by uPlot), with no null anywhere.
    expect(a).toEqual([1, undefined, 2, undefined, 3, undefined, 4, 4, 4, 4, undefined]);
    // b's line is joined across a's samples while b runs, and broken (nulls) over the 40 s it was down.
    expect(b).toEqual([undefined, 5, undefined, 6, undefined, 7, null, null, null, null, 8]);
  });

  it('scales the join with the spacing of a thinned long range', () => {
    // A 48 h range thinned to one point every 4 minutes: such points are not gaps.
    const times = Array.from({ length: 20 }, (_, i) => i * 240);
    expect(maxJoinedGapSeconds(times, 10)).toBe(720);
    const data = { times, series: new Map([['x', times.map(() => 1 as number | null)]]) };
    expect(breakGaps(data, 720).series.get('x')!.every((v) => v === 1)).toBe(true);
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

describe('the per-shard view', () => {
  it('places each shard of a split key space in percent, and sums records in per shard of one stream only', () => {
    const half = (2n ** 127n).toString();
    const ranges = splitHashKeyRange(3).map((r) => hashRangeShare(r));
    expect(ranges.map((r) => [r.from, r.to])).toEqual([[0, 33.33], [33.33, 66.66], [66.66, 100]]);
    expect(hashRangeShare({ startingHashKey: '0', endingHashKey: (2n ** 127n - 1n).toString() })).toEqual({ from: 0, to: 50, share: 50 });
    expect(hashRangeShare({ startingHashKey: half, endingHashKey: (2n ** 128n - 1n).toString() })).toEqual({ from: 50, to: 100, share: 50 });
    const families = parsePrometheusText([
      '# TYPE tollstream_records_in_total counter',
      'tollstream_records_in_total{stream="tolls",shard="shardId-000000000000"} 7',
      'tollstream_records_in_total{stream="tolls",shard="shardId-000000000001"} 5',
      'tollstream_records_in_total{stream="alerts",shard="shardId-000000000000"} 100',
      '',
    ].join('\n'));
    expect(recordsInByShard(families, 'tolls')).toEqual(new Map([['shardId-000000000000', 7], ['shardId-000000000001', 5]]));
  });
});

/** The browser pages' pure helpers, run under Node: Prometheus text, SSE, money, rates, CSV, report series. */
import { describe, expect, it } from 'vitest';
import { toCsv } from '../../web/src/lib/csv.ts';
import { centsToInput, formatCents, parseDollars } from '../../web/src/lib/money.ts';
import { parsePrometheusText, samplesOf, sumBy } from '../../web/src/lib/prometheus.ts';
import { formatBytes, ratesBetween } from '../../web/src/lib/rates.ts';
import { chartOf, type ChartSpec } from '../../web/src/lib/report-series.ts';
import { readSse, SseParser } from '../../web/src/lib/sse.ts';

describe('Prometheus text parser', () => {
  const text = [
    '# HELP tollstream_records_in_total Records appended, by stream and shard.',
    '# TYPE tollstream_records_in_total counter',
    'tollstream_records_in_total{stream="toll_transactions",shard="shardId-000000000000"} 120',
    'tollstream_records_in_total{stream="toll_transactions",shard="shardId-000000000001"} 80',
    'tollstream_records_in_total{stream="other",shard="shardId-000000000000"} 5',
    '# HELP tollstream_request_duration_seconds Request latency.',
    '# TYPE tollstream_request_duration_seconds histogram',
    'tollstream_request_duration_seconds_bucket{api="native",le="0.005"} 3',
    'tollstream_request_duration_seconds_bucket{api="native",le="+Inf"} 4',
    'tollstream_request_duration_seconds_sum{api="native"} 0.0125',
    'tollstream_request_duration_seconds_count{api="native"} 4',
    '# TYPE tollstream_ready gauge',
    'tollstream_ready 1',
    'weird_label{path="a \\"quoted\\" \\\\ back\\nslash",x="y"} NaN 1764155000123',
    'tollstream_warehouse_freshness_seconds -Inf',
    'this line is not a sample',
    '',
  ].join('\n');
  const families = parsePrometheusText(text);

  it('reads families with their help, type and samples', () => {
    const f = families.get('tollstream_records_in_total')!;
    expect(f.type).toBe('counter');
    expect(f.help).toBe('Records appended, by stream and shard.');
    expect(f.samples).toHaveLength(3);
    expect(f.samples[0]).toEqual({ name: 'tollstream_records_in_total', labels: { stream: 'toll_transactions', shard: 'shardId-000000000000' }, value: 120 });
  });

  it('puts histogram buckets, sum and count under their family', () => {
    const f = families.get('tollstream_request_duration_seconds')!;
    expect(f.type).toBe('histogram');
    expect(f.samples.map((s) => s.name)).toEqual([
      'tollstream_request_duration_seconds_bucket',
      'tollstream_request_duration_seconds_bucket',
      'tollstream_request_duration_seconds_sum',
      'tollstream_request_duration_seconds_count',
    ]);
    expect(f.samples[1]!.labels.le).toBe('+Inf');
  });

  it('unescapes label values and reads NaN, infinities and timestamps', () => {
    const s = families.get('weird_label')!.samples[0]!;
    expect(s.labels).toEqual({ path: 'a "quoted" \\ back\nslash', x: 'y' });
    expect(s.value).toBeNaN();
    expect(s.timestamp).toBe(1764155000123);
    expect(families.get('tollstream_warehouse_freshness_seconds')!.samples[0]!.value).toBe(-Infinity);
    expect(families.get('tollstream_ready')!.samples[0]!.value).toBe(1);
  });

  it('skips lines it cannot read instead of failing the scrape', () => {
    expect(families.has('this')).toBe(false);
  });

  it('sums a counter per label and filters samples by labels', () => {
    expect(sumBy(families, 'tollstream_records_in_total', 'stream')).toEqual(new Map([['toll_transactions', 200], ['other', 5]]));
    expect(samplesOf(families, 'tollstream_records_in_total', { stream: 'other' }).map((s) => s.value)).toEqual([5]);
    expect(samplesOf(families, 'absent_metric')).toEqual([]);
  });

  it('accepts CRLF line ends', () => {
    const f = parsePrometheusText('# TYPE a gauge\r\na{x="1"} 2\r\n');
    expect(f.get('a')!.samples[0]).toEqual({ name: 'a', labels: { x: '1' }, value: 2 });
  });
});

describe('money', () => {
  it('formats integer cents as dollars with thousands separators', () => {
    expect(formatCents(0)).toBe('$0.00');
    expect(formatCents(5)).toBe('$0.05');
    expect(formatCents(123456)).toBe('$1,234.56');
    expect(formatCents(-250)).toBe('-$2.50');
    expect(formatCents(100_000_000_00)).toBe('$100,000,000.00');
    expect(formatCents(1999, 'EUR')).toBe('€19.99');
    expect(formatCents(1999, 'JPY')).toBe('JPY 19.99');
  });

  it('is exact for the largest safe integer (no floating point on amounts)', () => {
    expect(formatCents(Number.MAX_SAFE_INTEGER)).toBe('$90,071,992,547,409.91');
    expect(formatCents(1.5)).toBe('—');
  });

  it('reads what people type into a dollars field as cents', () => {
    const cases: Record<string, number> = { '50': 5000, '49.99': 4999, '49.9': 4990, '0': 0, '.5': 50, '7.': 700, ' $1,250.00 ': 125000, '$ 12': 1200, '0012.30': 1230, '0.01': 1 };
    for (const [input, cents] of Object.entries(cases)) expect(parseDollars(input), input).toEqual({ ok: true, cents });
  });

  it('refuses empty, negative, over-precise, malformed and huge amounts with a reason', () => {
    for (const input of ['', '   ', '-5', '12.345', 'abc', '1e3', '12,34', '$', '.', '1.2.3', '10000000001', '99999999999999999999']) {
      const r = parseDollars(input);
      expect(r.ok, input).toBe(false);
      if (!r.ok) expect(r.reason.length, input).toBeGreaterThan(10);
    }
    expect(parseDollars('12.345')).toEqual({ ok: false, reason: 'Use at most two decimal places (whole cents).' });
    expect(parseDollars('-1')).toEqual({ ok: false, reason: 'The amount must be 0 or more.' });
  });

  it('round-trips cents through the input text', () => {
    for (const cents of [0, 1, 99, 100, 4999, 123456]) expect(parseDollars(centsToInput(cents))).toEqual({ ok: true, cents });
  });
});

describe('SSE parser', () => {
  it('parses events with type, id and multi-line data, ignoring comments', () => {
    const p = new SseParser();
    const events = p.push(': tailing s from LATEST\n\nevent: record\nid: shard-0:1\ndata: {"a":1}\n\nevent: notification\nid: 7\ndata: line one\ndata: line two\n\n');
    expect(events).toEqual([
      { event: 'record', data: '{"a":1}', lastEventId: 'shard-0:1' },
      { event: 'notification', data: 'line one\nline two', lastEventId: '7' },
    ]);
    expect(p.comments).toEqual(['tailing s from LATEST']);
  });

  it('joins events split across chunks anywhere, CRLF split included', () => {
    const text = 'event: record\r\nid: 1\r\ndata: {"x":"é"}\r\n\r\ndata: plain\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'record', data: '{"x":"é"}', lastEventId: '1' },
        { event: 'message', data: 'plain', lastEventId: '1' },
      ]);
    }
  });

  it('follows the standard for odd lines: no space after the colon, bare field names, CR-only line ends, retry', () => {
    const p = new SseParser();
    const events = p.push('data:no-space\rdata\r\rretry: 2500\nid: a\0b\nevent: x\n\nunknown: y\nevent: ignored-without-data\n\n');
    expect(events).toEqual([{ event: 'message', data: 'no-space\n', lastEventId: '' }]);
    expect(p.retryMs).toBe(2500);
  });

  it('reads a byte stream whose multi-byte characters are split between chunks', async () => {
    const bytes = new TextEncoder().encode('event: record\ndata: {"name":"Zürich ✓"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const seen: string[] = [];
    await readSse(body, (e) => seen.push(e.data));
    expect(seen).toEqual(['{"name":"Zürich ✓"}']);
  });

  it('stops quietly when the caller aborts', async () => {
    const body = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined) });
    const controller = new AbortController();
    const done = readSse(body, () => undefined, controller.signal);
    controller.abort();
    await expect(done).resolves.toBeUndefined();
  });
});

describe('rates from successive scrapes', () => {
  it('divides the increase by the seconds between scrapes, counting a reset counter from zero', () => {
    const first = { at: 10_000, values: new Map([['a', 100], ['b', 50]]) };
    const second = { at: 12_000, values: new Map([['a', 300], ['b', 10], ['c', 8]]) };
    expect(ratesBetween(first, second)).toEqual(new Map([['a', 100], ['b', 5], ['c', 4]]));
    expect(ratesBetween(undefined, second)).toEqual(new Map());
    expect(ratesBetween(second, second)).toEqual(new Map());
  });

  it('formats bytes in binary units', () => {
    expect(formatBytes(12)).toBe('12 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MiB');
  });
});

describe('CSV', () => {
  it('quotes what needs quoting and leaves nulls empty', () => {
    expect(toCsv(['a', 'b,c'], [[1, 'x "y"'], [null, 'line\nbreak'], [true, ' padded']])).toBe('a,"b,c"\r\n1,"x ""y"""\r\n,"line\nbreak"\r\ntrue," padded"\r\n');
  });
});

describe('report charts', () => {
  const revenue = [
    { name: 'plaza_id', type: 'VARCHAR' },
    { name: 'hour', type: 'TIMESTAMP' },
    { name: 'trips', type: 'BIGINT' },
    { name: 'revenue_cents', type: 'BIGINT' },
  ];
  const revenueRows = [
    ['P02', '2026-11-26T07:00:00.000Z', 2, 500],
    ['P01', '2026-11-26T06:00:00.000Z', 1, 300],
    ['P02', '2026-11-26T06:00:00.000Z', 1, 200],
  ];
  /** The station report's columns, two plazas and one period: the old rule charted alert_threshold summed (200). */
  const station = [
    { name: 'plaza_id', type: 'VARCHAR' },
    { name: 'period_start', type: 'TIMESTAMP' },
    { name: 'day_of_week', type: 'SMALLINT' },
    { name: 'slot', type: 'SMALLINT' },
    { name: 'vehicles', type: 'BIGINT' },
    { name: 'expected_count', type: 'INTEGER' },
    { name: 'alert_threshold', type: 'INTEGER' },
    { name: 'below_threshold', type: 'BOOLEAN' },
  ];
  const stationRows = [
    ['P01', '2026-11-26T06:00:00.000Z', 4, 12, 500, 400, 100, false],
    ['P02', '2026-11-26T06:00:00.000Z', 4, 12, 3, 300, 100, true],
  ];
  const stationChart: ChartSpec = { x: 'period_start', values: ['vehicles', 'expected_count'], unit: 'count', thresholds: ['alert_threshold'] };

  it('draws the columns a report declares, and its threshold as a line of its own', () => {
    const c = chartOf(station, stationRows, stationChart)!;
    expect(c.lines).toEqual([
      { label: 'vehicles', values: [503], threshold: false },
      { label: 'expected_count', values: [700], threshold: false },
      { label: 'alert_threshold', values: [200], threshold: true },
    ]);
    expect(c).toMatchObject({ xName: 'period_start', time: true, money: false, x: [Date.parse('2026-11-26T06:00:00Z') / 1000] });
  });

  it('splits rows into one series per value of seriesBy, the largest totals first, at most top of them', () => {
    const rows = [...revenueRows, ['P03', '2026-11-26T07:00:00.000Z', 1, 100]];
    const c = chartOf(revenue, rows, { x: 'hour', values: ['revenue_cents'], unit: 'money', seriesBy: 'plaza_id', top: 2 })!;
    expect(c.money).toBe(true);
    // P02 (700) then P01 (300); P03 (100) is left out; P01 has no row at 07:00.
    expect(c.lines).toEqual([
      { label: 'revenue_cents P02', values: [200, 500], threshold: false },
      { label: 'revenue_cents P01', values: [300, null], threshold: false },
    ]);
  });

  it('without a declaration sums the money column per time bucket, in time order', () => {
    const c = chartOf(revenue, revenueRows)!;
    expect(c).toMatchObject({ xName: 'hour', time: true, money: true });
    expect(c.lines).toEqual([{ label: 'revenue_cents', values: [500, 500], threshold: false }]);
    expect(c.x).toEqual([Date.parse('2026-11-26T06:00:00Z') / 1000, Date.parse('2026-11-26T07:00:00Z') / 1000]);
  });

  it('without a declaration never charts a threshold, an id or a slot', () => {
    const c = chartOf(station, stationRows)!;
    expect(c.lines.map((l) => l.label)).toEqual(['vehicles']);
    expect(c.lines[0]!.values).toEqual([503]);
    expect(c.money).toBe(false);
    const ids = chartOf([{ name: 'day', type: 'DATE' }, { name: 'customers', type: 'BIGINT' }, { name: 'customer_id', type: 'BIGINT' }], [['2026-11-26', 3, 77]])!;
    expect(ids.lines.map((l) => l.label)).toEqual(['customers']);
  });

  it('uses the first text column as categories when there is no time column', () => {
    const c = chartOf([{ name: 'customer_id', type: 'VARCHAR' }, { name: 'currency', type: 'VARCHAR' }, { name: 'spend_cents', type: 'BIGINT' }], [['C1', 'USD', 900], ['C2', 'USD', 400]])!;
    expect(c).toMatchObject({ time: false, categories: ['C1', 'C2'], x: [0, 1], money: true });
    expect(c.lines[0]!.values).toEqual([900, 400]);
  });

  it('has nothing to chart without a value column, without rows, or when a declared column is missing', () => {
    expect(chartOf([{ name: 'a', type: 'VARCHAR' }], [['x']])).toBeUndefined();
    expect(chartOf([{ name: 'n', type: 'BIGINT' }, { name: 'a', type: 'VARCHAR' }], [])).toBeUndefined();
    expect(chartOf([{ name: 'plaza_id', type: 'VARCHAR' }, { name: 'alert_threshold', type: 'INTEGER' }], [['P01', 100]])).toBeUndefined();
    expect(chartOf(station, stationRows, { ...stationChart, values: ['cars'] })).toBeUndefined();
  });
});

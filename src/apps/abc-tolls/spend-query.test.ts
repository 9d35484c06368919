import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../core/errors.ts';
import { planLiveQuery, runLiveQuery, runQuery, type LiveItem } from '../../sql/index.ts';
import { customerSpendSql, SPEND_QUERY_INPUT, SPEND_QUERY_OUTPUT } from './spend-query.ts';
import { validateWindow } from './spend-function.ts';

function toll(customer: string, id: string, cents: number, eventTime: string, arrival: string) {
  return {
    transaction_id: id,
    customer_id: customer,
    tag_id: `TAG-${customer}`,
    plate: 'ABC-1234',
    plaza_id: 'P01',
    lane: 1,
    vehicle_class: 2,
    amount_cents: cents,
    currency: 'USD',
    event_time: eventTime,
    _arrival_time: arrival,
  };
}

async function* records(rows: readonly Record<string, unknown>[]) {
  yield rows;
}

async function run(sql: string, rows: readonly Record<string, unknown>[]) {
  const result = await runQuery({ sql, inputs: { [SPEND_QUERY_INPUT]: records(rows) } });
  return { rows: result.streams[SPEND_QUERY_OUTPUT] ?? [], errors: result.errors };
}

const byWindowAndKey = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  JSON.stringify([a.window_start, a.customer_id, a.day]) < JSON.stringify([b.window_start, b.customer_id, b.day]) ? -1 : 1;

describe('the customer spend query', () => {
  it('plans for the live log with 10-minute windows, keyed by window, customer and day', async () => {
    const plan = await planLiveQuery({ sql: customerSpendSql({ windowSeconds: 600, timeZone: 'UTC' }) });
    expect(plan.inputs).toEqual([SPEND_QUERY_INPUT]);
    expect(plan.explain).toContain('tumble size=10min on SOURCE_SQL_STREAM_001.ROWTIME');
    // Window keys: a row emitted again after a crash has the same idempotency key, so the log stores it once.
    expect(plan.outputs.map((o) => [o.name, o.keys.mode])).toEqual([[SPEND_QUERY_OUTPUT, 'window']]);
  });

  it('sums sample tolls into one row per customer and month per 10-minute window of arrival, a late toll under its own month', async () => {
    const sql = customerSpendSql({ windowSeconds: 600, timeZone: 'UTC' });
    const { rows, errors } = await run(sql, [
      toll('C1', 't1', 250, '2026-03-02T08:01:00Z', '2026-03-02T08:01:01Z'),
      toll('C2', 't2', 400, '2026-03-02T08:03:10Z', '2026-03-02T08:03:11Z'),
      toll('C1', 't3', 125, '2026-03-02T08:09:45Z', '2026-03-02T08:09:46Z'),
      // Late: February's toll arriving in March counts in this window, under February.
      toll('C1', 't4', 900, '2026-02-28T23:50:00Z', '2026-03-02T08:09:50Z'),
      // The window closer's heartbeat: moves ROWTIME, adds nothing.
      { heartbeat: true, _arrival_time: '2026-03-02T08:10:00.001Z' },
      toll('C1', 't5', 300, '2026-03-02T08:11:00Z', '2026-03-02T08:11:02Z'),
    ]);
    expect(errors).toEqual([]);
    expect(rows.sort(byWindowAndKey)).toEqual(
      [
        { window_start: '2026-03-02T08:00:00.000Z', window_end: '2026-03-02T08:10:00.000Z', customer_id: 'C1', month: '2026-03', day: '2026-03-02', total_cents: 375, transactions: 2 },
        { window_start: '2026-03-02T08:00:00.000Z', window_end: '2026-03-02T08:10:00.000Z', customer_id: 'C1', month: '2026-02', day: '2026-02-28', total_cents: 900, transactions: 1 },
        { window_start: '2026-03-02T08:00:00.000Z', window_end: '2026-03-02T08:10:00.000Z', customer_id: 'C2', month: '2026-03', day: '2026-03-02', total_cents: 400, transactions: 1 },
        { window_start: '2026-03-02T08:10:00.000Z', window_end: '2026-03-02T08:20:00.000Z', customer_id: 'C1', month: '2026-03', day: '2026-03-02', total_cents: 300, transactions: 1 },
      ].sort(byWindowAndKey),
    );
    // Every row is a window record the threshold function accepts.
    for (const row of rows) expect(validateWindow(row)).toMatchObject({ spend: row });
  });

  it("puts a toll in the window its input's merge order gives it: the input must be one shard (the valid stream), not toll_transactions", async () => {
    // Why every valid toll is appended once more, to a stream of one shard (docs/architecture.md, "the order point
    // of the spend windows"): ROWTIME never goes backwards within an input, so with two shards a toll that arrived
    // just before a window's end lands in that window or the next depending on which shard's records were merged
    // first, which after a crash can differ from the first run. If this test fails, ROWTIME no longer depends on
    // the merge order, and the spend query can read toll_transactions directly.
    const sql = customerSpendSql({ windowSeconds: 1, timeZone: 'UTC' });
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const at = (iso: string) => Date.parse(iso);
    const beforeEnd = { partition: 'shard-a', toll: toll('C1', 't1', 500, '2026-03-02T08:00:00Z', '') };
    const afterEnd = { partition: 'shard-b', toll: toll('C2', 't2', 700, '2026-03-02T08:00:01Z', '') };
    const windowOfC1 = async (first: typeof beforeEnd, second: typeof beforeEnd) => {
      const plan = await planLiveQuery({ sql });
      const items: LiveItem[] = [
        { kind: 'records', partition: first.partition, data: [bytes(first.toll)], arrivalTimes: [at(first === beforeEnd ? '2026-03-02T08:00:00.999Z' : '2026-03-02T08:00:01.001Z')] },
        { kind: 'records', partition: second.partition, data: [bytes(second.toll)], arrivalTimes: [at(second === beforeEnd ? '2026-03-02T08:00:00.999Z' : '2026-03-02T08:00:01.001Z')] },
        // Heartbeats on both shards, later: every window up to 08:00:05 closes.
        { kind: 'records', partition: 'shard-a', data: [bytes({ heartbeat: true })], arrivalTimes: [at('2026-03-02T08:00:05.000Z')] },
        { kind: 'records', partition: 'shard-b', data: [bytes({ heartbeat: true })], arrivalTimes: [at('2026-03-02T08:00:05.000Z')] },
      ];
      const rows: Record<string, unknown>[] = [];
      const errors: unknown[] = [];
      async function* input(): AsyncGenerator<LiveItem> {
        for (const item of items) yield item;
        // Let the graph deliver the two closed windows before stopping it (the test's timeout bounds the wait).
        while (rows.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
        yield { kind: 'cancel' };
      }
      await runLiveQuery(plan, {
        inputs: new Map([[SPEND_QUERY_INPUT, input()]]),
        onSnapshot: () => {},
        deliver: (_stream, delivered) => rows.push(...delivered),
        onError: (row) => errors.push(row),
      });
      expect(errors).toEqual([]);
      expect(rows.map((r) => r.customer_id).sort()).toEqual(['C1', 'C2']);
      return rows.find((r) => r.customer_id === 'C1')!.window_start;
    };
    // The same two tolls, the same arrival times: only the order of the shards differs.
    expect(await windowOfC1(beforeEnd, afterEnd)).toBe('2026-03-02T08:00:00.000Z');
    expect(await windowOfC1(afterEnd, beforeEnd)).toBe('2026-03-02T08:00:01.000Z');
  });

  it('cuts months in the configured time zone', async () => {
    // 03:30Z on March 1st is still February 28th in New York.
    const row = toll('C1', 't1', 500, '2026-03-01T03:30:00Z', '2026-03-01T03:30:01Z');
    const utc = await run(customerSpendSql({ windowSeconds: 1, timeZone: 'UTC' }), [row]);
    const newYork = await run(customerSpendSql({ windowSeconds: 1, timeZone: 'America/New_York' }), [row]);
    expect(utc.rows.map((r) => [r.month, r.day, r.window_start, r.window_end])).toEqual([['2026-03', '2026-03-01', '2026-03-01T03:30:01.000Z', '2026-03-01T03:30:02.000Z']]);
    expect(newYork.rows.map((r) => [r.month, r.day])).toEqual([['2026-02', '2026-02-28']]);
  });

  it('refuses a window length outside 1 to 3600 s and a zone the runtime does not know', () => {
    for (const windowSeconds of [0, 3601, 1.5]) {
      expect(() => customerSpendSql({ windowSeconds, timeZone: 'UTC' })).toThrow(/windowSeconds must be an integer from 1 to 3600/);
    }
    let caught: unknown;
    try {
      customerSpendSql({ windowSeconds: 1, timeZone: "UTC'); DROP" });
    } catch (err) {
      caught = err;
    }
    expect(isTollstreamError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });
});

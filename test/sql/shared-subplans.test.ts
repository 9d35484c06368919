/** A view or WITH name read by several INSERTs (or twice by one) is computed once, for every reader. */
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

const TABLES = `
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');
CREATE TABLE busy (window_start TIMESTAMP(3), plate VARCHAR(16), n BIGINT, per_trip BIGINT) WITH ('stream' = 'busy');
CREATE TABLE quiet (window_start TIMESTAMP(3), plate VARCHAR(16), n BIGINT, per_trip BIGINT) WITH ('stream' = 'quiet');
`;

/** The per-trip figure fails (a division by zero) on one row: an evaluation of the view shows as one error row. */
const VIEW = `
CREATE VIEW per_plate AS
SELECT window_start, plate, COUNT(*) AS n, SUM(1000 / amount_cents) AS per_trip
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plate;
`;

const VIEW_SQL = `${TABLES}${VIEW}
INSERT INTO busy SELECT * FROM per_plate WHERE n >= 3;
INSERT INTO quiet SELECT window_start, plate, n, per_trip FROM per_plate AS p WHERE p.n < 3;`;

/** The same query with the view's text written out in each INSERT: two plans, computed twice. */
const INLINE = `
SELECT window_start, plate, COUNT(*) AS n, SUM(1000 / amount_cents) AS per_trip
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plate`;
const INLINE_SQL = `${TABLES}
INSERT INTO busy SELECT * FROM (${INLINE}) WHERE n >= 3;
INSERT INTO quiet SELECT window_start, plate, n, per_trip FROM (${INLINE}) AS p WHERE p.n < 3;`;

const WITH_SQL = `${TABLES}
INSERT INTO busy
WITH per_plate AS (${INLINE})
SELECT * FROM per_plate WHERE n >= 3
UNION ALL
SELECT window_start, plate, n, per_trip FROM per_plate AS p WHERE p.n < 3;`;

function passages(): Record<string, unknown>[] {
  return Array.from({ length: 40 }, (_, i) => ({
    plate: `P${i % 4}`,
    amount_cents: i === 13 ? 0 : 100 + (i % 3),
    event_time: new Date(Date.UTC(2026, 2, 2, 8) + i * 5_000 + (i % 2) * 3_000).toISOString(),
  }));
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}
const input = () => ({ tolls: iterate(passages()) });

const sorted = (rows: readonly Record<string, unknown>[] | undefined) => (rows ?? []).map((r) => JSON.stringify(r)).sort();
/** Operators named `what` in an EXPLAIN, a shared one once. */
const count = (text: string, what: string) => text.split('\n').filter((line) => line.includes(what) && !line.endsWith('(shared, shown above)')).length;

describe('shared subplans', () => {
  it('a view read by two INSERTs is computed once, with the rows of two separate computations', async () => {
    const shared = await runQuery({ sql: VIEW_SQL, inputs: input(), batchSize: 3 });
    const twice = await runQuery({ sql: INLINE_SQL, inputs: input(), batchSize: 3 });
    expect(sorted(shared.streams.busy)).toEqual(sorted(twice.streams.busy));
    expect(sorted(shared.streams.quiet)).toEqual(sorted(twice.streams.quiet));
    expect(shared.streams.busy!.length).toBeGreaterThan(0);
    expect(shared.streams.quiet!.length).toBeGreaterThan(0);
    // The failing row is evaluated once for both INSERTs; written out twice, it is evaluated twice.
    expect(shared.errors.map((e) => e.ERROR_NAME)).toEqual(['DIVISION_BY_ZERO']);
    expect(shared.errors[0]!.PUMP_NAME).toBeNull();
    expect(twice.errors.map((e) => e.ERROR_NAME)).toEqual(['DIVISION_BY_ZERO', 'DIVISION_BY_ZERO']);
    const explain = (await runQuery({ sql: VIEW_SQL, inputs: input(), explain: true })).explain!;
    expect(count(explain, 'TumblingWindowAggregate')).toBe(1);
    expect(count((await runQuery({ sql: INLINE_SQL, inputs: input(), explain: true })).explain!, 'TumblingWindowAggregate')).toBe(2);
  });

  it('a WITH name read twice in one query is computed once', async () => {
    const result = await runQuery({ sql: WITH_SQL, inputs: input(), batchSize: 3 });
    const twice = await runQuery({ sql: INLINE_SQL, inputs: input(), batchSize: 3 });
    expect(sorted(result.streams.busy)).toEqual(sorted([...twice.streams.busy!, ...twice.streams.quiet!]));
    expect(result.errors).toHaveLength(1);
    expect(count((await runQuery({ sql: WITH_SQL, inputs: input(), explain: true })).explain!, 'TumblingWindowAggregate')).toBe(1);
  });
});

/** One script, one dialect: what Flink and Kinesis Analytics write alike but mean differently. */
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const ROWS = [{ k: 'a', ts: '2026-03-02T08:00:01.500Z' }];
const SELECT = `SELECT UNIX_TIMESTAMP(ts) AS u, EXTRACT(SECOND FROM ts) AS s,
  EXTRACT(SECOND FROM INTERVAL '2 3:4:5.678' DAY TO SECOND) AS i FROM events`;
const FLINK_TABLE = `CREATE TABLE events (k VARCHAR(8), ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'events');`;

describe('dialects', () => {
  it('gives a Flink script Flink meanings: seconds, whole seconds', async () => {
    const r = await runQuery({ sql: `${FLINK_TABLE} ${SELECT};`, inputs: { events: iterate(ROWS) } });
    expect(r.streams.result).toEqual([{ u: 1_772_438_401, s: 1, i: 5 }]);
  });

  it('gives a Kinesis Analytics script Kinesis meanings: milliseconds, seconds with milliseconds', async () => {
    const sql = `CREATE OR REPLACE STREAM "OUT" (u BIGINT, s DOUBLE, i DOUBLE);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM UNIX_TIMESTAMP(ts), EXTRACT(SECOND FROM ts),
        EXTRACT(SECOND FROM INTERVAL '2 3:4:5.678' DAY TO SECOND) FROM events;`;
    const r = await runQuery({ sql, inputs: { events: iterate(ROWS) } });
    expect(r.streams.OUT).toEqual([{ u: 1_772_438_401_500, s: 1.5, i: 5.678 }]);
  });

  it('takes APPROXIMATE_ARRIVAL_TIME, which only Kinesis Analytics has, for a Kinesis Analytics script', async () => {
    const rows = [{ k: 'a', _arrival_time: '2026-03-02T08:00:01.500Z' }];
    const r = await runQuery({ sql: 'SELECT k, UNIX_TIMESTAMP(APPROXIMATE_ARRIVAL_TIME) AS u FROM events;', inputs: { events: iterate(rows) } });
    expect(r.streams.result).toEqual([{ k: 'a', u: 1_772_438_401_500 }]);
  });

  it('keeps Flink meanings for a table that declares a column of that name', async () => {
    const rows = [{ k: 'a', approximate_arrival_time: '2026-03-02T08:00:01.500Z' }];
    const sql = `CREATE TABLE events (k VARCHAR(8), approximate_arrival_time TIMESTAMP(3)) WITH ('stream' = 'events');
      SELECT k, UNIX_TIMESTAMP(approximate_arrival_time) AS u FROM events;`;
    const r = await runQuery({ sql, inputs: { events: iterate(rows) } });
    expect(r.streams.result).toEqual([{ k: 'a', u: 1_772_438_401 }]);
  });

  it('takes a stream joined OVER a window, which only Kinesis Analytics writes, for a Kinesis Analytics script', async () => {
    const orders = [{ id: 1, ts: '2026-03-02T08:01:00.250Z', _arrival_time: '2026-03-02T08:01:00Z' }];
    // Exactly a minute before the order: Kinesis Analytics' window has left it out, Flink's RANGE keeps it.
    const trades = [{ id: 1, _arrival_time: '2026-03-02T08:00:00Z' }];
    const sql = 'SELECT UNIX_TIMESTAMP(o.ts) AS u FROM orders AS o JOIN trades OVER (RANGE INTERVAL \'1\' MINUTE PRECEDING) AS t ON o.id = t.id;';
    const kinesis = await runQuery({ sql, inputs: { orders: iterate(orders), trades: iterate(trades) } });
    expect(kinesis.streams.result ?? []).toEqual([]);
    const later = [{ id: 1, _arrival_time: '2026-03-02T08:00:00.001Z' }];
    const kept = await runQuery({ sql, inputs: { orders: iterate(orders), trades: iterate(later) } });
    expect(kept.streams.result).toEqual([{ u: 1_772_438_460_250 }]);
    const flink = await runQuery({ sql, inputs: { orders: iterate(orders), trades: iterate(trades) }, dialect: 'flink' });
    expect(flink.streams.result).toEqual([{ u: 1_772_438_460 }]);
  });

  it('takes the dialect from the options over the one the script suggests', async () => {
    const r = await runQuery({ sql: `${FLINK_TABLE} ${SELECT};`, inputs: { events: iterate(ROWS) }, dialect: 'kinesis' });
    expect(r.streams.result).toEqual([{ u: 1_772_438_401_500, s: 1.5, i: 5.678 }]);
  });

  it('FIRST_VALUE and LAST_VALUE skip NULLs in Flink and count them in Kinesis Analytics; IGNORE or RESPECT NULLS says so in both', async () => {
    const rows = [
      { k: 'a', v: null, ts: '2026-03-02T08:00:01Z' },
      { k: 'a', v: 5, ts: '2026-03-02T08:00:02Z' },
      { k: 'a', v: null, ts: '2026-03-02T08:00:03Z' },
    ];
    const sql = `CREATE TABLE events (k VARCHAR(8), v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'events');
      SELECT FIRST_VALUE(v) AS f, LAST_VALUE(v) AS l, FIRST_VALUE(v) RESPECT NULLS AS fr, LAST_VALUE(v) IGNORE NULLS AS li
      FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;`;
    const flink = await runQuery({ sql, inputs: { events: iterate(rows) } });
    expect(flink.streams.result).toEqual([{ f: 5, l: 5, fr: null, li: 5 }]);
    const kinesis = await runQuery({ sql, inputs: { events: iterate(rows) }, dialect: 'kinesis' });
    expect(kinesis.streams.result).toEqual([{ f: null, l: null, fr: null, li: 5 }]);
  });

  it('refuses EXTRACT of months or years from an interval, which are not exact here', async () => {
    await expect(runQuery({ sql: `${FLINK_TABLE} SELECT EXTRACT(MONTH FROM INTERVAL '3' DAY) AS m FROM events;`, inputs: { events: iterate(ROWS) } })).rejects.toThrow(
      /EXTRACT\(MONTH FROM an interval\) is not supported/,
    );
  });

  it('reads RANGE CURRENT ROW as a zero range: the rows of the same ROWTIME, the oldest bound kept', async () => {
    const sql = `CREATE OR REPLACE STREAM "OUT" (k VARCHAR(8), n BIGINT);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM k, COUNT(*) OVER (RANGE CURRENT ROW) FROM events;`;
    const at = (k: string, s: number) => ({ k, _arrival_time: new Date(Date.UTC(2026, 2, 2, 8, 0, s)).toISOString() });
    const r = await runQuery({ sql, inputs: { events: iterate([at('a', 0), at('b', 0), at('c', 1)]) } });
    expect(r.streams.OUT).toEqual([{ k: 'a', n: 1 }, { k: 'b', n: 2 }, { k: 'c', n: 1 }]);
  });
});

/**
 * Kinesis Analytics' streaming ORDER BY (SQL Reference, "ORDER BY clause"): the first ORDER BY key is a
 * monotonic function of ROWTIME, rows are collected while it keeps its value, then leave sorted by the
 * other keys. As the Developer Guide's anomaly examples write it: `ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO
 * SECOND), ANOMALY_SCORE DESC` over `SELECT STREAM * FROM "TEMP_STREAM"`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

const at = (seconds: number, ms = 0) => new Date(Date.UTC(2026, 2, 2, 8, 0, seconds, ms)).toISOString();

const SORTED = `
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" ("id" INTEGER, "v" INTEGER);
CREATE OR REPLACE STREAM "TEMP_STREAM" ("id" INTEGER, "v" INTEGER);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER, "v" INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "TEMP_STREAM"
  SELECT STREAM "id", "v" FROM "SOURCE_SQL_STREAM_001";
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM * FROM "TEMP_STREAM"
  ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), "v" DESC;`;

async function* once<T>(rows: T[]): AsyncIterable<T[]> {
  yield rows;
}

async function ids(sql: string, rows: Record<string, unknown>[], batchSize = 512): Promise<unknown[]> {
  const result = await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: once(rows) }, batchSize });
  return result.streams.DESTINATION_SQL_STREAM!.map((r) => r.id);
}

async function problem(sql: string): Promise<string> {
  try {
    await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: once([{ id: 1, v: 1, _arrival_time: at(0) }]) } });
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('streaming ORDER BY a monotonic function of ROWTIME', () => {
  it('sorts the rows of each second by the next key, seconds in time order, through a stream-qualified ROWTIME', async () => {
    const rows = [
      { id: 1, v: 10, _arrival_time: at(0, 100) },
      { id: 2, v: 30, _arrival_time: at(0, 400) },
      { id: 3, v: 20, _arrival_time: at(0, 900) },
      { id: 4, v: 5, _arrival_time: at(1, 0) },
      { id: 5, v: 50, _arrival_time: at(1, 999) },
      { id: 6, v: 40, _arrival_time: at(3, 500) },
      { id: 7, v: 40, _arrival_time: at(3, 600) },
      { id: 8, v: 60, _arrival_time: at(3, 700) },
    ];
    // Equal keys (6 and 7) keep their arrival order.
    const expected = [2, 3, 1, 5, 4, 8, 6, 7];
    expect(await ids(SORTED, rows)).toEqual(expected);
    expect(await ids(SORTED, rows, 1)).toEqual(expected);
  });

  it("releases a second's rows when ROWTIME passes into the next second, without waiting for the input to end", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: unknown[] = [];
    // Only a fallback so that a wrong engine fails instead of hanging: the assertion is on the order of events.
    const fallback = setTimeout(() => {
      seen.push('input released before the first second left');
      release();
    }, 15_000);
    async function* input() {
      yield [
        { id: 1, v: 1, _arrival_time: at(0, 100) },
        { id: 2, v: 2, _arrival_time: at(0, 200) },
        { id: 3, v: 3, _arrival_time: at(1, 0) },
      ];
      await gate;
      seen.push('input resumed');
      yield [{ id: 4, v: 4, _arrival_time: at(1, 500) }];
    }
    try {
      await runQuery({
        sql: SORTED,
        inputs: { SOURCE_SQL_STREAM_001: input() },
        onRow: (stream, row) => {
          if (stream !== 'DESTINATION_SQL_STREAM') return;
          seen.push(row.id);
          if (seen.length === 2) release();
        },
      });
    } finally {
      clearTimeout(fallback);
    }
    expect(seen).toEqual([2, 1, 'input resumed', 4, 3]);
  });

  it('holds the rows of one second at a time: every checkpoint of the sort keeps at most the current second', async () => {
    // Three rows a second for 20 seconds; a checkpoint after every row.
    const rows = Array.from({ length: 60 }, (_, i) => ({ id: i, v: i % 3, _arrival_time: at(Math.floor(i / 3), (i % 3) * 300) }));
    const held: number[] = [];
    const result = await runQuery({
      sql: SORTED,
      inputs: { SOURCE_SQL_STREAM_001: once(rows) },
      batchSize: 1,
      checkpointEveryRows: 1,
      onSnapshot: (_task, _id, state) => {
        const pending = (state as { pending?: unknown[] } | null)?.pending;
        if (Array.isArray(pending)) held.push(pending.length);
      },
    });
    expect(result.streams.DESTINATION_SQL_STREAM).toHaveLength(60);
    expect(held.length).toBeGreaterThan(20);
    expect(Math.max(...held)).toBeLessThanOrEqual(3);
  });

  it("runs the Developer Guide's RANDOM_CUT_FOREST example whole: every scored row, each second's rows by descending score", async () => {
    const dir = join(import.meta.dirname, 'conformance', 'kinesis-random-cut-forest');
    // The case's readings, four to a second, so that the sort within a second shows.
    const readings = readFileSync(join(dir, 'SOURCE_SQL_STREAM_001.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l, i) => ({ ...(JSON.parse(l) as Record<string, unknown>), _arrival_time: at(Math.floor(i / 4), (i % 4) * 250) }));
    const declare = `
CREATE OR REPLACE STREAM "TEMP_STREAM" ("heartRate" INTEGER, "rateType" varchar(20), "ANOMALY_SCORE" DOUBLE);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "rateType" varchar(20), "ANOMALY_SCORE" DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "TEMP_STREAM"
  SELECT STREAM "heartRate", "rateType", ANOMALY_SCORE
  FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 30, 48, 1000, 1));`;
    const scoredOnly = `${declare}
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM * FROM "TEMP_STREAM";`;
    const guide = `${declare}
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM * FROM "TEMP_STREAM"
  ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;`;
    const scored = (await runQuery({ sql: scoredOnly, inputs: { SOURCE_SQL_STREAM_001: once(readings) } })).streams.DESTINATION_SQL_STREAM!;
    expect(scored).toHaveLength(readings.length);
    // What the guide reads from the scores: the HIGH readings, and only they, score well above the rest.
    const warm = scored.slice(48);
    expect(Math.max(...warm.filter((r) => r.rateType === 'NORMAL').map((r) => r.ANOMALY_SCORE as number))).toBeLessThan(1.5);
    expect(Math.min(...warm.filter((r) => r.rateType === 'HIGH').map((r) => r.ANOMALY_SCORE as number))).toBeGreaterThan(3);
    const expected: Record<string, unknown>[] = [];
    for (let i = 0; i < scored.length; i += 4) {
      expected.push(...scored.slice(i, i + 4).sort((a, b) => (b.ANOMALY_SCORE as number) - (a.ANOMALY_SCORE as number)));
    }
    const sorted = (await runQuery({ sql: guide, inputs: { SOURCE_SQL_STREAM_001: once(readings) } })).streams.DESTINATION_SQL_STREAM!;
    expect(sorted).toEqual(expected);
    expect(sorted).not.toEqual(scored);
  });

  it("sorts a streaming GROUP BY's rows as the reference's ORDER BY page does, by an aggregate written as its select item", async () => {
    const dir = join(import.meta.dirname, 'conformance', 'kinesis-order-by-group-by');
    const result = await runQuery({ sql: readFileSync(join(dir, 'query.sql'), 'utf8'), inputs: { orders: join(dir, 'orders.ndjson') }, batchSize: 1 });
    const rows = result.streams.DESTINATION_SQL_STREAM!.map((r) => `${r.state} ${r.city} ${r.total}`);
    expect(rows).toEqual([
      // 08:00 to 09:00
      'CA Fresno 10',
      'CA San Jose 45',
      'OR Salem 2',
      'OR Portland 5',
      // 09:00 to 10:00
      'CA San Jose 7',
      'CA Fresno 100',
      'OR Portland 1',
      // 10:00 to 11:00, at the end of the input
      'CA Oakland 1',
    ]);
  });

  it('sorts by keys the select list leaves out, which the reference allows, without writing them', async () => {
    const dir = join(import.meta.dirname, 'conformance', 'kinesis-order-by-group-by');
    const sql = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (city VARCHAR(20), total DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM city, SUM(amount) FROM orders
GROUP BY FLOOR(ROWTIME TO HOUR), state, city
ORDER BY FLOOR(ROWTIME TO HOUR), state DESC, city;`;
    const result = await runQuery({ sql, inputs: { orders: join(dir, 'orders.ndjson') }, batchSize: 1 });
    expect(result.streams.DESTINATION_SQL_STREAM).toEqual([
      { city: 'Portland', total: 5 },
      { city: 'Salem', total: 2 },
      { city: 'Fresno', total: 10 },
      { city: 'San Jose', total: 45 },
      { city: 'Portland', total: 1 },
      { city: 'Fresno', total: 100 },
      { city: 'San Jose', total: 7 },
      { city: 'Oakland', total: 1 },
    ]);
  });

  it("sorts a UNION ALL of two streams by ROWTIME, then an expression, as the reference's ORDER BY page does", async () => {
    const dir = join(import.meta.dirname, 'conformance', 'kinesis-order-by-union-all');
    const inputs = { t1: join(dir, 't1.ndjson'), t2: join(dir, 't2.ndjson') };
    const result = await runQuery({ sql: readFileSync(join(dir, 'query.sql'), 'utf8'), inputs, batchSize: 1 });
    // 08:00:00 holds x = 9, 5 (t1) and 11 (t2): MOD 4, 0, 1; 08:00:01 holds 7 (t1) and 3 (t2): MOD 2, 3.
    expect(result.streams.DESTINATION_SQL_STREAM!.map((r) => r.x)).toEqual([5, 11, 9, 7, 3, 8]);
  });

  it("sorts SELECT STREAM DISTINCT rowtime, ticker by ROWTIME, then ticker, as the reference's ORDER BY page says it succeeds", async () => {
    const dir = join(import.meta.dirname, 'conformance', 'kinesis-order-by-distinct-rowtime');
    for (const batchSize of [1, 512]) {
      const result = await runQuery({ sql: readFileSync(join(dir, 'query.sql'), 'utf8'), inputs: { trades: join(dir, 'trades.ndjson') }, batchSize });
      // Each ROWTIME's tickers once, alphabetically: the trades came ORCL, IBM, ORCL, AMZN at 08:00:00.000.
      expect(result.streams.DESTINATION_SQL_STREAM!.map((r) => `${String(r.trade_time).slice(17, 23)} ${r.ticker}`)).toEqual([
        '00.000 AMZN',
        '00.000 IBM',
        '00.000 ORCL',
        '00.001 ORCL',
        '01.500 IBM',
        '02.000 AMZN',
        '02.000 ORCL',
      ]);
    }
  });

  it('gives the rows of DISTINCT rowtime the ROWTIME their group closed at, a millisecond after the one they select', async () => {
    const sql = `
CREATE OR REPLACE STREAM "D" (trade_time TIMESTAMP, ticker VARCHAR(4));
CREATE OR REPLACE STREAM "OUT" (emitted TIMESTAMP, trade_time TIMESTAMP, ticker VARCHAR(4));
CREATE OR REPLACE PUMP "P1" AS INSERT INTO "D" SELECT STREAM DISTINCT rowtime, ticker FROM trades ORDER BY ROWTIME, ticker;
CREATE OR REPLACE PUMP "P2" AS INSERT INTO "OUT" SELECT STREAM ROWTIME, trade_time, ticker FROM "D";`;
    const trades = [
      { ticker: 'B', _arrival_time: at(0) },
      { ticker: 'A', _arrival_time: at(0) },
      { ticker: 'A', _arrival_time: at(5) },
    ];
    const result = await runQuery({ sql, inputs: { trades: once(trades) } });
    expect(result.streams.OUT).toEqual([
      { emitted: at(0, 1), trade_time: at(0), ticker: 'A' },
      { emitted: at(0, 1), trade_time: at(0), ticker: 'B' },
      { emitted: at(5, 1), trade_time: at(5), ticker: 'A' },
    ]);
  });

  it('refuses a first key that is not a monotonic function of ROWTIME, naming the key', async () => {
    const base = `
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" ("id" INTEGER, "v" INTEGER, "ts" TIMESTAMP);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER, "v" INTEGER, "ts" TIMESTAMP);
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "id", "v", "ts" FROM "SOURCE_SQL_STREAM_001" `;
    expect(await problem(`${base} ORDER BY "v";`)).toMatch(/ORDER BY on a stream must order by .*ROWTIME.*first.*v is BIGINT/s);
    expect(await problem(`${base} ORDER BY FLOOR(ROWTIME TO SECOND) DESC, "v";`)).toMatch(/DESC/);
    expect(await problem(`${base} ORDER BY "ts", "v";`)).toMatch(/ORDER BY ts outside a window: .*does not follow ts.*ORDER BY ROWTIME/s);
    expect(await problem(`${base} ORDER BY "OTHER".ROWTIME;`)).toMatch(/unknown table or alias "OTHER"/);
  });
});

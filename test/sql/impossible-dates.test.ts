/**
 * A date or time that does not exist (Feb 30, month 13, hour 24, minute 60) is refused on every path, in both
 * dialects, instead of rolling over into another instant: a literal when the query is planned, naming the
 * text; a row value on the error stream, the row's other rows flowing on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { runQuery } from '../../src/sql/index.ts';

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const FLINK_TABLE = `CREATE TABLE events (k VARCHAR(8), t VARCHAR(32), ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'events');`;
const ROWS = [
  { k: 'good', t: '2026-02-28 10:00:00', ts: '2026-03-02T08:00:00Z' },
  { k: 'bad', t: '2026-02-30 10:00:00', ts: '2026-03-02T08:00:01Z' },
];

/** A Kinesis Analytics pump writing `expr` (over `events`) as x, with k. */
function kinesisPump(expr: string, type = 'TIMESTAMP'): string {
  return `CREATE OR REPLACE STREAM "OUT" (k VARCHAR(8), x ${type});
    CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM k, ${expr} FROM events;`;
}

async function planError(sql: string, dialect?: 'flink' | 'kinesis'): Promise<{ code: string; message: string }> {
  const err = await runQuery({ sql, inputs: { events: iterate(ROWS) }, dialect }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!isTollstreamError(err)) throw new Error(`expected the query to be refused, got ${String(err)}`);
  return { code: err.code, message: err.message };
}

describe('impossible dates and times', () => {
  it('refuses TIMESTAMP and DATE literals of days, months and times that do not exist, naming the text, in both dialects', async () => {
    const cases: [string, string][] = [
      ["TIMESTAMP '2026-02-30 10:00:00'", "'2026-02-30 10:00:00' is not a timestamp: 2026-02 has no day 30"],
      ["DATE '2026-02-29'", "'2026-02-29' is not a timestamp: 2026-02 has no day 29"],
      ["TIMESTAMP '2026-13-01 00:00:00'", "'2026-13-01 00:00:00' is not a timestamp: month 13 is not 01 to 12"],
      ["TIMESTAMP '2026-04-01 24:00:00'", 'hour 24 is not 00 to 23'],
      ["TIMESTAMP '2026-04-01 08:60:00'", 'minute 60 is not 00 to 59'],
      ["TIMESTAMP '2026-04-01T08:00:60Z'", 'second 60 is not 00 to 59'],
    ];
    for (const [literal, message] of cases) {
      const flink = await planError(`${FLINK_TABLE} SELECT k, ${literal} AS x FROM events;`);
      expect(flink.message, literal).toContain(message);
      expect(flink.code).toBe('SQL_SYNTAX');
      expect(flink.message).toMatch(/^line 1, column \d+:/);
      const kinesis = await planError(kinesisPump(literal));
      expect(kinesis.message, literal).toContain(message);
      expect(kinesis.code).toBe('SQL_SYNTAX');
    }
    // A real Feb 29 is a timestamp.
    const r = await runQuery({ sql: `${FLINK_TABLE} SELECT k, DATE '2028-02-29' AS x FROM events;`, inputs: { events: iterate(ROWS.slice(0, 1)) } });
    expect(r.streams.result).toEqual([{ k: 'good', x: '2028-02-29T00:00:00.000Z' }]);
  });

  it('refuses a text constant compared with a timestamp when it names no instant, instead of matching nothing', async () => {
    for (const where of ["ts > '2026-02-30 10:00:00'", "ts BETWEEN '2026-03-01' AND '2026-03-32'", "ts IN ('2026-03-02 08:00:00', '2026-03-02 25:00:00')"]) {
      const e = await planError(`${FLINK_TABLE} SELECT k FROM events WHERE ${where};`);
      expect(e.code, where).toBe('SQL_PLAN');
      expect(e.message, where).toMatch(/'2026-0[23]-\d\d[ 0-9:]*' is not a timestamp: /);
    }
    const e = await planError(kinesisPump('ts', 'TIMESTAMP').replace('FROM events;', "FROM events WHERE ts < '2026-02-30';"));
    expect(e.code).toBe('SQL_PLAN');
    expect(e.message).toContain("'2026-02-30' is not a timestamp: 2026-02 has no day 30");
  });

  it('sends a row whose CAST or TO_TIMESTAMP text names no instant to the error stream, in both dialects', async () => {
    for (const [expr, errorName] of [
      ['CAST(t AS TIMESTAMP)', 'CAST_FAILED'],
      ['TO_TIMESTAMP(t)', 'EVAL_ERROR'],
    ] as const) {
      const flink = await runQuery({ sql: `${FLINK_TABLE} SELECT k, ${expr} AS x FROM events;`, inputs: { events: iterate(ROWS) } });
      expect(flink.streams.result, expr).toEqual([{ k: 'good', x: '2026-02-28T10:00:00.000Z' }]);
      expect(flink.errors.map((e) => [e.ERROR_NAME, e.MESSAGE]), expr).toEqual([[errorName, expect.stringContaining("'2026-02-30 10:00:00' is not a timestamp: 2026-02 has no day 30")]]);
      expect(JSON.parse(String(flink.errors[0]!.DATA_ROW)).k).toBe('bad');

      const kinesis = await runQuery({ sql: FLINK_TABLE + kinesisPump(expr), inputs: { events: iterate(ROWS) }, dialect: 'kinesis' });
      expect(kinesis.streams.OUT, expr).toEqual([{ k: 'good', x: '2026-02-28T10:00:00.000Z' }]);
      expect(kinesis.errors.map((e) => [e.ERROR_NAME, e.PUMP_NAME]), expr).toEqual([[errorName, 'P']]);
    }
  });

  it('rejects an input record whose declared TIMESTAMP field names no instant as a PARSE_ERROR, in both dialects', async () => {
    const rows = [
      { k: 'good', ts: '2026-03-02 08:00:00' },
      { k: 'bad', ts: '2026-02-30 08:00:00' },
      { k: 'hour', ts: '2026-03-02T24:00:00.000Z' },
    ];
    const table = `CREATE TABLE events (k VARCHAR(8), ts TIMESTAMP(3)) WITH ('stream' = 'events');`;
    const flink = await runQuery({ sql: `${table} SELECT k, ts FROM events;`, inputs: { events: iterate(rows) } });
    const kinesis = await runQuery({ sql: table + kinesisPump('ts'), inputs: { events: iterate(rows) }, dialect: 'kinesis' });
    expect(flink.streams.result).toEqual([{ k: 'good', ts: '2026-03-02T08:00:00.000Z' }]);
    expect(kinesis.streams.OUT).toEqual([{ k: 'good', x: '2026-03-02T08:00:00.000Z' }]);
    for (const r of [flink, kinesis]) {
      expect(r.errors.map((e) => [e.ERROR_NAME, e.MESSAGE])).toEqual([
        ['PARSE_ERROR', 'field "ts" is "2026-02-30 08:00:00", not a timestamp (2026-02 has no day 30)'],
        ['PARSE_ERROR', 'field "ts" is "2026-03-02T24:00:00.000Z", not a timestamp (hour 24 is not 00 to 23)'],
      ]);
    }
  });

  it('rejects such a field read straight from NDJSON bytes too (the producers\' form, Z and all)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'impossible-dates-'));
    try {
      const file = join(dir, 'events.ndjson');
      const lines = ['2026-03-02T08:00:00.000Z', '2026-02-30T08:00:00.000Z', '2026-03-02T08:00:60Z'].map((ts, i) => JSON.stringify({ k: `r${i}`, ts }));
      writeFileSync(file, `${lines.join('\n')}\n`);
      const r = await runQuery({ sql: `CREATE TABLE events (k VARCHAR(8), ts TIMESTAMP(3)); SELECT k, ts FROM events;`, inputs: { events: file } });
      expect(r.streams.result).toEqual([{ k: 'r0', ts: '2026-03-02T08:00:00.000Z' }]);
      expect(r.errors.map((e) => [e.ERROR_NAME, e.MESSAGE])).toEqual([
        ['PARSE_ERROR', 'field "ts" is "2026-02-30T08:00:00.000Z", not a timestamp (2026-02 has no day 30)'],
        ['PARSE_ERROR', 'field "ts" is "2026-03-02T08:00:60Z", not a timestamp (second 60 is not 00 to 59)'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sends a row to the error stream when CHAR_TO_TIMESTAMP's text names no instant: Feb 30, month 13, hour 13 of a 12-hour clock", async () => {
    const cases: [string, string, string][] = [
      ['yyyy-MM-dd', '2026-02-30', 'day 30 is not in month 2 of 2026'],
      ['yyyy-MM-dd', '2026-13-01', 'month 13 is not 1 to 12'],
      ['yyyy-MM-dd hh:mm a', '2026-03-02 13:15 PM', 'hour 13 is not 1 to 12 (hh)'],
      ['yyyy-MM-dd HH:mm', '2026-03-02 24:00', 'hour 24 is not 0 to 23'],
    ];
    for (const [pattern, text, why] of cases) {
      const rows = [{ k: 'bad', t: text, ts: '2026-03-02T08:00:00Z' }];
      const r = await runQuery({ sql: kinesisPump(`CHAR_TO_TIMESTAMP('${pattern}', t)`), inputs: { events: iterate(rows) } });
      expect(r.streams.OUT, text).toEqual([]);
      expect(r.errors.map((e) => [e.ERROR_NAME, e.MESSAGE]), text).toEqual([['EVAL_ERROR', `'${text}' does not fit the date pattern '${pattern}': ${why}`]]);
    }
  });

  it('reads a four-digit year below 100 as itself in CHAR_TO_TIMESTAMP and TO_TIMESTAMP with a pattern, not as 19xx', async () => {
    const rows = [{ k: 'a', t: '0099-03-01', ts: '2026-03-02T08:00:00Z' }];
    const kinesis = await runQuery({ sql: kinesisPump("CHAR_TO_TIMESTAMP('yyyy-MM-dd', t)"), inputs: { events: iterate(rows) } });
    expect(kinesis.streams.OUT).toEqual([{ k: 'a', x: '0099-03-01T00:00:00.000Z' }]);
    const flink = await runQuery({ sql: `SELECT k, TO_TIMESTAMP(t, 'yyyy-MM-dd') AS x FROM events;`, inputs: { events: iterate(rows) }, dialect: 'flink' });
    expect(flink.streams.result).toEqual([{ k: 'a', x: '0099-03-01T00:00:00.000Z' }]);
  });

  it('sends a SYS_LOG_PARSE line of a day that 1970 does not have to the error stream', async () => {
    const rows = [
      { k: 'good', line: 'Mar  1 10:00:00 host ok', ts: '2026-03-02T08:00:00Z' },
      { k: 'bad', line: 'Feb 30 10:00:00 host late', ts: '2026-03-02T08:00:01Z' },
    ];
    const sql = `CREATE OR REPLACE STREAM "OUT" (k VARCHAR(8), x TIMESTAMP);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM k, p.r.COLUMN1 FROM (SELECT STREAM k, SYS_LOG_PARSE(line) AS r FROM events) AS p;`;
    const r = await runQuery({ sql, inputs: { events: iterate(rows) } });
    expect(r.streams.OUT).toEqual([{ k: 'good', x: '1970-03-01T10:00:00.000Z' }]);
    expect(r.errors.map((e) => [e.ERROR_NAME, e.MESSAGE])).toEqual([['EVAL_ERROR', "SYS_LOG_PARSE: 'Feb 30 10:00:00' is not a date and time of 1970"]]);
  });

  it('refuses an interval literal whose later fields overflow their unit or are missing, and reads a leading sign as the whole interval', async () => {
    for (const [literal, why] of [
      ["INTERVAL '1:75' MINUTE TO SECOND", "'1:75' is not an INTERVAL MINUTE TO SECOND: second 75 is not below 60"],
      ["INTERVAL '2 24:00:00' DAY TO SECOND", "'2 24:00:00' is not an INTERVAL DAY TO SECOND: hour 24 is not below 24"],
      ["INTERVAL '10:00' HOUR TO SECOND", "'10:00' is not an INTERVAL HOUR TO SECOND: it has 2 fields, not 3"],
      ["INTERVAL '1:' MINUTE TO SECOND", "'' is not a number of seconds"],
    ]) {
      const e = await planError(`${FLINK_TABLE} SELECT k, ts + ${literal} AS x FROM events;`);
      expect(e.code, literal).toBe('SQL_SYNTAX');
      expect(e.message, literal).toContain(why);
    }
    const sql = `${FLINK_TABLE} SELECT k, ts + INTERVAL '-1 12' DAY TO HOUR AS x, ts + INTERVAL '1:30.5' MINUTE TO SECOND AS y FROM events;`;
    const r = await runQuery({ sql, inputs: { events: iterate(ROWS.slice(0, 1)) } });
    expect(r.streams.result).toEqual([{ k: 'good', x: '2026-02-28T20:00:00.000Z', y: '2026-03-02T08:01:30.500Z' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseSql } from '../parser/index.ts';
import type { QueryStmt } from '../ast/index.ts';
import { compileExpr } from './compile.ts';
import { Scope } from './scope.ts';
import type { Row, Value } from './types.ts';
import { RowError } from './types.ts';

const scope = new Scope([
  { name: 'n', type: 'BIGINT', qualifier: 't', hidden: false },
  { name: 'd', type: 'DOUBLE', qualifier: 't', hidden: false },
  { name: 's', type: 'VARCHAR', qualifier: 't', hidden: false },
  { name: 'ts', type: 'TIMESTAMP', qualifier: 't', hidden: false },
  { name: 'b', type: 'BOOLEAN', qualifier: 't', hidden: false },
]);

/** Evaluates one SQL expression over a row (n, d, s, ts, b). */
function evaluate(expr: string, row: Row = [null, null, null, null, null]): Value {
  const q = (parseSql(`SELECT ${expr} FROM t`).statements[0] as QueryStmt).query;
  const item = q.items[0]!;
  if (item.kind !== 'item') throw new Error('no expression');
  return compileExpr(item.expr, { scope, now: () => 0 }).fn(row);
}

const T = Date.UTC(2026, 2, 2, 8, 30, 15, 500);

describe('expressions', () => {
  it("reads TIME '...' as the time of day on 1970-01-01, compared and shifted like the other times", () => {
    expect(evaluate("TIME '12:34:56'")).toBe(Date.UTC(1970, 0, 1, 12, 34, 56));
    expect(evaluate("TIME '07:05'")).toBe(Date.UTC(1970, 0, 1, 7, 5));
    expect(evaluate("TIME '23:59:59.250'")).toBe(Date.UTC(1970, 0, 1, 23, 59, 59, 250));
    expect(evaluate("TIME '12:03:34' > TIME '11:57:23'")).toBe(true);
    expect(evaluate("TIME '11:57:23' + INTERVAL '6' MINUTE")).toBe(Date.UTC(1970, 0, 1, 12, 3, 23));
    expect(evaluate("EXTRACT(MINUTE FROM TIME '12:03:34')")).toBe(3);
    expect(() => evaluate("TIME '24:00:00'")).toThrow(/'24:00:00' is not a time of day: hour 24 is not 00 to 23/);
    expect(() => evaluate("TIME '12:60'")).toThrow(/minute 60/);
    expect(() => evaluate("TIME '2026-03-02 12:00:00'")).toThrow(/not a time of day/);
  });

  it('follows three-valued logic for AND, OR and NOT', () => {
    expect(evaluate('NULL AND FALSE')).toBe(false);
    expect(evaluate('NULL AND TRUE')).toBe(null);
    expect(evaluate('NULL OR TRUE')).toBe(true);
    expect(evaluate('NULL OR FALSE')).toBe(null);
    expect(evaluate('NOT b')).toBe(null);
    expect(evaluate('NOT b', [null, null, null, null, false])).toBe(true);
  });

  it('propagates NULL through arithmetic, comparison and functions; COALESCE stops it', () => {
    expect(evaluate('n + 1')).toBe(null);
    expect(evaluate('n = n')).toBe(null);
    expect(evaluate('UPPER(s)')).toBe(null);
    expect(evaluate('s || \'x\'')).toBe(null);
    expect(evaluate('COALESCE(n, d, 7)')).toBe(7);
    expect(evaluate('n IS NULL')).toBe(true);
  });

  it('keeps integers exact and divides them as integers', () => {
    expect(evaluate('n * 3 + 1', [9_007_199_254_740, null, null, null, null])).toBe(27_021_597_764_221);
    expect(evaluate('7 / 2')).toBe(3);
    expect(evaluate('-7 / 2')).toBe(-3);
    expect(evaluate('7.0 / 2')).toBe(3.5);
    expect(evaluate('7 % 3')).toBe(1);
  });

  it('raises a row error (for the error stream) on division by zero and failed CAST; TRY_CAST gives NULL', () => {
    expect(() => evaluate('n / 0', [5, null, null, null, null])).toThrow(RowError);
    expect(() => evaluate("CAST('abc' AS INT)")).toThrow(/cannot cast 'abc' to BIGINT/);
    expect(evaluate("TRY_CAST('abc' AS INT)")).toBe(null);
    expect(evaluate("CAST('42' AS BIGINT)")).toBe(42);
    expect(evaluate("CAST(TIMESTAMP '2026-03-02 08:00:00' AS VARCHAR)")).toBe('2026-03-02T08:00:00.000Z');
  });

  it('treats NULL as a value in IS [NOT] DISTINCT FROM', () => {
    expect(evaluate('n IS DISTINCT FROM NULL')).toBe(false);
    expect(evaluate('n IS NOT DISTINCT FROM NULL')).toBe(true);
    expect(evaluate('n IS DISTINCT FROM 1')).toBe(true);
    expect(evaluate('n IS DISTINCT FROM 1', [1, null, null, null, null])).toBe(false);
  });

  it('answers IS [NOT] TRUE / FALSE / UNKNOWN with true or false, never NULL', () => {
    const row = (b: boolean | null): Row => [null, null, null, null, b];
    expect([true, false, null].map((b) => evaluate('b IS TRUE', row(b)))).toEqual([true, false, false]);
    expect([true, false, null].map((b) => evaluate('b IS NOT TRUE', row(b)))).toEqual([false, true, true]);
    expect([true, false, null].map((b) => evaluate('b IS FALSE', row(b)))).toEqual([false, true, false]);
    expect([true, false, null].map((b) => evaluate('b IS NOT FALSE', row(b)))).toEqual([true, false, true]);
    expect([true, false, null].map((b) => evaluate('b IS UNKNOWN', row(b)))).toEqual([false, false, true]);
    expect([true, false, null].map((b) => evaluate('b IS NOT UNKNOWN', row(b)))).toEqual([true, true, false]);
    expect(evaluate('n > 1 IS TRUE', [2, null, null, null, null])).toBe(true);
  });

  it('reads BETWEEN SYMMETRIC with its bounds in either order, and ASYMMETRIC as plain BETWEEN', () => {
    const n = (v: number): Row => [v, null, null, null, null];
    expect([0, 1, 2, 3].map((v) => evaluate('n BETWEEN SYMMETRIC 2 AND 1', n(v)))).toEqual([false, true, true, false]);
    expect([0, 1, 2, 3].map((v) => evaluate('n NOT BETWEEN SYMMETRIC 2 AND 1', n(v)))).toEqual([true, false, false, true]);
    expect([0, 1, 2, 3].map((v) => evaluate('n BETWEEN ASYMMETRIC 2 AND 1', n(v)))).toEqual([false, false, false, false]);
    expect(evaluate('n BETWEEN SYMMETRIC 2 AND NULL', n(2))).toBe(null);
  });

  it('handles IN and BETWEEN with NULLs as SQL does', () => {
    expect(evaluate('1 IN (1, NULL)')).toBe(true);
    expect(evaluate('2 IN (1, NULL)')).toBe(null);
    expect(evaluate('2 NOT IN (1, 3)')).toBe(true);
    expect(evaluate('5 BETWEEN 1 AND 5')).toBe(true);
    expect(evaluate('5 NOT BETWEEN 1 AND NULL')).toBe(null);
    expect(evaluate('0 BETWEEN 1 AND NULL')).toBe(false);
  });

  it('matches LIKE patterns and regular expressions', () => {
    const row: Row = [null, null, 'AB-123', null, null];
    expect(evaluate("s LIKE 'AB-%'", row)).toBe(true);
    expect(evaluate("s LIKE 'A_-1_3'", row)).toBe(true);
    expect(evaluate("s NOT LIKE '%.%'", row)).toBe(true);
    expect(evaluate("REGEXP_LIKE(s, '^[A-Z]{2}-[0-9]+$')", row)).toBe(true);
    expect(evaluate("REGEXP_EXTRACT(s, '([0-9]+)')", row)).toBe('123');
    expect(evaluate("SUBSTRING(s, 4)", row)).toBe('123');
    expect(evaluate("TRIM(LEADING 'A' FROM s)", row)).toBe('B-123');
    expect(evaluate("CONCAT(s, '/', CHAR_LENGTH(s))", row)).toBe('AB-123/6');
  });

  it('does time arithmetic, FLOOR/CEIL to units, EXTRACT and time zone conversion', () => {
    const row: Row = [null, null, null, T, null];
    expect(evaluate("ts + INTERVAL '30' MINUTE", row)).toBe(T + 1_800_000);
    expect(evaluate("ts - TIMESTAMP '2026-03-02 08:00:00'", row)).toBe(1_815_500);
    expect(evaluate('FLOOR(ts TO HOUR)', row)).toBe(Date.UTC(2026, 2, 2, 8));
    expect(evaluate('CEIL(ts TO DAY)', row)).toBe(Date.UTC(2026, 2, 3));
    expect(evaluate('FLOOR(ts TO MONTH)', row)).toBe(Date.UTC(2026, 2, 1));
    expect(evaluate("STEP(ts BY INTERVAL '20' MINUTE)", row)).toBe(Date.UTC(2026, 2, 2, 8, 20));
    expect(evaluate('EXTRACT(MINUTE FROM ts)', row)).toBe(30);
    expect(evaluate('EXTRACT(DOW FROM ts)', row)).toBe(2);
    expect(evaluate("CONVERT_TZ(ts, 'UTC', 'America/New_York')", row)).toBe(T - 5 * 3_600_000);
    expect(evaluate("ts > '2026-03-02 08:00:00'", row)).toBe(true);
  });

  it('evaluates searched and simple CASE', () => {
    expect(evaluate("CASE WHEN n > 1 THEN 'big' WHEN n IS NULL THEN 'none' ELSE 'small' END")).toBe('none');
    expect(evaluate("CASE n WHEN 1 THEN 'one' END", [2, null, null, null, null])).toBe(null);
  });

  it('rejects type errors when planning, naming the types', () => {
    expect(() => evaluate("s + 1")).toThrow(/cannot apply \+ to VARCHAR and BIGINT/);
    expect(() => evaluate('ts = 1')).toThrow(/cannot compare TIMESTAMP with BIGINT/);
  });
});

describe('the processing-time clock', () => {
  /** A clock that moves one second each time it is read, and the expression compiled in `dialect`. */
  function clocked(expr: string, dialect: 'flink' | 'kinesis') {
    let t = Date.UTC(2026, 2, 2, 23, 59, 58, 250);
    const q = (parseSql(`SELECT ${expr} FROM t`).statements[0] as QueryStmt).query;
    const item = q.items[0]!;
    if (item.kind !== 'item') throw new Error('no expression');
    const fn = compileExpr(item.expr, { scope, dialect, now: () => (t += 1000) }).fn;
    return [fn([]), fn([]), fn([])];
  }

  it('reads CURRENT_ROW_TIMESTAMP for every row in both dialects', () => {
    const start = Date.UTC(2026, 2, 2, 23, 59, 58, 250);
    expect(clocked('CURRENT_ROW_TIMESTAMP', 'kinesis')).toEqual([start + 1000, start + 2000, start + 3000]);
    expect(clocked('CURRENT_ROW_TIMESTAMP', 'flink')).toEqual([start + 1000, start + 2000, start + 3000]);
  });

  it('sets CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE and LOCALTIME once in Kinesis Analytics, per row in Flink', () => {
    const start = Date.UTC(2026, 2, 2, 23, 59, 58, 250);
    expect(clocked('CURRENT_TIMESTAMP', 'kinesis')).toEqual([start + 1000, start + 1000, start + 1000]);
    expect(clocked('LOCALTIMESTAMP', 'kinesis')).toEqual([start + 1000, start + 1000, start + 1000]);
    expect(clocked('CURRENT_TIMESTAMP', 'flink')).toEqual([start + 1000, start + 2000, start + 3000]);
    // The clock passes midnight between the first and the second read.
    expect(clocked('CURRENT_DATE', 'kinesis')).toEqual([Date.UTC(2026, 2, 2), Date.UTC(2026, 2, 2), Date.UTC(2026, 2, 2)]);
    expect(clocked('CURRENT_DATE', 'flink')).toEqual([Date.UTC(2026, 2, 2), Date.UTC(2026, 2, 3), Date.UTC(2026, 2, 3)]);
    expect(clocked('LOCALTIME', 'kinesis')).toEqual([86_399_250, 86_399_250, 86_399_250]);
    expect(clocked('CURRENT_TIME', 'flink')).toEqual([86_399_250, 250, 1250]);
  });
});

describe('CAST to a narrower integer type', () => {
  it('fails beyond the width of INTEGER, SMALLINT and TINYINT (TRY_CAST gives NULL), and BIGINT takes the value', () => {
    const failure = (expr: string) => {
      try {
        evaluate(expr);
      } catch (err) {
        if (err instanceof RowError) return `${err.errorName}: ${err.message}`;
        throw err;
      }
      return 'no error';
    };
    expect(evaluate("CAST('2147483647' AS INTEGER)")).toBe(2147483647);
    expect(evaluate('CAST(-2147483648 AS INT)')).toBe(-2147483648);
    expect(failure("CAST('3000000000' AS INTEGER)")).toBe('CAST_FAILED: cannot cast 3000000000 to INTEGER: beyond its 32 bits');
    expect(failure('CAST(32768 AS SMALLINT)')).toBe('CAST_FAILED: cannot cast 32768 to SMALLINT: beyond its 16 bits');
    expect(evaluate('CAST(-128 AS TINYINT)')).toBe(-128);
    expect(failure('CAST(128.7 AS TINYINT)')).toBe('CAST_FAILED: cannot cast 128 to TINYINT: beyond its 8 bits');
    expect(evaluate('TRY_CAST(3000000000 AS INTEGER)')).toBe(null);
    expect(evaluate('CAST(3000000000 AS BIGINT)')).toBe(3000000000);
  });
});

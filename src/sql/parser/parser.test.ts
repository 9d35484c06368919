import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../core/errors.ts';
import type { CreatePumpStmt, CreateTableStmt, InsertStmt, QueryStmt } from '../ast/index.ts';
import { parseSql } from './index.ts';

describe('parseSql', () => {
  it('reads a Flink-style table with a watermark and options', () => {
    const { statements } = parseSql(`CREATE TABLE tolls (
      plate VARCHAR(16) NOT NULL, amount DECIMAL(10, 2), ts TIMESTAMP(3),
      WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
      PRIMARY KEY (plate) NOT ENFORCED
    ) WITH ('connector' = 'kinesis', 'stream' = 'tolls')`);
    const t = statements[0] as CreateTableStmt;
    expect(t.kind).toBe('createTable');
    expect(t.columns.map((c) => [c.name, c.type.name])).toEqual([['plate', 'VARCHAR'], ['amount', 'DOUBLE'], ['ts', 'TIMESTAMP']]);
    expect(t.watermark?.column).toBe('ts');
    expect(t.options).toEqual({ connector: 'kinesis', stream: 'tolls' });
  });

  it('reads window table functions with their sizes in milliseconds', () => {
    const { statements } = parseSql(`INSERT INTO out SELECT window_start, COUNT(*) FROM TABLE(
      CUMULATE(TABLE tolls, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) AS w GROUP BY window_start, window_end`);
    const from = (statements[0] as InsertStmt).query.from;
    expect(from?.kind).toBe('windowTvf');
    if (from?.kind !== 'windowTvf') return;
    expect(from.fn).toBe('CUMULATE');
    expect(from.sizes.map((s) => s.millis)).toEqual([60_000, 3_600_000]);
    expect(from.alias).toBe('w');
  });

  it('reads a Kinesis Analytics pump with STEP, quoted names and a named sliding window', () => {
    const { statements } = parseSql(`
      CREATE OR REPLACE STREAM "DEST" ("c" VARCHAR(8), "n" INTEGER);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "DEST"
        SELECT STREAM "c", COUNT(*) OVER W FROM "SOURCE_SQL_STREAM_001"
        WINDOW W AS (PARTITION BY "c" RANGE INTERVAL '1' MINUTE PRECEDING);`);
    expect(statements.map((s) => s.kind)).toEqual(['createStream', 'createPump']);
    const pump = statements[1] as CreatePumpStmt;
    expect(pump.name).toBe('P');
    expect(pump.insert.target).toBe('DEST');
    expect(pump.insert.query.stream).toBe(true);
    expect(pump.insert.query.windows[0]?.spec.rangeMillis).toBe(60_000);
  });

  it('reads STEP and FLOOR ... TO and a stagger window', () => {
    const { statements } = parseSql(`SELECT STREAM x, STEP(s.ROWTIME BY INTERVAL '10' SECOND), FLOOR(ts TO HOUR) FROM s
      WINDOWED BY STAGGER (PARTITION BY x RANGE INTERVAL '2' MINUTE)`);
    const q = (statements[0] as QueryStmt).query;
    const kinds = q.items.map((i) => (i.kind === 'item' ? i.expr.kind : 'star'));
    expect(kinds).toEqual(['column', 'step', 'floorCeil']);
    expect(q.windowedBy?.range.millis).toBe(120_000);
  });

  it('gives AND precedence over OR and keeps NOT BETWEEN / NOT IN / IS NOT NULL', () => {
    const { statements } = parseSql('SELECT a FROM t WHERE a = 1 OR b NOT BETWEEN 1 AND 2 AND c IS NOT NULL AND d NOT IN (1, 2)');
    const where = (statements[0] as QueryStmt).query.where;
    expect(where?.kind === 'binary' && where.op).toBe('OR');
    if (where?.kind !== 'binary') return;
    expect(where.right.kind === 'binary' && where.right.op).toBe('AND');
  });

  it('points at the line and column of a syntax error and says what to do', () => {
    let caught: unknown;
    try {
      parseSql('SELECT a\nFROM t\nWHERE a = = 1');
    } catch (err) {
      caught = err;
    }
    expect(isTollstreamError(caught, 'SQL_SYNTAX')).toBe(true);
    const message = (caught as Error).message;
    expect(message).toMatch(/^line 3, column 11: expected an expression but found '='/);
    expect(message).toContain('\n  WHERE a = = 1\n            ^');
  });

  it('reads ORDER BY and LIMIT of the whole query (the planner decides whether a stream can be so ordered)', () => {
    const st = parseSql('SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY ts, a DESC LIMIT 3').statements[0]!;
    if (st.kind !== 'query') throw new Error(`a query, not ${st.kind}`);
    const q = st.query;
    expect(q.orderBy.map((o) => [o.expr.kind === 'column' ? o.expr.name : o.expr.kind, o.descending])).toEqual([['ts', false], ['a', true]]);
    expect(q.limit).toBe(3);
    expect(q.unionAll).toHaveLength(1);
    expect(() => parseSql('SELECT a FROM t LIMIT x')).toThrow(/a number of rows after LIMIT/);
  });

  it('reads UNION as the distinct rows of the UNION ALL before it, left to right', () => {
    const st = parseSql('SELECT a FROM t UNION ALL SELECT a FROM u UNION SELECT a FROM v UNION ALL SELECT a FROM w').statements[0]!;
    if (st.kind !== 'query') throw new Error('expected a query');
    const q = st.query;
    // (t UNION ALL u UNION v): one SELECT DISTINCT * over the three; w stays a plain branch after it.
    expect(q.distinct).toBe(true);
    expect(q.unionAll).toHaveLength(1);
    expect(q.from?.kind).toBe('subquery');
    const inner = q.from?.kind === 'subquery' ? q.from.query : null;
    expect(inner?.unionAll).toHaveLength(2);
    expect(inner?.distinct).toBe(false);
    expect(() => parseSql('SELECT a FROM t EXCEPT SELECT a FROM u ORDER BY a LIMIT x')).toThrow(/a number/);
  });
});

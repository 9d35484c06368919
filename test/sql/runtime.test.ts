/** The file runner's behaviour beyond rows: async inputs, checkpoints, EXPLAIN, streaming rows, input errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { explainQuery, runQuery } from '../../src/sql/index.ts';

const SQL = `
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');
CREATE TABLE per_minute (window_start TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('stream' = 'per_minute');
INSERT INTO per_minute
SELECT window_start, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
WHERE amount_cents > 0
GROUP BY window_start, window_end;`;

function passages(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    plate: `P${i % 7}`,
    amount_cents: 100 + (i % 5),
    event_time: new Date(Date.UTC(2026, 2, 2, 8) + i * 7_000).toISOString(),
  }));
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe('runQuery', () => {
  it('reads async iterables and closes every window at the end of the input', async () => {
    const result = await runQuery({ sql: SQL, inputs: { tolls: iterate(passages(30)) } });
    const rows = result.streams.per_minute!;
    // 30 passages 7 s apart span 08:00:00 .. 08:03:23: four windows, the last one closed by end of input.
    expect(rows.map((r) => r.window_start)).toEqual(['2026-03-02T08:00:00.000Z', '2026-03-02T08:01:00.000Z', '2026-03-02T08:02:00.000Z', '2026-03-02T08:03:00.000Z']);
    expect(rows.reduce((s, r) => s + (r.n as number), 0)).toBe(30);
    expect(result.errors).toEqual([]);
  });

  it('takes checkpoints in band: every operator snapshots at each barrier, and results do not change', async () => {
    const snapshots: { task: string; id: number; state: unknown }[] = [];
    const plain = await runQuery({ sql: SQL, inputs: { tolls: iterate(passages(30)) }, batchSize: 4 });
    const checked = await runQuery({
      sql: SQL,
      inputs: { tolls: iterate(passages(30)) },
      batchSize: 4,
      checkpointEveryRows: 10,
      onSnapshot: (task, id, state) => snapshots.push({ task, id, state }),
    });
    expect(checked.streams).toEqual(plain.streams);
    const ids = [...new Set(snapshots.map((s) => s.id))].sort();
    expect(ids).toEqual([1, 2, 3]);
    const tasks = new Set(snapshots.filter((s) => s.id === 1).map((s) => s.task));
    expect(tasks.size).toBe(4); // source, where, window aggregate (its select list folded in), sink
    const source = snapshots.find((s) => s.id === 2 && (s.state as { offset?: number } | null)?.offset !== undefined);
    expect((source?.state as { offset: number }).offset).toBe(20);
    // The window aggregate's state is keyed: its open windows in `meta`, the groups changed since the last checkpoint in `sections`.
    const window = snapshots.find((s) => s.id === 1 && (s.state as { meta?: { windows?: unknown[] } } | null)?.meta?.windows !== undefined);
    const state = window?.state as { meta: { windows: unknown[] }; sections: unknown[] };
    expect(state.meta.windows.length).toBeGreaterThan(0);
    expect(state.sections.length).toBeGreaterThan(0);
  });

  it('aligns barriers across the two inputs of a join without changing its rows', async () => {
    const dir = join(import.meta.dirname, 'cases', 'interval-join-entry-exit');
    const sql = readFileSync(join(dir, 'query.sql'), 'utf8');
    const inputs = () => ({ entries: join(dir, 'entries.ndjson'), exits: join(dir, 'exits.ndjson') });
    const plain = await runQuery({ sql, inputs: inputs(), batchSize: 1 });
    const joinSnapshots: number[] = [];
    const checked = await runQuery({
      sql,
      inputs: inputs(),
      batchSize: 1,
      checkpointEveryRows: 1,
      onSnapshot: (_task, id, state) => {
        if (Array.isArray((state as { sides?: unknown } | null)?.sides)) joinSnapshots.push(id);
      },
    });
    expect(checked.streams).toEqual(plain.streams);
    expect(joinSnapshots).toEqual([1, 2, 3, 4]);
  });

  it('streams rows to onRow as they are produced', async () => {
    const seen: string[] = [];
    const result = await runQuery({ sql: SQL, inputs: { tolls: iterate(passages(20)) }, collect: false, onRow: (stream) => seen.push(stream) });
    expect(seen).toEqual(['per_minute', 'per_minute', 'per_minute']);
    expect(result.streams).toEqual({});
    expect(result.metrics.rowsOut.per_minute).toBe(3);
  });

  it('renders the physical plan for EXPLAIN without running the query', async () => {
    const plan = await explainQuery({ sql: SQL, inputs: { tolls: iterate(passages(3)) } });
    expect(plan.split('\n')).toEqual([
      'Output stream per_minute (window_start TIMESTAMP, n BIGINT, total BIGINT)',
      '  StreamSink [per_minute]',
      '    TumblingWindowAggregate [tumble size=1min on event_time keys=[] aggs=[COUNT(*), SUM(amount_cents)]; select window_start, COUNT(*) AS EXPR$1, SUM(amount_cents) AS EXPR$2]',
      '      Calc [where (amount_cents > 0)]',
      '        Source [input=tolls watermark=event_time - 5s idle-timeout=1min reads=amount_cents, event_time (2 of 3 columns)]',
    ]);
    const viaStatement = await runQuery({ sql: SQL.replace('INSERT INTO', 'EXPLAIN INSERT INTO'), inputs: { tolls: iterate(passages(3)) } });
    expect(viaStatement.explain).toContain('TumblingWindowAggregate');
  });

  it("shows a log parser's columns in EXPLAIN as the parser's call and the column's name", async () => {
    const sql = `SELECT t.r.COLUMN2 FROM (SELECT REGEX_LOG_PARSE(plate, '(\\w)-(\\d+)') AS r FROM tolls) AS t;`;
    const plan = await explainQuery({ sql, inputs: { tolls: iterate(passages(3)) } });
    expect(plan).toContain("REGEX_LOG_PARSE(plate, '(\\w)-(\\d+)').COLUMN2 AS r.COLUMN2");
  });

  it('says which input is missing', async () => {
    const err = await runQuery({ sql: SQL, inputs: {} }).catch((e: unknown) => e);
    expect(isTollstreamError(err, 'SQL_INPUT')).toBe(true);
    expect((err as Error).message).toContain('stream "tolls"');
  });

  it('reports an input file that cannot be read', async () => {
    const err = await runQuery({ sql: SQL, inputs: { tolls: '/nonexistent/tolls.ndjson' } }).catch((e: unknown) => e);
    expect(isTollstreamError(err, 'SQL_INPUT')).toBe(true);
    expect((err as Error).message).toContain('/nonexistent/tolls.ndjson');
  });

  it('infers the columns of an undeclared Kinesis source from its records', async () => {
    const sql = `CREATE OR REPLACE STREAM "OUT" ("plate" VARCHAR(16), "double_cents" BIGINT);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT" SELECT STREAM "plate", "amount_cents" * 2 FROM "SOURCE_SQL_STREAM_001";`;
    const result = await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: iterate(passages(2)) } });
    expect(result.streams.OUT).toEqual([
      { plate: 'P0', double_cents: 200 },
      { plate: 'P1', double_cents: 202 },
    ]);
  });
});

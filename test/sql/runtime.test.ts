/** The file runner's behaviour beyond rows: async inputs, checkpoints, EXPLAIN, streaming rows, input errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as settle } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { explainQuery, runQuery } from '../../src/sql/index.ts';
import type { RunQueryOptions } from '../../src/sql/index.ts';
import { mergeState, restorableState } from '../../src/sql/runtime/keyed-state.ts';

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

/** A trip of the interval-join-entry-exit case as `plate entry->exit minutes`. */
function tripsOf(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((r) => `${String(r.plate)} ${String(r.entry_plaza)}->${String(r.exit_plaza)} ${String(r.minutes)}min`);
}

const ENTRY_EXIT = (() => {
  const dir = join(import.meta.dirname, 'cases', 'interval-join-entry-exit');
  const records = (file: string) =>
    readFileSync(join(dir, file), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const trips = tripsOf(records('expected.ndjson')).sort();
  return { sql: readFileSync(join(dir, 'query.sql'), 'utf8'), entries: records('entries.ndjson'), exits: records('exits.ndjson'), trips };
})();

/** Every order of `e` entries and `x` exits, as letters ('e' an entry, 'x' an exit). */
function arrivals(e: number, x: number): string[] {
  if (e === 0) return ['x'.repeat(x)];
  if (x === 0) return ['e'.repeat(e)];
  return [...arrivals(e - 1, x).map((a) => `e${a}`), ...arrivals(e, x - 1).map((a) => `x${a}`)];
}

/**
 * A run of the entry-exit join whose inputs' records arrive one at a time in `arrival`, then both ends: each
 * record has gone through the join before the next one comes. Returns the trips in the order they left.
 */
async function tripsInArrival(arrival: string, options: Partial<RunQueryOptions>): Promise<string[]> {
  const released = { e: 0, x: 0 };
  const waiting: { e: (() => void) | null; x: (() => void) | null } = { e: null, x: null };
  async function* input(side: 'e' | 'x', all: Record<string, unknown>[]): AsyncGenerator<Record<string, unknown>[]> {
    for (let i = 0; i <= all.length; i++) {
      while (released[side] <= i) await new Promise<void>((resolve) => (waiting[side] = resolve));
      if (i === all.length) return;
      yield [all[i]!];
    }
  }
  const release = async () => {
    for (const side of [...arrival, 'e', 'x'] as ('e' | 'x')[]) {
      // The engine runs on promises alone (no timers, no I/O here): once the event loop turns, everything the
      // last record set off is done.
      await settle();
      released[side]++;
      const wake = waiting[side];
      waiting[side] = null;
      wake?.();
    }
  };
  const run = runQuery({ ...options, sql: ENTRY_EXIT.sql, inputs: { entries: input('e', ENTRY_EXIT.entries), exits: input('x', ENTRY_EXIT.exits) }, batchSize: 1 });
  const [result] = await Promise.all([run, release()]);
  expect(result.streams.error_stream).toEqual([]);
  return tripsOf(result.streams.trips!);
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
    const sql = ENTRY_EXIT.sql;
    const inputs = () => ({ entries: join(dir, 'entries.ndjson'), exits: join(dir, 'exits.ndjson') });
    const plain = await runQuery({ sql, inputs: inputs(), batchSize: 1 });
    const joinSnapshots: number[] = [];
    const checked = await runQuery({
      sql,
      inputs: inputs(),
      batchSize: 1,
      checkpointEveryRows: 1,
      onSnapshot: (_task, id, state) => {
        if (Array.isArray((state as { meta?: { sides?: unknown } } | null)?.meta?.sides)) joinSnapshots.push(id);
      },
    });
    // The join sends a match when its second row arrives: which file is read first decides the order of
    // trips B and A 1->4 in each run (see the next test), so the rows are compared as a multiset.
    expect(tripsOf(checked.streams.trips!).sort()).toEqual(tripsOf(plain.streams.trips!).sort());
    expect(tripsOf(plain.streams.trips!).sort()).toEqual(ENTRY_EXIT.trips);
    expect(checked.streams.error_stream).toEqual([]);
    expect(plain.streams.error_stream).toEqual([]);
    // Each input keeps its order, so plate A's trips leave in the order of its entries in both runs.
    for (const run of [plain, checked]) expect(tripsOf(run.streams.trips!).filter((t) => t.startsWith('A '))).toEqual(['A 1->4 75min', 'A 3->6 45min']);
    expect(joinSnapshots).toEqual([1, 2, 3, 4]);
  });

  it("gives a join's rows whatever order its two inputs arrive in, with or without barriers; only their order follows the arrival", async () => {
    const all = arrivals(ENTRY_EXIT.entries.length, ENTRY_EXIT.exits.length);
    expect(all).toHaveLength(70);
    for (const arrival of all) {
      // With a checkpoint every record the join aligns after each one.
      for (const every of [0, 1]) {
        const trips = await tripsInArrival(arrival, { checkpointEveryRows: every });
        expect([...trips].sort(), `${arrival}, checkpoint every ${every}`).toEqual(ENTRY_EXIT.trips);
        expect(trips.filter((t) => t.startsWith('A ')), `${arrival}, checkpoint every ${every}`).toEqual(['A 1->4 75min', 'A 3->6 45min']);
      }
    }
    // All entries first: each trip is found by its exit, in exit order (B 08:35, A 09:15). All exits first:
    // by its entry, in entry order (A 08:00, B 08:05). So two runs of the same files need not agree on it.
    expect(await tripsInArrival('eeeexxxx', { checkpointEveryRows: 1 })).toEqual(['B 2->5 30min', 'A 1->4 75min', 'A 3->6 45min']);
    expect(await tripsInArrival('xxxxeeee', {})).toEqual(['A 1->4 75min', 'B 2->5 30min', 'A 3->6 45min']);
  });

  it('restores a join from each checkpoint whichever input arrived first, before the cut and after it', async () => {
    const some = ['eeeexxxx', 'xxxxeeee', 'exexexex', 'xeexxeex'];
    for (const arrival of some) {
      const states = new Map<number, Record<string, unknown>>();
      const delivered: string[] = [];
      const cuts = new Map<number, number>();
      await tripsInArrival(arrival, {
        checkpointEveryRows: 3,
        onRow: (stream, row) => {
          if (stream === 'trips') delivered.push(...tripsOf([row]));
        },
        onSnapshot: (task, id, state) => {
          states.set(id, { ...states.get(id), [task]: structuredClone(state) });
          if (task === 'sink:trips') cuts.set(id, delivered.length);
        },
      });
      // A barrier after the 3rd record and the last one after the 4th: two checkpoints.
      expect([...states.keys()], arrival).toEqual([1, 2]);
      expect([...delivered].sort(), arrival).toEqual(ENTRY_EXIT.trips);
      const merged: Record<string, unknown> = {};
      for (const [id, byTask] of states) {
        for (const [task, state] of Object.entries(byTask)) merged[task] = mergeState(merged[task], state);
        const restoreFrom = structuredClone(Object.fromEntries(Object.entries(merged).map(([task, state]) => [task, restorableState(state)])));
        for (const after of some) {
          const rest = await tripsInArrival(after, { restoreFrom });
          expect([...delivered.slice(0, cuts.get(id)), ...rest].sort(), `${arrival}, restored from ${id}, then ${after}`).toEqual(ENTRY_EXIT.trips);
        }
      }
    }
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

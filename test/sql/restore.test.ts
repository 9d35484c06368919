/**
 * Checkpoints can be taken back: for every case of test/sql/cases and test/sql/conformance without
 * error-stream rows (and with more than 2 input records), a run that
 * checkpoints every 2 records is cut at each checkpoint; the rows emitted before the cut plus the rows of a
 * new run restored from that checkpoint are exactly the rows of an uninterrupted run. Operators with keyed
 * state report only what changed since their previous checkpoint: the state restored from is every
 * checkpoint up to the cut merged in order, as the query store does.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';
import type { RunQueryOptions } from '../../src/sql/index.ts';
import { mergeState, restorableState } from '../../src/sql/runtime/keyed-state.ts';


function caseOptions(dir: string): RunQueryOptions {
  const inputs: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (f.endsWith('.ndjson') && f !== 'expected.ndjson') inputs[f.slice(0, -'.ndjson'.length)] = join(dir, f);
  const extra = existsSync(join(dir, 'options.json')) ? (JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as Partial<RunQueryOptions>) : {};
  return { sql: readFileSync(join(dir, 'query.sql'), 'utf8'), inputs, baseDir: dir, batchSize: 1, now: () => 0, ...extra };
}

const rowText = (stream: string, row: Record<string, unknown>) => JSON.stringify({ _stream: stream, ...row });

const cases = ['cases', 'conformance']
  .flatMap((folder) => readdirSync(join(import.meta.dirname, folder)).sort().map((name) => join(import.meta.dirname, folder, name)))
  .filter((dir) => !readFileSync(join(dir, 'expected.ndjson'), 'utf8').includes('"error_stream"'))
  // A checkpoint comes every 2 records: a case of fewer has none to cut at.
  .filter((dir) => readdirSync(dir).filter((f) => f.endsWith('.ndjson') && f !== 'expected.ndjson').reduce((n, f) => n + readFileSync(join(dir, f), 'utf8').trim().split('\n').length, 0) > 2);

describe('restoring from a checkpoint', () => {
  for (const dir of cases) {
    it(`${basename(dir).replace(/-/g, ' ')}: rows before the cut + rows after restoring = all rows`, async () => {
      const options = caseOptions(dir);
      const full = await runQuery(options);
      const all = Object.entries(full.streams).flatMap(([s, rows]) => rows.map((r) => rowText(s, r))).sort();

      // One run that records, per checkpoint, every task's state and the rows each sink had delivered.
      const states = new Map<number, Record<string, unknown>>();
      const delivered = new Map<string, string[]>();
      const cuts = new Map<number, Map<string, number>>();
      await runQuery({
        ...options,
        checkpointEveryRows: 2,
        onRow: (stream, row) => {
          const list = delivered.get(stream) ?? [];
          list.push(rowText(stream, row));
          delivered.set(stream, list);
        },
        onSnapshot: (task, id, state) => {
          const byTask = states.get(id) ?? {};
          byTask[task] = structuredClone(state);
          states.set(id, byTask);
          if (task.startsWith('sink:')) {
            const stream = task.slice('sink:'.length);
            const cut = cuts.get(id) ?? new Map<string, number>();
            cut.set(stream, delivered.get(stream)?.length ?? 0);
            cuts.set(id, cut);
          }
        },
      });
      expect(states.size).toBeGreaterThan(0);
      const merged: Record<string, unknown> = {};
      for (const [id, byTask] of [...states].sort(([a], [b]) => a - b)) {
        for (const [task, state] of Object.entries(byTask)) merged[task] = mergeState(merged[task], state);
        const restoreFrom = structuredClone(Object.fromEntries(Object.entries(merged).map(([task, state]) => [task, restorableState(state)])));
        const cut = cuts.get(id)!;
        const before = [...cut].flatMap(([stream, n]) => (delivered.get(stream) ?? []).slice(0, n));
        const restored = await runQuery({ ...options, restoreFrom });
        const after = Object.entries(restored.streams).flatMap(([s, rows]) => rows.map((r) => rowText(s, r)));
        expect([...before, ...after].sort(), `restored from checkpoint ${id}`).toEqual(all);
      }
    });
  }
});

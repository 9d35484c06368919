import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { CompiledLag } from '../expr/lag.ts';
import type { Row } from '../expr/types.ts';
import type { KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState, mergeState, restorableState } from '../runtime/keyed-state.ts';
import type { Output } from '../runtime/operator.ts';
import { EventTimeOverAggregateOperator } from './event-time-over-aggregate.ts';

/** COUNT(*) and SUM of column 2 over the last 10 s of a key (column 0) by time (column 1), and LAG(column 2). */
const COUNT: CompiledAggregate = {
  name: 'COUNT',
  type: 'BIGINT',
  text: 'COUNT(*)',
  create: () => ({ v: null, n: 0 }),
  add: (acc) => void acc.n++,
  merge: (a, b) => void (a.n += b.n),
  result: (acc) => acc.n,
};
const SUM: CompiledAggregate = {
  name: 'SUM',
  type: 'BIGINT',
  text: 'SUM(v)',
  create: () => ({ v: 0, n: 0 }),
  add: (acc, row) => void (acc.v = (acc.v as number) + (row[2] as number)),
  merge: (a, b) => void (a.v = (a.v as number) + (b.v as number)),
  result: (acc) => acc.v,
};
const LAG: CompiledLag = { text: 'LAG(v)', type: 'BIGINT', offset: 1, ignoreNulls: false, value: (r) => r[2]!, fallback: () => null };

function overOperator() {
  const op = new EventTimeOverAggregateOperator(
    'EventTimeOverAggregate',
    (r) => r[1]!,
    [{ partitionFns: [(r) => r[0]!], range: 10_000, rows: null, includesOldestBound: true, aggs: [COUNT, SUM], lags: [LAG] }],
    0,
  );
  const emitted: string[] = [];
  const out: Output = { emit: (r) => emitted.push(JSON.stringify(r)), error: (name, _m, row) => emitted.push(`${name} ${JSON.stringify(row)}`) };
  return { op, out, emitted };
}

/** Rows [key, time, value]: `keys` keys, one row each per second from `from` for `seconds`. */
function rows(keys: number, from: number, seconds: number): Row[] {
  const out: Row[] = [];
  for (let s = 0; s < seconds; s++) for (let k = 0; k < keys; k++) out.push([`k${k}`, (from + s) * 1000 + k, k * 10 + s]);
  return out;
}

const FIXTURE = join(import.meta.dirname, '../../../test/sql/checkpoints/over-whole-state.json');

/** The state a restore gets after `checkpoints`, merged in order as the query store does (a copy, as if read back). */
function merged(checkpoints: readonly unknown[]): unknown {
  let state: unknown = null;
  for (const c of checkpoints) state = mergeState(state, structuredClone(c));
  return structuredClone(restorableState(state));
}

const entryKeys = (state: KeyedState, section: string) =>
  [...(state.sections.find((s) => s.name === section)?.set ?? [])].map(([k]) => k).sort();

describe('EventTimeOverAggregateOperator checkpoints', () => {
  it('holds only the partitions rows joined since the previous checkpoint, and the rows held or released since', () => {
    const { op, out } = overOperator();
    op.processBatch(rows(1000, 0, 3), 0, out);
    op.handleWatermark(2000, out);
    const first = op.handleCheckpoint();
    expect(entryKeys(first, 'rows:0')).toHaveLength(1000);
    expect(entryKeys(first, 'lag:0:0')).toHaveLength(1000);
    expect(entryKeys(first, 'held')).toHaveLength(1000); // the third second's rows wait for the watermark

    // Three keys of a thousand get rows; the watermark then releases the rows held at the first checkpoint.
    op.processBatch([['k7', 3100, 1], ['k42', 3200, 2], ['k500', 3300, 3], ['k7', 3400, 4]], 0, out);
    op.handleWatermark(3500, out);
    const second = op.handleCheckpoint();
    // Every key's row of the third second left, so every partition changed: a fresh start shows a smaller set.
    expect(entryKeys(second, 'rows:0')).toHaveLength(1000);
    expect(second.sections.find((s) => s.name === 'held')?.removed).toHaveLength(1000);

    op.processBatch([['k7', 3600, 5], ['k42', 3700, 6], ['k500', 3800, 7], ['k7', 3900, 8]], 0, out);
    op.handleWatermark(4000, out);
    const third = op.handleCheckpoint();
    expect(entryKeys(third, 'rows:0')).toEqual(['sk42', 'sk500', 'sk7']);
    expect(entryKeys(third, 'lag:0:0')).toEqual(['sk42', 'sk500', 'sk7']);
    expect(third.sections.find((s) => s.name === 'held')).toBeUndefined(); // held and released in between
    const k7 = [...third.sections.find((s) => s.name === 'rows:0')!.set].find(([k]) => k === 'sk7')![1] as { times: number[] };
    expect(k7.times).toEqual([7, 1007, 2007, 3100, 3400, 3600, 3900]);
    expect(op.handleCheckpoint().sections).toEqual([]);
  });

  it('restored from its checkpoints merged, gives the rows of a run never cut', () => {
    const input = rows(50, 0, 30);
    const batches = [input.slice(0, 400), input.slice(400, 900), input.slice(900)];
    const whole = overOperator();
    for (const [i, b] of batches.entries()) {
      whole.op.processBatch(b, 0, whole.out);
      whole.op.handleWatermark((i + 1) * 9000, whole.out);
    }
    whole.op.handleWatermark(Number.POSITIVE_INFINITY, whole.out);

    for (let cut = 1; cut <= batches.length; cut++) {
      const before = overOperator();
      const checkpoints: unknown[] = [];
      for (const [i, b] of batches.slice(0, cut).entries()) {
        before.op.processBatch(b, 0, before.out);
        before.op.handleWatermark((i + 1) * 9000, before.out);
        checkpoints.push(before.op.handleCheckpoint());
      }
      const after = overOperator();
      after.op.restoreState(merged(checkpoints));
      for (const [i, b] of batches.slice(cut).entries()) {
        after.op.processBatch(b, 0, after.out);
        after.op.handleWatermark((cut + i + 1) * 9000, after.out);
      }
      after.op.handleWatermark(Number.POSITIVE_INFINITY, after.out);
      expect([...before.emitted, ...after.emitted]).toEqual(whole.emitted);
    }
  });

  it('restores a checkpoint written whole (before incremental checkpoints), and reports all of it at the next one', () => {
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { emitted: string[]; state: unknown };
    expect(isKeyedState(fixture.state)).toBe(false);
    const whole = overOperator();
    whole.op.processBatch(rows(5, 0, 12), 0, whole.out);
    whole.op.handleWatermark(8000, whole.out);
    whole.op.processBatch(rows(5, 12, 6), 0, whole.out);
    whole.op.handleWatermark(Number.POSITIVE_INFINITY, whole.out);
    expect(fixture.emitted).toEqual(whole.emitted.slice(0, fixture.emitted.length));

    const after = overOperator();
    after.op.restoreState(fixture.state);
    // The store holds that checkpoint as it was written: the next one, incremental, must hold every part.
    const next = after.op.handleCheckpoint();
    expect(entryKeys(next, 'rows:0')).toEqual(['sk0', 'sk1', 'sk2', 'sk3', 'sk4']);
    expect(entryKeys(next, 'lag:0:0')).toEqual(['sk0', 'sk1', 'sk2', 'sk3', 'sk4']);
    expect(entryKeys(next, 'held')).toHaveLength(20);
    // Cut again after that checkpoint: the chain fixture + delta restores too.
    const again = overOperator();
    again.op.restoreState(merged([fixture.state, next]));
    for (const o of [after, again]) {
      o.op.processBatch(rows(5, 12, 6), 0, o.out);
      o.op.handleWatermark(Number.POSITIVE_INFINITY, o.out);
      expect([...fixture.emitted, ...o.emitted]).toEqual(whole.emitted);
    }
  });
});

describe('EventTimeOverAggregateOperator restore', () => {
  it('refuses a checkpoint with a part its windows do not have (written by another query)', () => {
    const withLag = overOperator();
    withLag.op.processBatch(rows(3, 0, 2), 0, withLag.out);
    withLag.op.handleWatermark(5000, withLag.out);
    const state = merged([withLag.op.handleCheckpoint()]);
    const noLag = new EventTimeOverAggregateOperator('EventTimeOverAggregate', (r) => r[1]!, [{ partitionFns: [(r) => r[0]!], range: 10_000, rows: null, includesOldestBound: true, aggs: [COUNT], lags: [] }], 0);
    expect(() => noLag.restoreState(state)).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
  });
});

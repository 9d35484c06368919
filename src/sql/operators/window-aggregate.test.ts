import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import type { Row } from '../expr/types.ts';
import { mergeState, restorableState } from '../runtime/keyed-state.ts';
import type { Output } from '../runtime/operator.ts';
import type { WindowAssigner } from './window-aggregate.ts';
import { WindowAggregateOperator, cumulating, hopping, tumbling } from './window-aggregate.ts';

/** COUNT(*) and MAX of the third column, per window and key: rows are [key, time, value]; exact merges when `exact`. */
function countAndMax(exact: boolean): CompiledAggregate[] {
  return [
    { name: 'COUNT', type: 'BIGINT', text: 'COUNT(*)', create: () => ({ v: null, n: 0 }), add: (acc) => void acc.n++, merge: (a, b) => void (a.n += b.n), result: (acc) => acc.n, exactMerge: exact },
    {
      name: 'MAX',
      type: 'BIGINT',
      text: 'MAX(v)',
      create: () => ({ v: null, n: 0 }),
      add: (acc, row) => {
        if (acc.v === null || (row[2] as number) > (acc.v as number)) acc.v = row[2]!;
      },
      merge: (a, b) => {
        if (b.v !== null && (a.v === null || (b.v as number) > (a.v as number))) a.v = b.v;
      },
      result: (acc) => acc.v,
      exactMerge: exact,
    },
  ];
}

/** COUNT(*) per window and key; rows are [key, time], results [key, count, window_start, window_end, ...]. */
function countPerWindow(assign: WindowAssigner) {
  const count: CompiledAggregate = {
    name: 'COUNT',
    type: 'BIGINT',
    text: 'COUNT(*)',
    create: (): Acc => ({ v: 0, n: 0 }),
    add: (acc) => {
      acc.n++;
    },
    merge: (into, from) => {
      into.n += from.n;
    },
    result: (acc) => acc.n,
  };
  const op = new WindowAggregateOperator('WindowAggregate', assign, (r) => r[1]!, [(r) => r[0]!], [count], 0);
  const emitted: Row[] = [];
  const errors: { name: string; row: unknown }[] = [];
  const out: Output = { emit: (r) => emitted.push(r), error: (name, _m, row) => errors.push({ name, row }) };
  const windows = () => emitted.map((r) => `${String(r[0])} [${String(r[2])},${String(r[3])}) ${String(r[1])}`).sort();
  return { op, out, windows, errors };
}

describe('WindowAggregateOperator', () => {
  it('places a row of the same slide as the previous one only in the windows still open after a watermark', () => {
    const { op, out, windows, errors } = countPerWindow(hopping(2000, 10_000));
    op.processBatch([['a', 14_100], ['a', 9500]], 0, out);
    // Closes [0,10000), [2000,12000) and [4000,14000): the next row, of 9500's slide, counts in the others only.
    op.handleWatermark(14_100, out);
    op.processBatch([['a', 9600]], 0, out);
    op.handleWatermark(Number.POSITIVE_INFINITY, out);
    expect(windows()).toEqual(
      [
        'a [0,10000) 1',
        'a [2000,12000) 1',
        'a [4000,14000) 1',
        'a [6000,16000) 3',
        'a [8000,18000) 3',
        'a [10000,20000) 1',
        'a [12000,22000) 1',
        'a [14000,24000) 1',
      ].sort(),
    );
    expect(errors).toEqual([]);
  });

  it('sends a row to the error stream when every window of its slide closed, also after an earlier row of that slide was placed', () => {
    const { op, out, windows, errors } = countPerWindow(tumbling(10_000));
    op.processBatch([['a', 1000], ['b', 2000]], 0, out);
    op.handleWatermark(10_000, out);
    op.processBatch([['a', 3000], ['c', 12_000]], 0, out);
    op.handleWatermark(Number.POSITIVE_INFINITY, out);
    expect(windows()).toEqual(['a [0,10000) 1', 'b [0,10000) 1', 'c [10000,20000) 1']);
    expect(errors).toEqual([{ name: 'LATE_ROW', row: ['a', 3000] }]);
  });

  it('gives the windows of a cumulating window, and of a hop whose size is not a multiple of its slide, row by row', () => {
    const cumulate = countPerWindow(cumulating(2000, 6000));
    cumulate.op.processBatch([['a', 1000], ['a', 1999], ['a', 2000], ['a', 5999], ['a', 6000]], 0, cumulate.out);
    cumulate.op.handleWatermark(Number.POSITIVE_INFINITY, cumulate.out);
    expect(cumulate.windows()).toEqual(['a [0,2000) 2', 'a [0,4000) 3', 'a [0,6000) 4', 'a [6000,8000) 1', 'a [6000,10000) 1', 'a [6000,12000) 1'].sort());
    // Windows of 3 s every 2 s: times 0 to 999 of [0, 2000) are in [-2000, 1000) too, times 1000 to 1999 are not.
    const hop = countPerWindow(hopping(2000, 3000));
    hop.op.processBatch([['a', 500], ['a', 1500]], 0, hop.out);
    hop.op.handleWatermark(Number.POSITIVE_INFINITY, hop.out);
    expect(hop.windows()).toEqual(['a [-2000,1000) 1', 'a [0,3000) 2']);
  });

  // Forty keys stay open all along; drifting keys (each one seen for about 6 s of event time) come and go, so
  // a key's slot is freed with its last pane and taken by a new key while older panes are still open.
  it.each([
    ['forty keys', (rnd: () => number) => `k${Math.floor(rnd() * 40)}`],
    ['keys that come and go', (rnd: () => number, now: number) => `d${Math.floor(now / 3000) + Math.floor(rnd() * 2)}-${Math.floor(rnd() * 30)}`],
  ])('combines a hop from panes to the same windows and results as a table per window, with rows out of order, late rows and checkpoints (%s)', (_name, keyOf) => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const rows: Row[] = [];
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += Math.floor(rnd() * 5);
      const time = rnd() < 0.05 ? now - Math.floor(rnd() * 16_000) : now;
      rows.push([keyOf(rnd, time), time, Math.floor(rnd() * 1000)]);
    }
    const run = (exact: boolean) => {
      const make = () => new WindowAggregateOperator('HoppingWindowAggregate', hopping(2000, 10_000), (r) => r[1]!, [(r) => r[0]!], countAndMax(exact), 500);
      let op = make();
      const batches: string[][] = [];
      const errors: string[] = [];
      let batch: Row[] = [];
      const out: Output = { emit: (r) => batch.push(r), error: (name, _m, row) => errors.push(`${name} ${JSON.stringify(row)}`) };
      let merged: unknown = null;
      let watermark = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < rows.length; i += 100) {
        op.processBatch(rows.slice(i, i + 100), 0, out);
        // Watermarks only advance (the runtime gives an operator no other).
        watermark = Math.max(watermark, (rows[i + 99]![1] as number) - 3000);
        op.handleWatermark(watermark, out);
        batches.push(batch.map((r) => JSON.stringify(r)).sort());
        batch = [];
        merged = mergeState(merged, structuredClone(op.handleCheckpoint()));
        if (i % 3000 === 0) {
          // A restart: the next operator continues from the checkpoints so far.
          op = make();
          op.restoreState(structuredClone(restorableState(merged)));
        }
      }
      op.handleWatermark(Number.POSITIVE_INFINITY, out);
      batches.push(batch.map((r) => JSON.stringify(r)).sort());
      return { batches, errors, state: merged };
    };
    const windows = run(false);
    const panes = run(true);
    expect((panes.state as { meta: { panes?: unknown } }).meta.panes).toBeDefined();
    expect((windows.state as { meta: { panes?: unknown } }).meta.panes).toBeUndefined();
    expect(panes.errors.length).toBeGreaterThan(0);
    expect(panes.errors).toEqual(windows.errors);
    expect(panes.batches.flat().length).toBeGreaterThan(1000);
    expect(panes.batches).toEqual(windows.batches);
  });

  it('continues a checkpoint of panes written when each pane held a group table', () => {
    // Taken by the code of 7 Dec 2026 (4a6b7a4): rows 0 to 199 of the rows below in batches of 50, a watermark
    // 3 s behind the last row of each batch, allowed lateness 0.5 s; its emitted rows and its checkpoint
    // (v8-serialized, as the query store keeps them).
    const saved = JSON.parse(readFileSync(join(import.meta.dirname, '../../../test/sql/checkpoints/hop-panes-count-max.json'), 'utf8')) as { rowsTaken: number; emitted: string[]; state: string };
    const rows: Row[] = [];
    for (let i = 0; i < 400; i++) rows.push([`k${(i * 7) % 13}`, i * 37 - (i % 9 === 0 ? 2500 : 0), (i * 131) % 1000]);
    const make = (exact: boolean) => new WindowAggregateOperator('HoppingWindowAggregate', hopping(2000, 10_000), (r) => r[1]!, [(r) => r[0]!], countAndMax(exact), 500);
    const drive = (op: WindowAggregateOperator, from: number, watermark: number) => {
      const emitted: string[] = [];
      const out: Output = { emit: (r) => emitted.push(JSON.stringify(r)), error: () => {} };
      for (let i = from; i < rows.length; i += 50) {
        op.processBatch(rows.slice(i, i + 50), 0, out);
        watermark = Math.max(watermark, (rows[i + 49]![1] as number) - 3000);
        op.handleWatermark(watermark, out);
      }
      op.handleWatermark(Number.POSITIVE_INFINITY, out);
      return emitted;
    };
    const state = deserialize(Buffer.from(saved.state, 'base64')) as { meta: { watermark: number; panes?: number[] } };
    expect(state.meta.panes?.length).toBeGreaterThan(0);
    const restored = make(true);
    restored.restoreState(state);
    const after = drive(restored, saved.rowsTaken, state.meta.watermark);
    // The reference: every row through a table per window, without a restart.
    const whole = drive(make(false), 0, Number.NEGATIVE_INFINITY);
    expect(saved.emitted.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect([...saved.emitted, ...after].sort()).toEqual(whole.sort());
  });

  it('continues a checkpoint with a table per window with windows, and refuses panes where the query has none', () => {
    const make = (exact: boolean) => new WindowAggregateOperator('HoppingWindowAggregate', hopping(2000, 10_000), (r) => r[1]!, [(r) => r[0]!], countAndMax(exact), 0);
    const emitted: Row[] = [];
    const out: Output = { emit: (r) => emitted.push(r), error: () => {} };
    // Written by the table per window (as every version before panes did), restored where panes apply.
    const before = make(false);
    before.processBatch([['a', 1000, 5], ['a', 3000, 7]], 0, out);
    const after = make(true);
    after.restoreState(structuredClone(restorableState(mergeState(null, before.handleCheckpoint()))));
    after.processBatch([['a', 3500, 9]], 0, out);
    after.handleWatermark(Number.POSITIVE_INFINITY, out);
    expect(emitted.map((r) => r.slice(0, 4)).sort((x, y) => (x[2] as number) - (y[2] as number))).toEqual([
      ['a', 1, 5, -8000],
      ['a', 3, 9, -6000],
      ['a', 3, 9, -4000],
      ['a', 3, 9, -2000],
      ['a', 3, 9, 0],
      ['a', 2, 9, 2000],
    ]);
    expect((after.handleCheckpoint().meta as { panes?: unknown }).panes).toBeUndefined();
    // Panes given to an operator whose aggregates cannot be combined.
    const paned = make(true);
    paned.processBatch([['a', 1000, 5]], 0, out);
    const state = structuredClone(restorableState(mergeState(null, paned.handleCheckpoint())));
    expect(() => make(false).restoreState(state)).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
  });
});

import { describe, expect, it } from 'vitest';
import type { Row } from '../expr/types.ts';
import type { Output } from '../runtime/operator.ts';
import { IntervalJoinOperator } from './interval-join.ts';
import type { IntervalJoinSide, OuterJoin } from './interval-join.ts';

/** Rows are [key, time]; joined rows [lk, lt, rk, rt] must satisfy rt in [lt - lower, lt + upper]. */
function join(lower: number, upper: number, lags: [number, number], outer: OuterJoin | null = null) {
  const side = (lag: number): IntervalJoinSide => ({ keyFns: [(r) => r[0]!], timeFn: (r) => r[1]!, lag });
  const op = new IntervalJoinOperator('IntervalJoin', [side(lags[0]), side(lags[1])], lower, upper, (r) => (r[3] as number) >= (r[1] as number) - lower && (r[3] as number) <= (r[1] as number) + upper, outer);
  const emitted: Row[] = [];
  const errors: { name: string; row: unknown }[] = [];
  const out: Output = { emit: (r) => emitted.push(r), error: (name, _m, row) => errors.push({ name, row }) };
  return { op, out, emitted, errors };
}

describe('IntervalJoinOperator', () => {
  it('keeps a row until the other input, lagging behind the watermark, can no longer match it', () => {
    // The right input is a windowed aggregate's output: it may still deliver times 2000 behind the watermark.
    const { op, out, emitted, errors } = join(0, 0, [0, 2000]);
    op.processBatch([['a', 10_000]], 0, out);
    op.handleWatermark(11_500, out);
    op.processBatch([['a', 10_000]], 1, out);
    op.handleWatermark(12_001, out);
    op.processBatch([['a', 10_000]], 1, out);
    expect(emitted).toEqual([['a', 10_000, 'a', 10_000]]);
    expect(errors).toEqual([{ name: 'LATE_ROW', row: ['a', 10_000] }]);
  });

  it('sends a row behind the watermark to the error stream instead of losing its matches', () => {
    const { op, out, emitted, errors } = join(0, 60_000, [0, 0]);
    op.processBatch([['a', 1000], ['b', 1000]], 0, out);
    op.handleWatermark(5000, out);
    // Within the bound of both buffered rows, but behind the watermark: the left rows could be gone already.
    op.processBatch([['a', 4999], ['b', 5000]], 1, out);
    expect(emitted).toEqual([['b', 1000, 'b', 5000]]);
    expect(errors).toEqual([{ name: 'LATE_ROW', row: ['a', 4999] }]);
  });

  it('evicts from the old end whatever the arrival order, and matches the rest', () => {
    const { op, out, emitted } = join(10, 10, [0, 0]);
    const times = [50, 20, 40, 10, 30, 60, 25];
    op.processBatch(times.map((t) => ['k', t]), 0, out);
    op.handleWatermark(40, out); // left rows before 40 - 10 = 30 go
    op.processBatch([['k', 40]], 1, out);
    expect(emitted.map((r) => r[1]).sort((a, b) => (a as number) - (b as number))).toEqual([30, 40, 50]);
    const state = op.handleCheckpoint() as { sides: Row[][] };
    expect(state.sides[0]!.map((r) => r[1]).sort((a, b) => (a as number) - (b as number))).toEqual([30, 40, 50, 60]);
  });

  it('continues from a checkpoint with the same buffered rows and watermark', () => {
    const first = join(0, 100, [0, 0]);
    first.op.processBatch([['a', 100], ['a', 150]], 0, first.out);
    first.op.handleWatermark(120, first.out);
    const state = structuredClone(first.op.handleCheckpoint());
    const second = join(0, 100, [0, 0]);
    second.op.restoreState(state);
    second.op.processBatch([['a', 119], ['a', 200]], 1, second.out);
    expect(second.emitted).toEqual([
      ['a', 100, 'a', 200],
      ['a', 150, 'a', 200],
    ]);
    expect(second.errors.map((e) => e.name)).toEqual(['LATE_ROW']);
  });

  it('a FULL join emits each unmatched row once, padded, when no match can come any more, across a checkpoint', () => {
    const full: OuterJoin = { mode: 'outer', preserve: [true, true], widths: [2, 2], rowtimeAt: [-1, -1] };
    const first = join(0, 0, [0, 0], full);
    first.op.processBatch([['a', 100], ['b', 100], ['c', 300]], 0, first.out);
    first.op.processBatch([['a', 100], ['d', 100]], 1, first.out);
    const second = join(0, 0, [0, 0], full);
    second.op.restoreState(structuredClone(first.op.handleCheckpoint()));
    second.op.handleWatermark(101, second.out);
    second.op.processBatch([['c', 300]], 1, second.out);
    second.op.handleWatermark(Number.POSITIVE_INFINITY, second.out);
    expect(first.emitted).toEqual([['a', 100, 'a', 100]]);
    expect(second.emitted).toEqual([
      ['b', 100, null, null],
      [null, null, 'd', 100],
      ['c', 300, 'c', 300],
    ]);
  });
});

import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Random } from '../../core/random.ts';
import type { Row } from '../expr/types.ts';
import type { KeyedState } from '../runtime/keyed-state.ts';
import { mergeState, restorableState } from '../runtime/keyed-state.ts';
import type { Output } from '../runtime/operator.ts';
import { IntervalJoinOperator } from './interval-join.ts';
import type { IntervalJoinSide, OuterJoin } from './interval-join.ts';

/**
 * Rows are [key, time, ...] of `width` values; joined rows [lk, lt, ..., rk, rt, ...] must satisfy rt in
 * [lt - lower, lt + upper].
 */
function join(lower: number, upper: number, lags: [number, number], outer: OuterJoin | null = null, width = 2) {
  const side = (lag: number): IntervalJoinSide => ({ keyFns: [(r) => r[0]!], timeFn: (r) => r[1]!, lag });
  const rt = width + 1;
  const op = new IntervalJoinOperator('IntervalJoin', [side(lags[0]), side(lags[1])], lower, upper, (r) => (r[rt] as number) >= (r[1] as number) - lower && (r[rt] as number) <= (r[1] as number) + upper, outer);
  const emitted: Row[] = [];
  const errors: { name: string; row: unknown }[] = [];
  const out: Output = { emit: (r) => emitted.push(r), error: (name, _m, row) => errors.push({ name, row }) };
  return { op, out, emitted, errors };
}

/** The state a restore gets after `checkpoints`, merged in order as the query store does (a copy, as if read back). */
function merged(checkpoints: readonly unknown[]): unknown {
  let state: unknown = null;
  for (const c of checkpoints) state = mergeState(state, structuredClone(c));
  return structuredClone(restorableState(state));
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
    // Restored, the left rows 30 to 60 are there and those before 30 are gone: right rows at 40 and 70 reach 30 to 80.
    const restored = join(10, 10, [0, 0]);
    restored.op.restoreState(merged([op.handleCheckpoint()]));
    restored.op.processBatch([['k', 40], ['k', 70]], 1, restored.out);
    expect(restored.emitted.map((r) => r[1])).toEqual([30, 40, 50, 60]);
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

const section = (state: KeyedState, name: string) => state.sections.find((s) => s.name === name);

describe('IntervalJoinOperator checkpoints', () => {
  it('hold only the chunks of rows added to, matched in or dropped since the previous checkpoint', () => {
    const left = { mode: 'outer', preserve: [true, false], widths: [3, 3], rowtimeAt: [-1, -1] } as const;
    const { op, out } = join(0, 1000, [0, 0], left, 3);
    // 10,000 left rows of 10,000 keys, one a millisecond: three chunks (4096 rows each at most).
    op.processBatch(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i, 'x'.repeat(20)]), 0, out);
    const first = op.handleCheckpoint();
    expect([...section(first, 'chunks:0')!.set].length).toBe(3);
    const firstBytes = serialize(first).length;

    // Ten more rows go into the last chunk; a right row matches a row of the first chunk.
    op.processBatch(Array.from({ length: 10 }, (_, i) => [`n${i}`, 10_000 + i, 'y']), 0, out);
    op.processBatch([['k5', 500, 'z']], 1, out);
    const second = op.handleCheckpoint();
    expect([...section(second, 'chunks:0')!.set].map(([id]) => id).sort()).toEqual([0, 2]);
    expect([...section(second, 'chunks:1')!.set].length).toBe(1);
    expect(serialize(second).length).toBeLessThan(firstBytes);

    // Nothing new: nothing but the watermark and limits.
    expect(op.handleCheckpoint().sections).toEqual([]);
    // The watermark drops the first chunk (rows 0 to 4095) whole.
    op.handleWatermark(5200, out);
    const third = op.handleCheckpoint();
    expect(section(third, 'chunks:0')).toEqual({ name: 'chunks:0', set: [], removed: [0] });
    const fourth = op.handleCheckpoint();
    expect(serialize(fourth).length).toBeLessThan(firstBytes / 100);
  });

  it('restored from its checkpoints merged, at any of them, gives the rows of a run never cut: inner, outer, semi- and anti-joins, rows in chunks and by key', () => {
    const modes: (OuterJoin | null)[] = [
      null,
      { mode: 'outer', preserve: [true, true], widths: [3, 3], rowtimeAt: [1, 1] },
      { mode: 'semi', preserve: [true, false], widths: [3, 3], rowtimeAt: [-1, -1] },
      { mode: 'anti', preserve: [true, false], widths: [3, 3], rowtimeAt: [-1, -1] },
    ];
    const layouts = new Set<string>();
    for (const [mi, outer] of modes.entries()) {
      // Batches of rows [key, time, n]: one side rare, so it stays in chunks while the side it looks up by
      // every row moves to keys. Times are all distinct, some out of order, a few late.
      const generator = new Random(100 + mi);
      const rnd = () => generator.next();
      const batches: { input: number; rows: Row[]; watermark: number }[] = [];
      let now = 0;
      let n = 0;
      for (let b = 0; b < 30; b++) {
        const input = rnd() < 0.3 ? 1 : 0;
        const rows: Row[] = [];
        for (let i = 0; i < (input === 1 ? 100 : 500); i++) {
          now += 1 + Math.floor(rnd() * 3);
          const back = rnd() < 0.1 ? Math.floor(rnd() * 300) : 0;
          rows.push([`k${Math.floor(rnd() * 200)}`, now - back + n * 1e-6, n++]);
        }
        batches.push({ input, rows, watermark: now - 200 });
      }
      const run = (o: ReturnType<typeof join>, from: number, to: number, checkpoints: unknown[] | null) => {
        for (const { input, rows, watermark } of batches.slice(from, to)) {
          o.op.processBatch(rows, input, o.out);
          o.op.handleWatermark(watermark, o.out);
          if (checkpoints !== null) {
            const c = o.op.handleCheckpoint() as KeyedState;
            for (const s of c.sections) layouts.add(String(s.name).replace(/\d$/, ''));
            checkpoints.push(c);
          }
        }
      };
      const whole = join(5000, 50, [0, 0], outer, 3);
      run(whole, 0, batches.length, null);
      whole.op.handleWatermark(Number.POSITIVE_INFINITY, whole.out);
      expect(whole.emitted.length).toBeGreaterThan(100);

      for (let cut = 2; cut < batches.length; cut += 9) {
        const before = join(5000, 50, [0, 0], outer, 3);
        const checkpoints: unknown[] = [];
        run(before, 0, cut, checkpoints);
        const after = join(5000, 50, [0, 0], outer, 3);
        after.op.restoreState(merged(checkpoints));
        run(after, cut, batches.length, []);
        after.op.handleWatermark(Number.POSITIVE_INFINITY, after.out);
        // As text: a deep comparison of some 10,000 rows takes seconds.
        expect(JSON.stringify([...before.emitted, ...after.emitted])).toBe(JSON.stringify(whole.emitted));
        expect(JSON.stringify([...before.errors, ...after.errors])).toBe(JSON.stringify(whole.errors));
      }
    }
    // Both layouts were checkpointed and restored.
    expect([...layouts].sort()).toEqual(['chunks:', 'keys:']);
  });

  it('restores a checkpoint written whole (before incremental checkpoints), and reports all of it at the next one', () => {
    // The layout checkpoints had before: each side's rows, the watermark, each row's match.
    const whole = { watermark: 120, sides: [[['a', 100], ['a', 150]], [['b', 90]]], matched: [[false, true], [false]] };
    const full: OuterJoin = { mode: 'outer', preserve: [true, true], widths: [2, 2], rowtimeAt: [-1, -1] };
    const after = join(0, 100, [0, 0], full);
    after.op.restoreState(structuredClone(whole));
    const next = after.op.handleCheckpoint();
    // The store holds that checkpoint as it was written: the next one must hold every row again.
    expect([...section(next, 'chunks:0')!.set].length).toBe(1);
    expect([...section(next, 'chunks:1')!.set].length).toBe(1);
    const again = join(0, 100, [0, 0], full);
    again.op.restoreState(merged([whole, next]));
    for (const o of [after, again]) {
      o.op.processBatch([['a', 200]], 1, o.out);
      o.op.handleWatermark(Number.POSITIVE_INFINITY, o.out);
      expect(o.emitted).toEqual([
        ['a', 100, 'a', 200],
        ['a', 150, 'a', 200],
        [null, null, 'b', 90],
      ]);
    }
  });

  it('refuses a checkpoint holding a part a join does not have, or rows in no layout of its own, as STATE_CORRUPT', () => {
    const { op, out } = join(0, 100, [0, 0]);
    op.processBatch([['a', 100]], 0, out);
    const good = op.handleCheckpoint();
    const stray = { ...good, sections: [...good.sections, { name: 'rows:0', set: [['sa', {}]], removed: [] }] };
    expect(() => join(0, 100, [0, 0]).op.restoreState(merged([stray]))).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
    const bad = { ...good, sections: [{ name: 'chunks:0', set: [[0, { width: 2, times: [100], keys: null, columns: [null, null], matched: null }]], removed: [] }] };
    expect(() => join(0, 100, [0, 0]).op.restoreState(merged([bad]))).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
    expect(() => join(0, 100, [0, 0]).op.restoreState(merged([{ ...good, meta: { watermark: 0 } }]))).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
  });
});

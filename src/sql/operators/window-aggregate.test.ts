import { describe, expect, it } from 'vitest';
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import type { Row } from '../expr/types.ts';
import type { Output } from '../runtime/operator.ts';
import type { WindowAssigner } from './window-aggregate.ts';
import { WindowAggregateOperator, cumulating, hopping, tumbling } from './window-aggregate.ts';

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
});

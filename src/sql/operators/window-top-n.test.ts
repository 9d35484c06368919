import { describe, expect, it } from 'vitest';
import type { Row } from '../expr/types.ts';
import type { Output } from '../runtime/operator.ts';
import { WindowTopNOperator } from './window-top-n.ts';

describe('WindowTopNOperator', () => {
  it('ranks each partition apart whether its rows come in runs or interleaved, and keeps 1 and "1" apart', () => {
    // Rows are [window_end, partition, value]; the best value of each partition and window comes out first.
    const op = new WindowTopNOperator('WindowTopN', (r) => r[0]!, [(r) => r[0]!, (r) => r[1]!], [{ fn: (r) => r[2]!, descending: true }], 1);
    const emitted: Row[] = [];
    const out: Output = { emit: (r) => emitted.push(r), error: () => {} };
    op.processBatch(
      [
        [1000, 'a', 5],
        [1000, 'a', 7],
        [1000, 'b', 9],
        [1000, 'a', 6],
        [1000, 1, 3],
        [1000, '1', 4],
        [1000, 1, 2],
        [2000, 'a', 1],
        [2000, 'a', 8],
      ],
      0,
      out,
    );
    op.handleWatermark(Number.POSITIVE_INFINITY, out);
    expect(emitted.map((r) => JSON.stringify(r)).sort()).toEqual(
      ['[1000,"a",7,1]', '[1000,"b",9,1]', '[1000,1,3,1]', '[1000,"1",4,1]', '[2000,"a",8,1]'].sort(),
    );
  });
});

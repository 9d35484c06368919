import { describe, expect, it } from 'vitest';
import type { Row } from '../expr/types.ts';
import type { KeyedState } from '../runtime/keyed-state.ts';
import type { Output } from '../runtime/operator.ts';
import { UpdatingTopNOperator } from './updating-top-n.ts';

// Rows are [partition, amount]; the largest amounts rank first.
const topByAmount = (limit: number) =>
  new UpdatingTopNOperator('UpdatingTopN', [(r) => r[0]!], [{ fn: (r) => r[1]!, descending: true }], limit, { enteringOnly: false, newestWinsTies: false });

describe('UpdatingTopNOperator', () => {
  it('keeps N rows per partition however many come, and checkpoints only the partitions that changed', () => {
    const op = topByAmount(3);
    const emitted: Row[] = [];
    const out: Output = { emit: (r) => emitted.push(r), error: () => {} };
    op.processBatch(Array.from({ length: 1000 }, (_, i): Row => ['a', i]), 0, out);
    op.processBatch([['b', 7]], 0, out);
    const first = op.handleCheckpoint() as KeyedState;
    const kept = new Map([...first.sections[0]!.set].map(([k, rows]) => [k, rows as Row[]]));
    expect([...kept.values()].map((rows) => rows.length)).toEqual([3, 1]);
    expect([...kept.values()][0]).toEqual([['a', 999], ['a', 998], ['a', 997]]);

    // A row that does not enter the top 3 changes nothing: no row sent, nothing in the next checkpoint.
    const before = emitted.length;
    op.processBatch([['a', 5]], 0, out);
    expect(emitted.length).toBe(before);
    expect([...(op.handleCheckpoint() as KeyedState).sections[0]!.set]).toEqual([]);
  });

  it('after a restore ranks new rows against the kept ones, sending the places that moved', () => {
    const op = topByAmount(2);
    op.processBatch([['a', 10], ['a', 30]], 0, { emit: () => {}, error: () => {} });
    const restored = topByAmount(2);
    restored.restoreState(op.handleCheckpoint());
    const emitted: Row[] = [];
    restored.processBatch([['a', 20]], 0, { emit: (r) => emitted.push(r), error: () => {} });
    expect(emitted).toEqual([['a', 20, 2]]);
    restored.processBatch([['a', 40]], 0, { emit: (r) => emitted.push(r), error: () => {} });
    expect(emitted.slice(1)).toEqual([['a', 40, 1], ['a', 30, 2]]);
  });
});

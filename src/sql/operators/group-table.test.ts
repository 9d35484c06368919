import { describe, expect, it } from 'vitest';
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { Row } from '../expr/types.ts';
import type { KeyedState } from '../runtime/keyed-state.ts';
import { mergeState, restorableState } from '../runtime/keyed-state.ts';
import { GroupTable } from './group-table.ts';

/** SUM of column 1, by hand: the table only needs create/add/result. */
const SUM: CompiledAggregate = {
  name: 'SUM',
  type: 'BIGINT',
  text: 'SUM(v)',
  create: () => ({ v: 0, n: 0 }),
  add: (acc, row) => {
    acc.v = (acc.v as number) + (row[1] as number);
    acc.n++;
  },
  merge: () => {},
  result: (acc) => acc.v,
};

const table = () => new GroupTable([(row) => row[0]!, (row) => row[2]!], [SUM]);

function feed(t: GroupTable, rows: readonly Row[]): void {
  for (const row of rows) t.add(t.groupFor(row), row);
}

const results = (t: GroupTable) => [...t.groups.values()].map((g) => JSON.stringify(t.resultRow(g, []))).sort();

describe('a group table checkpoints incrementally', () => {
  it('reports each group changed since the last checkpoint once, with its value then', () => {
    const t = table();
    feed(t, [['a', 1, 'x'], ['b', 2, 'x'], ['a', 3, 'x']]);
    const first = t.takeChanges();
    expect(first.map(([, g]) => g)).toEqual([{ keys: ['a', 'x'], accs: [{ v: 4, n: 2 }] }, { keys: ['b', 'x'], accs: [{ v: 2, n: 1 }] }]);
    feed(t, [['b', 5, 'x']]);
    // The copy taken before does not follow the group.
    expect(first[1]![1]).toEqual({ keys: ['b', 'x'], accs: [{ v: 2, n: 1 }] });
    expect(t.takeChanges().map(([, g]) => g)).toEqual([{ keys: ['b', 'x'], accs: [{ v: 7, n: 2 }] }]);
    expect(t.takeChanges()).toEqual([]);
  });

  it('gives back the same groups from its deltas merged in order', () => {
    const t = table();
    let merged: unknown;
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let round = 0; round < 20; round++) {
      const rows: Row[] = [];
      for (let i = 0; i < 50; i++) rows.push([`k${next() % 30}`, next() % 100, next() % 2 === 0 ? 'x' : null]);
      feed(t, rows);
      const delta: KeyedState = { keyed: 1, meta: null, dropped: [], sections: [{ name: 0, set: t.takeChanges(), removed: [] }] };
      merged = mergeState(merged, structuredClone(delta));
    }
    const restored = table();
    restored.restore((structuredClone(restorableState(merged)) as KeyedState).sections[0]!.set);
    expect(results(restored)).toEqual(results(t));
    expect(restored.takeChanges()).toEqual([]);
  });

  it('counts every group of a checkpoint written before incremental checkpoints as changed', () => {
    const t = table();
    t.restore([{ keys: ['a', 'x'], accs: [{ v: 4, n: 2 }] }, { keys: ['b', null], accs: [{ v: 2, n: 1 }] }]);
    expect(t.takeChanges().map(([, g]) => g.keys)).toEqual([['a', 'x'], ['b', null]]);
    feed(t, [['a', 1, 'x']]);
    expect(results(t)).toEqual(['["a","x",5]', '["b",null,2]']);
  });
});

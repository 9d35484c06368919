import { describe, expect, it } from 'vitest';
import { Random } from '../../core/random.ts';
import type { SqlTypeName } from '../ast/index.ts';
import type { Row, Value } from '../expr/types.ts';
import type { RefTableDef } from '../planner/logical/nodes.ts';
import { ChangelogReferenceTable, staticReferenceTable, type ReferenceTable } from '../reference-table.ts';
import { rowsFrom } from '../columnar-rows.ts';
import { keyOf } from '../runtime/operator.ts';
import { LookupJoinOperator } from './lookup-join.ts';

/** Keys are equal as a Map finds them equal (NaN is NaN, 0 is -0). */
function sameKey(a: readonly Value[], b: readonly Value[]): boolean {
  return new Set([keyOf(a)]).has(keyOf(b));
}

/** What a lookup join promises, written the plain way: every table row whose key is the stream row's, in table order. */
function expected(table: readonly Row[], keyColumns: readonly number[], probes: readonly Row[], mode: 'INNER' | 'LEFT' | 'SEMI' | 'ANTI', width: number): Row[] {
  const out: Row[] = [];
  for (const p of probes) {
    const keys: Value[] = keyColumns.map((_, i) => p[i] ?? null);
    const matches = keys.includes(null) ? [] : table.filter((r) => !keyColumns.some((c) => r[c] === null) && sameKey(keyColumns.map((c) => r[c]!), keys));
    if (mode === 'SEMI' || mode === 'ANTI') {
      if ((matches.length > 0) === (mode === 'SEMI')) out.push(p);
    } else if (matches.length > 0) for (const m of matches) out.push([...p, ...m]);
    else if (mode === 'LEFT') out.push([...p, ...Array.from({ length: width }, (): Value => null)]);
  }
  return out;
}

function run(table: ReferenceTable, keyColumns: readonly number[], probes: readonly Row[], mode: 'INNER' | 'LEFT' | 'SEMI' | 'ANTI', width: number, byColumn: boolean): Row[] {
  const rows: Row[] = [];
  const join = new LookupJoinOperator(
    'LookupJoin',
    table,
    keyColumns.map((c) => (r: Row) => r[c]!),
    keyColumns.map((_, i) => (r: Row) => r[i]!),
    width,
    null,
    mode,
    byColumn ? keyColumns : null,
  );
  join.processBatch(probes, 0, { emit: (r) => rows.push(r), error: () => expect.unreachable() });
  return rows;
}

/** Values that look alike to a careless index: numbers and their text, 0 and -0, wide and fractional numbers, non-ASCII text. */
const SAMPLES: Record<string, readonly Value[]> = {
  BIGINT: [0, -0, 1, -1, 7, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, 9007199254740991, null],
  DOUBLE: [0.5, 1, 1.5, -2.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null],
  VARCHAR: ['', '1', 'a', 'A', 'plaza-1', 'Zürich', '東京', 'a,b', 'x'.repeat(300), null],
  BOOLEAN: [true, false, null],
};

describe('LookupJoinOperator over columns', () => {
  for (const [name, keyTypes] of [
    ['one number key', ['BIGINT']],
    ['one text key', ['VARCHAR']],
    ['one double key', ['DOUBLE']],
    ['two keys of mixed types', ['BIGINT', 'VARCHAR']],
    ['three keys', ['BOOLEAN', 'DOUBLE', 'BIGINT']],
  ] as const) {
    it(`finds exactly the rows a plain scan finds, in table order, with ${name}`, () => {
      const random = new Random(name.length * 7919);
      const types: SqlTypeName[] = [...keyTypes, 'BIGINT', 'VARCHAR'];
      const keyColumns = keyTypes.map((_, i) => i);
      const table: Row[] = [];
      for (let i = 0; i < 400; i++) table.push([...keyTypes.map((t) => random.pick(SAMPLES[t]!)), i, `row ${i}`]);
      // Probes draw from every sample, text for number keys and numbers for text keys among them.
      const all = Object.values(SAMPLES).flat();
      const probes: Row[] = [];
      for (let i = 0; i < 300; i++) probes.push(keyTypes.map((t) => (random.next() < 0.8 ? random.pick(SAMPLES[t]!) : random.pick(all))));
      const data = staticReferenceTable('t', rowsFrom(types, table));
      expect(data.data().rows()).toEqual(table);
      for (const mode of ['INNER', 'LEFT', 'SEMI', 'ANTI'] as const) {
        const want = expected(table, keyColumns, probes, mode, types.length);
        expect(run(data, keyColumns, probes, mode, types.length, true)).toEqual(want);
        expect(run(data, keyColumns, probes, mode, types.length, false)).toEqual(want);
      }
    });
  }

  it("follows a changelog table's own key index as records arrive, through updates, deletes and compaction", () => {
    const columns = [
      { name: 'xway', type: 'BIGINT' },
      { name: 'seg', type: 'BIGINT' },
      { name: 'label', type: 'VARCHAR' },
    ] as const;
    const def: RefTableDef = { name: 'segments', path: null, stream: 'segments', format: 'json', columns, key: ['xway', 'seg'], changelog: true, refreshMs: null };
    const table = new ChangelogReferenceTable(def);
    const model = new Map<string, Row>();
    const random = new Random(42);
    const probes: Row[] = [];
    for (let x = 0; x < 30; x++) for (let s = 0; s < 100; s++) probes.push([x, s]);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 3000; i++) {
        const xway = random.int(0, 29);
        const seg = random.int(0, 99);
        const k = JSON.stringify([xway, seg]);
        if (random.next() < 0.45) {
          table.apply({ xway, seg, _deleted: true });
          model.delete(k);
        } else {
          const row = [xway, seg, `label ${round}.${i} ${'é'.repeat(i % 7)}`];
          table.apply({ xway, seg, label: row[2] });
          model.set(k, row);
        }
      }
      expect(table.rows()).toEqual([...model.values()]);
      // Freed slots are compacted away rather than kept forever.
      expect(table.data().slots).toBeLessThan(2 * table.size + 1100);
      const want = probes.flatMap((p) => {
        const row = model.get(JSON.stringify(p));
        return row ? [[...p, ...row]] : [];
      });
      expect(run(table, [0, 1], probes, 'INNER', 3, true)).toEqual(want);
    }
  });
});

/** Groups and their accumulators, shared by the aggregate operators. */
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';

/**
 * The map key of a group of two or more key values. It groups exactly as `keyOf` (JSON text) does: a
 * non-finite number is null, -0 is 0. Concatenated with a length or an end mark per value, it costs less
 * than JSON.stringify per row. Checkpoints keep the values, never this text.
 */
function groupKey(values: readonly Value[]): string {
  let key = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') key += `s${v.length}:${v}`;
    else if (typeof v === 'number') key += Number.isFinite(v) ? `n${v};` : 'z;';
    else if (v === null || v === undefined) key += 'z;';
    else key += v ? 't;' : 'f;';
  }
  return key;
}

export interface Group {
  readonly keys: Value[];
  readonly accs: Acc[];
}

export class GroupTable {
  readonly groups = new Map<unknown, Group>();
  private readonly keyValues: Value[];

  constructor(
    private readonly keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
  ) {
    this.keyValues = new Array<Value>(keyFns.length);
  }

  /** The group of the row, created on first sight. `isNew` tells whether it was just created. */
  groupOf(row: Row): { group: Group; isNew: boolean } {
    const size = this.groups.size;
    const group = this.groupFor(row);
    return { group, isNew: this.groups.size !== size };
  }

  /** The group of the row, created on first sight (no result object: the per-row path of window aggregates). */
  groupFor(row: Row): Group {
    const kf = this.keyFns;
    let key: unknown;
    let single: Value = null;
    if (kf.length === 0) key = '';
    else if (kf.length === 1) {
      single = kf[0]!(row);
      key = typeof single === 'string' ? `s${single}` : single;
    } else {
      // The key values go to a reused array; only a new group keeps a copy of them.
      const values = this.keyValues;
      for (let i = 0; i < kf.length; i++) values[i] = kf[i]!(row);
      key = groupKey(values);
    }
    let group = this.groups.get(key);
    if (group) return group;
    const keys: Value[] = kf.length === 0 ? [] : kf.length === 1 ? [single] : this.keyValues.slice();
    const accs: Acc[] = new Array<Acc>(this.aggs.length);
    for (let i = 0; i < accs.length; i++) accs[i] = this.aggs[i]!.create();
    group = { keys, accs };
    this.groups.set(key, group);
    return group;
  }

  add(group: Group, row: Row): void {
    const aggs = this.aggs;
    for (let i = 0; i < aggs.length; i++) aggs[i]!.add(group.accs[i]!, row);
  }

  /** keys..., aggregate results..., then `extra`. */
  resultRow(group: Group, extra: readonly Value[]): Row {
    const out: Row = group.keys.slice();
    for (let i = 0; i < this.aggs.length; i++) out.push(this.aggs[i]!.result(group.accs[i]!));
    for (const e of extra) out.push(e);
    return out;
  }

  snapshot(): unknown {
    return [...this.groups.values()].map((g) => ({ keys: g.keys, accs: snapshotAccs(g.accs) }));
  }

  restore(snapshot: unknown): void {
    for (const g of snapshot as { keys: Value[]; accs: unknown }[]) {
      const n = this.keyFns.length;
      const v = g.keys[0];
      const key = n === 0 ? '' : n === 1 ? (typeof v === 'string' ? `s${v}` : v) : groupKey(g.keys);
      this.groups.set(key, { keys: g.keys, accs: restoreAccs(g.accs) });
    }
  }
}

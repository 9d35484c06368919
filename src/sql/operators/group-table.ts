/** Groups and their accumulators, shared by the aggregate operators. */
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { keyOf } from '../runtime/operator.ts';

export interface Group {
  readonly keys: Value[];
  readonly accs: Acc[];
}

export class GroupTable {
  readonly groups = new Map<unknown, Group>();

  constructor(
    private readonly keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
  ) {}

  /** The group of the row, created on first sight. `isNew` tells whether it was just created. */
  groupOf(row: Row): { group: Group; isNew: boolean } {
    const kf = this.keyFns;
    let keys: Value[];
    let key: unknown;
    if (kf.length === 0) {
      keys = [];
      key = '';
    } else if (kf.length === 1) {
      const v = kf[0]!(row);
      keys = [v];
      key = typeof v === 'string' ? `s${v}` : v;
    } else {
      keys = kf.map((f) => f(row));
      key = keyOf(keys);
    }
    let group = this.groups.get(key);
    if (group) return { group, isNew: false };
    group = { keys, accs: this.aggs.map((a) => a.create()) };
    this.groups.set(key, group);
    return { group, isNew: true };
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
      this.groups.set(this.keyFns.length === 0 ? '' : keyOf(g.keys), { keys: g.keys, accs: restoreAccs(g.accs) });
    }
  }
}

/** Groups and their accumulators, shared by the aggregate operators. */
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import type { EntryKey } from '../runtime/keyed-state.ts';

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

/** The entry key of a group with these key values: what `GroupTable` maps it by, and checkpoints name it by. */
export function entryKeyOfValues(values: readonly Value[]): EntryKey {
  if (values.length === 0) return '';
  if (values.length > 1) return groupKey(values);
  const v = values[0];
  return typeof v === 'string' ? `s${v}` : (v as EntryKey);
}

export interface Group {
  /** The map key (the entry key of incremental checkpoints). */
  readonly key: EntryKey;
  readonly keys: Value[];
  readonly accs: Acc[];
  /** Added to since the last checkpoint (it is in `GroupTable.changed`). */
  changed: boolean;
}

/** A group as a checkpoint keeps it: its key values and accumulators (`snapshotAccs`). */
interface StoredGroup {
  readonly keys: Value[];
  readonly accs: unknown;
}

export class GroupTable {
  readonly groups = new Map<unknown, Group>();
  private readonly keyValues: Value[];
  /** Groups added to since the last `takeChanges`, each once. */
  private changed: Group[] = [];

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
    let key: EntryKey;
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
    group = { key, keys, accs, changed: false };
    this.groups.set(key, group);
    return group;
  }

  add(group: Group, row: Row): void {
    if (!group.changed) {
      group.changed = true;
      this.changed.push(group);
    }
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

  /** The groups added to since the last call, as [entry key, stored group] (a copy: they change on after it). */
  takeChanges(): [EntryKey, StoredGroup][] {
    const out = new Array<[EntryKey, StoredGroup]>(this.changed.length);
    for (let i = 0; i < this.changed.length; i++) {
      const g = this.changed[i]!;
      g.changed = false;
      out[i] = [g.key, { keys: g.keys, accs: snapshotAccs(g.accs) }];
    }
    this.changed = [];
    return out;
  }

  /**
   * Takes back groups from a checkpoint: the entries of a keyed state, or (a checkpoint written before
   * incremental checkpoints) the list of every group. The map key is computed again from the key values.
   */
  restore(stored: Iterable<readonly [EntryKey, unknown]> | readonly StoredGroup[]): void {
    for (const item of stored as Iterable<unknown>) {
      const entry = Array.isArray(item);
      const g = (entry ? item[1] : item) as StoredGroup;
      const key = entryKeyOfValues(g.keys);
      // A group of the older layout counts as changed: the next (incremental) checkpoint writes it again.
      const group: Group = { key, keys: g.keys, accs: restoreAccs(g.accs), changed: !entry };
      this.groups.set(key, group);
      if (!entry) this.changed.push(group);
    }
  }
}

/**
 * The groups of a hop's panes (see `WindowAggregateOperator`), kept in columns instead of one object per
 * group. A hop of 10 s every 2 s keeps every key's group of a pane for 10 s: as objects (a group, its key
 * values, its accumulators) they outlive V8's young generation and most of them are promoted only to die
 * there. Here a key is interned once in a slot shared by every pane; a pane holds, per aggregate, a column of
 * accumulator values (`v`) and one of counts (`n`), indexed by its own dense group index, and the arrays of a
 * dropped pane serve the next one. Only aggregates that merge exactly come here, and they keep nothing in an
 * accumulator but `v` and `n`.
 */
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import type { EntryKey } from '../runtime/keyed-state.ts';
import { entryKeyOfValues } from './group-table.ts';

/** One slide of a hop, [end - slide, end): its groups as columns. */
export interface PaneGroups {
  end: number;
  /** Groups in this pane (its dense index runs 0 .. count - 1), in the order first seen. */
  count: number;
  /** The interned slot of each group. */
  slots: Int32Array;
  /** 1 + the group index of each slot in this pane, 0 when the pane has no group of the slot. */
  indexOfSlot: Int32Array;
  /** Per aggregate: each group's accumulator value and count. */
  readonly v: Value[][];
  readonly n: Float64Array[];
  /** Group indexes added to since the last checkpoint, each once (`isChanged` tells which). */
  changed: number[];
  isChanged: Uint8Array;
}

/** A window's result: one group per key of its panes, in the order first seen, oldest pane first. */
export interface MergedGroups {
  readonly count: number;
  /** Writes the key values of group `i` to `row[0..]` and its aggregate results after them. */
  write(i: number, row: Row): void;
}

const INITIAL = 64;

export class PaneGroupStore {
  /** Interned keys: the slot of each entry key, and of each slot its entry key and key values (flat). */
  private readonly slotOf = new Map<EntryKey, number>();
  private entryKeys: EntryKey[] = [];
  private keyValues: Value[] = [];
  /** The end of the latest pane holding each slot: dropping that pane frees the slot. */
  private lastEnd: Float64Array = new Float64Array(INITIAL);
  private capacity = INITIAL;
  private nextSlot = 0;
  private readonly free: number[] = [];
  /** Arrays of dropped panes, ready for new ones. */
  private readonly spare: PaneGroups[] = [];
  private readonly scratchKeys: Value[];
  /** Accumulators to run the aggregates' `add`, `merge` and `result` on a column's values. */
  private readonly acc: Acc = { v: null, n: 0 };
  private readonly other: Acc = { v: null, n: 0 };
  /** The merged groups of the window being emitted: their slots and columns, reused window after window. */
  private mergedSlots: Int32Array = new Int32Array(INITIAL);
  private mergedIndexOfSlot: Int32Array = new Int32Array(INITIAL);
  private mergedV: Value[][];
  private mergedN: Float64Array[];

  constructor(
    private readonly keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
  ) {
    this.scratchKeys = new Array<Value>(keyFns.length);
    this.mergedV = aggs.map(() => new Array<Value>(INITIAL));
    this.mergedN = aggs.map(() => new Float64Array(INITIAL));
  }

  /** A pane with no groups, on the arrays of a dropped one when there is one. */
  newPane(end: number): PaneGroups {
    const p = this.spare.pop();
    if (p === undefined) {
      const aggs = this.aggs;
      return {
        end,
        count: 0,
        slots: new Int32Array(INITIAL),
        indexOfSlot: new Int32Array(this.capacity),
        v: aggs.map(() => new Array<Value>(INITIAL)),
        n: aggs.map(() => new Float64Array(INITIAL)),
        changed: [],
        isChanged: new Uint8Array(INITIAL),
      };
    }
    p.end = end;
    return p;
  }

  /** Adds the row to its key's group in the pane. */
  add(pane: PaneGroups, row: Row): void {
    const kf = this.keyFns;
    const values = this.scratchKeys;
    for (let k = 0; k < kf.length; k++) values[k] = kf[k]!(row);
    const i = this.groupIn(pane, this.intern(entryKeyOfValues(values), values));
    if (pane.isChanged[i] === 0) {
      pane.isChanged[i] = 1;
      pane.changed.push(i);
    }
    const aggs = this.aggs;
    const acc = this.acc;
    for (let a = 0; a < aggs.length; a++) {
      const v = pane.v[a]!;
      const n = pane.n[a]!;
      acc.v = v[i]!;
      acc.n = n[i]!;
      aggs[a]!.add(acc, row);
      v[i] = acc.v;
      n[i] = acc.n;
    }
  }

  /** The groups of `panes` merged by key. Valid until the next call. */
  merge(panes: readonly PaneGroups[]): MergedGroups {
    const aggs = this.aggs;
    const acc = this.acc;
    const other = this.other;
    this.ensureMergedSlots(this.capacity);
    const indexOfSlot = this.mergedIndexOfSlot;
    let count = 0;
    for (const pane of panes) {
      this.ensureMerged(count + pane.count);
      const slotsOut = this.mergedSlots;
      for (let i = 0; i < pane.count; i++) {
        const slot = pane.slots[i]!;
        const m = indexOfSlot[slot]! - 1;
        if (m < 0) {
          indexOfSlot[slot] = count + 1;
          slotsOut[count] = slot;
          for (let a = 0; a < aggs.length; a++) {
            this.mergedV[a]![count] = pane.v[a]![i]!;
            this.mergedN[a]![count] = pane.n[a]![i]!;
          }
          count++;
          continue;
        }
        for (let a = 0; a < aggs.length; a++) {
          const mv = this.mergedV[a]!;
          const mn = this.mergedN[a]!;
          acc.v = mv[m]!;
          acc.n = mn[m]!;
          other.v = pane.v[a]![i]!;
          other.n = pane.n[a]![i]!;
          aggs[a]!.merge(acc, other);
          mv[m] = acc.v;
          mn[m] = acc.n;
        }
      }
    }
    for (let m = 0; m < count; m++) indexOfSlot[this.mergedSlots[m]!] = 0;
    const nk = this.keyFns.length;
    return {
      count,
      write: (m, row) => {
        const base = this.mergedSlots[m]! * nk;
        for (let k = 0; k < nk; k++) row[k] = this.keyValues[base + k]!;
        for (let a = 0; a < aggs.length; a++) {
          acc.v = this.mergedV[a]![m]!;
          acc.n = this.mergedN[a]![m]!;
          row[nk + a] = aggs[a]!.result(acc);
        }
      },
    };
  }

  /** Forgets the pane: its keys no later pane holds are freed, and its arrays wait for a new pane. */
  drop(pane: PaneGroups): void {
    for (let i = 0; i < pane.count; i++) {
      const slot = pane.slots[i]!;
      pane.indexOfSlot[slot] = 0;
      pane.isChanged[i] = 0;
      if (this.lastEnd[slot]! <= pane.end) {
        this.slotOf.delete(this.entryKeys[slot]!);
        this.entryKeys[slot] = null;
        const nk = this.keyFns.length;
        for (let k = 0; k < nk; k++) this.keyValues[slot * nk + k] = null;
        this.free.push(slot);
      }
    }
    for (let a = 0; a < this.aggs.length; a++) pane.v[a]!.fill(null, 0, pane.count);
    pane.count = 0;
    pane.changed = [];
    this.spare.push(pane);
  }

  /** The groups of the pane added to since the last call, as [entry key, stored group] (the layout of `GroupTable.takeChanges`). */
  takeChanges(pane: PaneGroups): [EntryKey, { keys: Value[]; accs: unknown }][] {
    const nk = this.keyFns.length;
    const out = new Array<[EntryKey, { keys: Value[]; accs: unknown }]>(pane.changed.length);
    for (let c = 0; c < pane.changed.length; c++) {
      const i = pane.changed[c]!;
      pane.isChanged[i] = 0;
      const slot = pane.slots[i]!;
      const accs: Acc[] = this.aggs.map((_, a) => ({ v: pane.v[a]![i]!, n: pane.n[a]![i]! }));
      out[c] = [this.entryKeys[slot]!, { keys: this.keyValues.slice(slot * nk, slot * nk + nk), accs: snapshotAccs(accs) }];
    }
    pane.changed = [];
    return out;
  }

  /** Takes back a pane's groups from a checkpoint (entries of `takeChanges`, or of `GroupTable.takeChanges`). */
  restore(pane: PaneGroups, stored: Iterable<readonly [EntryKey, unknown]>): void {
    for (const [, value] of stored) {
      const g = value as { keys: Value[]; accs: unknown };
      const i = this.groupIn(pane, this.intern(entryKeyOfValues(g.keys), g.keys));
      const accs = restoreAccs(g.accs);
      for (let a = 0; a < this.aggs.length; a++) {
        pane.v[a]![i] = accs[a]!.v;
        pane.n[a]![i] = accs[a]!.n;
      }
    }
  }

  private intern(key: EntryKey, values: readonly Value[]): number {
    let slot = this.slotOf.get(key);
    if (slot !== undefined) return slot;
    slot = this.free.pop() ?? this.nextSlot++;
    if (slot >= this.capacity) this.grow();
    this.slotOf.set(key, slot);
    this.entryKeys[slot] = key;
    const nk = this.keyFns.length;
    for (let k = 0; k < nk; k++) this.keyValues[slot * nk + k] = values[k]!;
    this.lastEnd[slot] = Number.NEGATIVE_INFINITY;
    return slot;
  }

  /** The pane's group index of the slot, the group created (empty accumulators) on first sight. */
  private groupIn(pane: PaneGroups, slot: number): number {
    if (pane.indexOfSlot.length < this.capacity) pane.indexOfSlot = grownInt32(pane.indexOfSlot, this.capacity);
    const known = pane.indexOfSlot[slot]!;
    if (known !== 0) return known - 1;
    const i = pane.count++;
    if (i >= pane.slots.length) {
      const size = pane.slots.length * 2;
      pane.slots = grownInt32(pane.slots, size);
      const changed = new Uint8Array(size);
      changed.set(pane.isChanged);
      pane.isChanged = changed;
      for (let a = 0; a < this.aggs.length; a++) {
        const n = new Float64Array(size);
        n.set(pane.n[a]!);
        pane.n[a] = n;
      }
    }
    pane.slots[i] = slot;
    pane.indexOfSlot[slot] = i + 1;
    for (let a = 0; a < this.aggs.length; a++) {
      const fresh = this.aggs[a]!.create();
      pane.v[a]![i] = fresh.v;
      pane.n[a]![i] = fresh.n;
    }
    if (this.lastEnd[slot]! < pane.end) this.lastEnd[slot] = pane.end;
    return i;
  }

  private grow(): void {
    this.capacity *= 2;
    const lastEnd = new Float64Array(this.capacity);
    lastEnd.set(this.lastEnd);
    this.lastEnd = lastEnd;
  }

  private ensureMergedSlots(capacity: number): void {
    if (this.mergedIndexOfSlot.length < capacity) this.mergedIndexOfSlot = grownInt32(this.mergedIndexOfSlot, capacity);
  }

  private ensureMerged(size: number): void {
    if (this.mergedSlots.length >= size) return;
    let length = this.mergedSlots.length;
    while (length < size) length *= 2;
    this.mergedSlots = grownInt32(this.mergedSlots, length);
    this.mergedN = this.mergedN.map((n) => {
      const grown = new Float64Array(length);
      grown.set(n);
      return grown;
    });
  }
}

function grownInt32(a: Int32Array, size: number): Int32Array {
  const grown = new Int32Array(size);
  grown.set(a);
  return grown;
}

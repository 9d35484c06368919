/**
 * A hash index over key columns of `ColumnarRows`: buckets of slot numbers chained through typed arrays, the
 * keys compared in place (numbers as numbers, text as its UTF-8 bytes), so building and probing it makes no key
 * string per row.
 *
 * Keys are equal as `keyOf` (src/sql/runtime/operator.ts) makes them equal: values of the same type, numbers
 * as `Object.is` but 0 equal to -0; with `json` (several key columns, or a changelog file's key) as their
 * JSON text is, where null and every non-finite number are one value.
 */
import type { ColumnarRows } from './columnar-rows.ts';
import { ProbeText, hashValue, mix } from './columnar-rows.ts';
import type { Value } from './expr/types.ts';

export class RowIndex {
  private heads: Int32Array;
  private mask: number;
  private next: Int32Array;
  private hashes: Int32Array;
  private entries = 0;
  private readonly probe = new ProbeText();

  private constructor(
    private readonly rows: ColumnarRows,
    readonly columns: readonly number[],
    readonly json: boolean,
    expected: number,
  ) {
    const buckets = bucketsFor(expected);
    this.heads = new Int32Array(buckets).fill(-1);
    this.mask = buckets - 1;
    this.next = new Int32Array(Math.max(16, rows.slots));
    this.hashes = new Int32Array(this.next.length);
  }

  /**
   * Every live row whose key has no null, a key's rows in slot order (a lookup join's index, rebuilt when
   * the table changes).
   */
  static build(rows: ColumnarRows, columns: readonly number[]): RowIndex {
    const index = new RowIndex(rows, columns, columns.length > 1, rows.size);
    // Slots are added last to first, each at the head of its bucket, so a bucket lists them in slot order.
    outer: for (let s = rows.slots - 1; s >= 0; s--) {
      if (!rows.isLive(s)) continue;
      for (const c of columns) if (rows.isNullAt(s, c)) continue outer;
      index.link(s, index.hashOfSlot(s));
    }
    return index;
  }

  /** An empty index that rows are added to one by one (`add`, `remove`): a changelog's key. */
  static empty(rows: ColumnarRows, columns: readonly number[], json: boolean): RowIndex {
    return new RowIndex(rows, columns, json, 1024);
  }

  get size(): number {
    return this.entries;
  }

  /** The first slot whose key equals `keys`, or -1; `following` gives the next ones. */
  first(keys: readonly Value[]): number {
    const hash = this.hashOfValues(keys);
    return this.scan(this.heads[hash & this.mask]!, hash, keys);
  }

  /** The next slot after `slot` (a result of `first` or `following` with the same `keys`), or -1. */
  following(slot: number, keys: readonly Value[]): number {
    // The slot matched, so its hash is the probe's.
    return this.scan(this.next[slot]!, this.hashes[slot]!, keys);
  }

  /** Adds a slot (its key not yet in the index when keys are unique). */
  add(slot: number): void {
    if (slot >= this.next.length) {
      const capacity = Math.max(slot + 1, this.next.length * 2);
      this.next = grow(this.next, capacity);
      this.hashes = grow(this.hashes, capacity);
    }
    if (this.entries + 1 > this.heads.length) this.rehash(bucketsFor(this.entries * 2));
    this.link(slot, this.hashOfSlot(slot));
  }

  remove(slot: number): void {
    const bucket = this.hashes[slot]! & this.mask;
    let prev = -1;
    for (let s = this.heads[bucket]!; s !== -1; prev = s, s = this.next[s]!) {
      if (s !== slot) continue;
      if (prev === -1) this.heads[bucket] = this.next[s]!;
      else this.next[prev] = this.next[s]!;
      this.entries--;
      return;
    }
  }

  private scan(from: number, h: number, keys: readonly Value[]): number {
    for (let s = from; s !== -1; s = this.next[s]!) {
      if (this.hashes[s] === h && this.keyEquals(s, keys)) return s;
    }
    return -1;
  }

  private keyEquals(slot: number, keys: readonly Value[]): boolean {
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) {
      if (!this.rows.equalsAt(slot, columns[i]!, keys[i]!, this.probe, this.json)) return false;
    }
    return true;
  }

  private link(slot: number, hash: number): void {
    const bucket = hash & this.mask;
    this.hashes[slot] = hash;
    this.next[slot] = this.heads[bucket]!;
    this.heads[bucket] = slot;
    this.entries++;
  }

  private rehash(buckets: number): void {
    const old = this.heads;
    const oldNext = this.next;
    this.heads = new Int32Array(buckets).fill(-1);
    this.mask = buckets - 1;
    this.next = new Int32Array(oldNext.length);
    // Keys are unique where an index grows (a changelog's), so the order within a bucket does not matter.
    for (let b = 0; b < old.length; b++) {
      for (let s = old[b]!; s !== -1; s = oldNext[s]!) {
        const bucket = this.hashes[s]! & this.mask;
        this.next[s] = this.heads[bucket]!;
        this.heads[bucket] = s;
      }
    }
  }

  private hashOfSlot(slot: number): number {
    let h = 0;
    for (const c of this.columns) h = mix(Math.imul(h, 31) + this.rows.hashAt(slot, c));
    return h;
  }

  private hashOfValues(keys: readonly Value[]): number {
    let h = 0;
    for (const v of keys) h = mix(Math.imul(h, 31) + hashValue(v, this.probe));
    return h;
  }
}

function bucketsFor(n: number): number {
  let buckets = 16;
  while (buckets < n * 1.25) buckets *= 2;
  return buckets;
}

function grow(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}

/**
 * Rows with a unique key (a changelog table): a row replaces the one with its key in place, a deleted key's
 * slot is freed, and the live rows are compacted (in their order) once half the slots are free.
 */
export class KeyedRows {
  private index: RowIndex;
  private readonly keys: Value[];

  constructor(
    readonly rows: ColumnarRows,
    readonly keyColumns: readonly number[],
    private readonly json: boolean,
  ) {
    this.index = RowIndex.empty(rows, keyColumns, json);
    this.keys = keyColumns.map(() => null);
  }

  /** The index on the key columns, valid until the next `upsert` or `delete`. */
  get keyIndex(): RowIndex {
    return this.index;
  }

  upsert(row: readonly Value[]): void {
    const slot = this.index.first(this.keysOf(row));
    if (slot >= 0) this.rows.overwrite(slot, row);
    else this.index.add(this.rows.append(row));
  }

  /** Removes the row with the key `row` has; false when there is none. */
  delete(row: readonly Value[]): boolean {
    const slot = this.index.first(this.keysOf(row));
    if (slot < 0) return false;
    this.index.remove(slot);
    this.rows.free(slot);
    if (this.rows.wantsCompaction) {
      this.rows.compact();
      this.index = RowIndex.empty(this.rows, this.keyColumns, this.json);
      for (let s = 0; s < this.rows.slots; s++) this.index.add(s);
    }
    return true;
  }

  private keysOf(row: readonly Value[]): Value[] {
    for (let i = 0; i < this.keyColumns.length; i++) this.keys[i] = row[this.keyColumns[i]!] ?? null;
    return this.keys;
  }
}

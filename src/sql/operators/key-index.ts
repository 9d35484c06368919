/**
 * The rows of an interval join's input by key, each key's rows in time order, and a min-heap over all rows by
 * time so eviction takes rows from the old end: adding and evicting a row cost O(log n), a lookup one map
 * lookup. The layout a `KeyedTimeBuffer` switches to once lookups would cost more than keeping it.
 *
 * It notes the keys whose rows changed (a row added, a match noted, the last row evicted) for an incremental
 * checkpoint: a key whose oldest rows were evicted but which still has rows is not noted, since a restore
 * drops the rows before the buffer's eviction limit anyway.
 */
import type { Row } from '../expr/types.ts';
import type { EntryKey } from '../runtime/keyed-state.ts';

/** One key's rows, oldest first; rows before `head` are gone. */
export interface KeyRows {
  readonly rows: Row[];
  readonly times: number[];
  head: number;
}

/**
 * A key's rows as a checkpoint keeps them: the rows, oldest first, and the places of those that found a match
 * (null: none). A tuple, not an object: a checkpoint holds one per key, and the structured clone of an object
 * writes its property names each time. Their times are not kept: the restore computes them from the rows.
 */
export type StoredKeyRows = readonly [rows: Row[], matched: number[] | null];

export class KeyIndex {
  private readonly byKey = new Map<unknown, KeyRows>();
  /** A binary min-heap of (time, key), one entry per buffered row. */
  private readonly heapTimes: number[] = [];
  private readonly heapKeys: unknown[] = [];
  /** The rows that found a match (rows are kept as they are here, so by identity). */
  private readonly matched = new Set<Row>();
  /** Keys whose rows changed since the last `takeChanges`. */
  private changed = new Set<unknown>();

  isMatched(row: Row): boolean {
    return this.matched.has(row);
  }

  /** Notes that `row`, one of `key`'s, found a match. */
  markMatched(key: unknown, row: Row): void {
    this.matched.add(row);
    this.changed.add(key);
  }

  get(key: unknown): KeyRows | undefined {
    return this.byKey.get(key);
  }

  add(key: unknown, time: number, row: Row, matched: boolean): void {
    if (matched) this.matched.add(row);
    this.changed.add(key);
    const kr = this.byKey.get(key);
    if (!kr) {
      // Sized for its one row: most keys of a join on a near-unique value (q7's price) never get a second,
      // and the first push onto an empty array would reserve room for 16.
      this.byKey.set(key, { rows: [row], times: [time], head: 0 });
      this.push(time, key);
      return;
    }
    const { rows, times } = kr;
    if (times.length === kr.head || times[times.length - 1]! <= time) {
      rows.push(row);
      times.push(time);
    } else {
      // Out of order: the first position after every row at or before `time` (rows arrive nearly in order).
      let lo = kr.head;
      let hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (times[mid]! <= time) lo = mid + 1;
        else hi = mid;
      }
      rows.splice(lo, 0, row);
      times.splice(lo, 0, time);
    }
    this.push(time, key);
  }

  /** Drops every row with a time before `limit`, oldest first, handing each to `evicted` with its match when given. */
  evictBefore(limit: number, evicted?: (row: Row, matched: boolean) => void): void {
    const ht = this.heapTimes;
    while (ht.length > 0 && ht[0]! < limit) {
      const key = this.heapKeys[0];
      this.pop();
      // The heap gives each key's times in ascending order, so the popped entry is that key's oldest row.
      const kr = this.byKey.get(key)!;
      const row = kr.rows[kr.head]!;
      const matched = this.matched.size > 0 && this.matched.delete(row);
      if (evicted) evicted(row, matched);
      kr.head++;
      if (kr.head === kr.times.length) {
        this.byKey.delete(key);
        this.changed.add(key);
      }
      else if (kr.head >= 64 && kr.head * 2 >= kr.times.length) {
        kr.rows.splice(0, kr.head);
        kr.times.splice(0, kr.head);
        kr.head = 0;
      }
    }
  }

  /** Every buffered row with its time and match (for a checkpoint). */
  entries(into: { time: number; row: Row; matched: boolean }[]): void {
    for (const kr of this.byKey.values()) {
      for (let i = kr.head; i < kr.rows.length; i++) into.push({ time: kr.times[i]!, row: kr.rows[i]!, matched: this.matched.has(kr.rows[i]!) });
    }
  }

  /** For an incremental checkpoint: the keys changed since the last call, with their rows, and the keys gone. */
  takeChanges(): { set: [EntryKey, StoredKeyRows][]; removed: EntryKey[] } {
    const set: [EntryKey, StoredKeyRows][] = [];
    const removed: EntryKey[] = [];
    for (const key of this.changed) {
      const kr = this.byKey.get(key);
      if (kr === undefined) removed.push(key as EntryKey);
      else {
        const rows = kr.rows.slice(kr.head);
        let matched: number[] | null = null;
        if (this.matched.size > 0) {
          for (let i = 0; i < rows.length; i++) if (this.matched.has(rows[i]!)) (matched ??= []).push(i);
        }
        set.push([key as EntryKey, [rows, matched]]);
      }
    }
    this.changed = new Set();
    return { set, removed };
  }

  /**
   * Every key as `takeChanges` reported them, merged, keeping the rows from `limit` on (`timeOf` gives a row's
   * time); they count as reported. Returns false when an entry is not a key's rows.
   */
  restore(entries: Iterable<readonly [EntryKey, unknown]>, limit: number, timeOf: (row: Row) => unknown): boolean {
    for (const [key, value] of entries) {
      const s = value as StoredKeyRows;
      if (!Array.isArray(s) || !Array.isArray(s[0]) || !(s[1] === null || Array.isArray(s[1]))) return false;
      const [rows, matched] = s;
      const kr: KeyRows = { rows: [], times: [], head: 0 };
      let previous = Number.NEGATIVE_INFINITY;
      for (const row of rows) {
        const t = timeOf(row);
        if (typeof t !== 'number' || t < previous) return false;
        previous = t;
        if (t < limit) continue;
        kr.times.push(t);
        kr.rows.push(row);
        this.push(t, key);
      }
      for (const i of matched ?? []) if (rows[i] !== undefined && (timeOf(rows[i]) as number) >= limit) this.matched.add(rows[i]);
      if (kr.times.length > 0) this.byKey.set(key, kr);
      // Every row of it gone: the next checkpoint says so.
      else this.changed.add(key);
    }
    return true;
  }

  private push(time: number, key: unknown): void {
    const ht = this.heapTimes;
    const hk = this.heapKeys;
    let i = ht.length;
    ht.push(time);
    hk.push(key);
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (ht[parent]! <= time) break;
      ht[i] = ht[parent]!;
      hk[i] = hk[parent];
      i = parent;
    }
    ht[i] = time;
    hk[i] = key;
  }

  private pop(): void {
    const ht = this.heapTimes;
    const hk = this.heapKeys;
    const lastTime = ht.pop()!;
    const lastKey = hk.pop();
    const n = ht.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && ht[r]! < ht[l]! ? r : l;
      if (ht[c]! >= lastTime) break;
      ht[i] = ht[c]!;
      hk[i] = hk[c];
      i = c;
    }
    ht[i] = lastTime;
    hk[i] = lastKey;
  }
}

/**
 * The rows an interval join keeps for one input: grouped by join key, each key's rows in time order, and
 * a min-heap over all rows by time so eviction takes rows from the old end. Adding and evicting a row cost
 * O(log n); a watermark that evicts nothing costs O(1).
 */
import type { Row } from '../expr/types.ts';

/** One key's rows, oldest first; rows before `head` are gone. */
export interface KeyRows {
  readonly rows: Row[];
  readonly times: number[];
  head: number;
}

export class KeyedTimeBuffer {
  private readonly byKey = new Map<unknown, KeyRows>();
  /** A binary min-heap of (time, key), one entry per buffered row. */
  private readonly heapTimes: number[] = [];
  private readonly heapKeys: unknown[] = [];

  get size(): number {
    return this.heapTimes.length;
  }

  get(key: unknown): KeyRows | undefined {
    return this.byKey.get(key);
  }

  add(key: unknown, time: number, row: Row): void {
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

  /** Drops every row with a time before `limit`, oldest first, handing each to `evicted` when given. */
  evictBefore(limit: number, evicted?: (row: Row) => void): void {
    const ht = this.heapTimes;
    while (ht.length > 0 && ht[0]! < limit) {
      const key = this.heapKeys[0];
      this.pop();
      // The heap gives each key's times in ascending order, so the popped entry is that key's oldest row.
      const kr = this.byKey.get(key)!;
      if (evicted) evicted(kr.rows[kr.head]!);
      kr.head++;
      if (kr.head === kr.times.length) this.byKey.delete(key);
      else if (kr.head >= 64 && kr.head * 2 >= kr.times.length) {
        kr.rows.splice(0, kr.head);
        kr.times.splice(0, kr.head);
        kr.head = 0;
      }
    }
  }

  /** Every buffered row (for a checkpoint). */
  rows(): Row[] {
    const all: Row[] = [];
    for (const kr of this.byKey.values()) for (let i = kr.head; i < kr.rows.length; i++) all.push(kr.rows[i]!);
    return all;
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

/**
 * The rows an interval join keeps for one input. They start in chunks of up to CHUNK_ROWS rows in arrival
 * order: a chunk holds its rows, their times and join keys in three arrays and knows its oldest and newest
 * time, so a watermark drops whole chunks (a check per chunk, not work per row), and adding a row is three
 * pushes: no map entry, no heap entry and no object per row. A row is gone once its time is before the last
 * eviction limit, whether or not its chunk is still there: lookups skip it. (A row of this side that old
 * cannot match a row the other side may still send, so skipping it loses nothing; see `evictBefore`.)
 *
 * Looking up a key scans the chunks. That suits an input looked up rarely, such as q7's bids (a key per bid,
 * looked up once per window by the maximum), which used to cost a map entry and a heap entry per bid. An
 * input looked up for every row of the other, with many rows buffered, would scan too much: once lookups
 * have compared SWITCH_AFTER_SCANS rows per row added, the buffer moves its rows to a `KeyIndex` (by key,
 * with a heap by time) for good.
 */
import type { Row } from '../expr/types.ts';

/** Rows per chunk: the unit that a watermark drops whole. */
const CHUNK_ROWS = 4096;
/**
 * The buffer moves its rows to a `KeyIndex` once lookups have compared this many rows per row added
 * (counting at least SWITCH_MIN_ROWS added): a map entry and a heap entry per row cost a few hundred row comparisons, so below
 * that a scan is cheaper. q7's bids are compared about twice per bid (stay in chunks); an input looked up
 * for every row of the other, with thousands of rows buffered, moves.
 */
const SWITCH_AFTER_SCANS = 256;
const SWITCH_MIN_ROWS = 4096;

interface Chunk {
  readonly rows: Row[];
  readonly times: number[];
  readonly keys: unknown[];
  minTime: number;
  maxTime: number;
}

function newChunk(): Chunk {
  return { rows: [], times: [], keys: [], minTime: Number.POSITIVE_INFINITY, maxTime: Number.NEGATIVE_INFINITY };
}

/** The same key as a Map would see it (SameValueZero: NaN equals NaN). */
function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

export class KeyedTimeBuffer {
  private chunks: Chunk[] = [];
  /** Rows with a time before this are gone: the highest limit given to `evictBefore`. */
  private limit = Number.NEGATIVE_INFINITY;
  /** Rows added with a time already before `limit`: no lookup finds them, the next eviction hands them out. */
  private late: { time: number; row: Row; key: unknown }[] = [];
  /** Candidates' times during `matches` (reused). */
  private readonly matchTimes: number[] = [];
  /** Rows added, and rows compared by lookups, in chunks: what decides the switch to keys. */
  private added = 0;
  private scanned = 0;
  /** The rows by key once lookups made that worth it; the chunks are empty from then on. */
  private keyed: KeyIndex | null = null;

  /** Moves every row to a `KeyIndex`, oldest first, for good. */
  private switchToKeys(): void {
    const all = this.entries();
    const keyed = new KeyIndex();
    for (const e of all) keyed.add(e.key, e.time, e.row);
    this.keyed = keyed;
    this.chunks = [];
    this.late = [];
  }

  /** Every row not handed out yet with its time and key, oldest first (ties in arrival order). */
  private entries(): { time: number; row: Row; key: unknown }[] {
    const all = [...this.late];
    for (const c of this.chunks) {
      for (let i = 0; i < c.rows.length; i++) if (c.times[i]! >= this.limit) all.push({ time: c.times[i]!, row: c.rows[i]!, key: c.keys[i] });
    }
    all.sort((a, b) => a.time - b.time);
    return all;
  }

  add(key: unknown, time: number, row: Row): void {
    this.added++;
    if (this.keyed !== null) return this.keyed.add(key, time, row);
    if (time < this.limit) {
      this.late.push({ time, row, key });
      return;
    }
    let c = this.chunks[this.chunks.length - 1];
    if (!c || c.rows.length >= CHUNK_ROWS) {
      c = newChunk();
      this.chunks.push(c);
    }
    c.rows.push(row);
    c.times.push(time);
    c.keys.push(key);
    if (time < c.minTime) c.minTime = time;
    if (time > c.maxTime) c.maxTime = time;
  }

  /**
   * Writes the rows of `key` that are not gone into `into` from position 0, oldest first (ties in arrival
   * order), and returns how many.
   */
  matches(key: unknown, into: Row[]): number {
    const limit = this.limit;
    if (this.keyed === null && this.scanned >= SWITCH_AFTER_SCANS * Math.max(this.added, SWITCH_MIN_ROWS)) this.switchToKeys();
    const keyed = this.keyed;
    if (keyed !== null) {
      // Each key's rows are in time order (ties in arrival order) already.
      const kr = keyed.get(key);
      let n = 0;
      if (kr) for (let i = kr.head; i < kr.rows.length; i++) if (kr.times[i]! >= limit) into[n++] = kr.rows[i]!;
      return n;
    }
    const times = this.matchTimes;
    let n = 0;
    let sorted = true;
    const chunks = this.chunks;
    for (let ci = 0; ci < chunks.length; ci++) {
      const c = chunks[ci]!;
      const ct = c.times;
      const keys = c.keys;
      for (let i = 0; i < keys.length; i++) {
        if (!sameKey(keys[i], key) || ct[i]! < limit) continue;
        if (n > 0 && ct[i]! < times[n - 1]!) sorted = false;
        into[n] = c.rows[i]!;
        times[n++] = ct[i]!;
      }
      this.scanned += keys.length;
    }
    if (!sorted) {
      // Rows came out of time order: a stable insertion sort by time (few candidates per key, mostly in order).
      for (let i = 1; i < n; i++) {
        const t = times[i]!;
        const r = into[i]!;
        let j = i - 1;
        while (j >= 0 && times[j]! > t) {
          times[j + 1] = times[j]!;
          into[j + 1] = into[j]!;
          j--;
        }
        times[j + 1] = t;
        into[j + 1] = r;
      }
    }
    return n;
  }

  /**
   * Drops every row with a time before `limit`, handing each to `evicted` when given, oldest first. The
   * limits given must not decrease (the join derives them from its watermark).
   */
  evictBefore(limit: number, evicted?: (row: Row) => void): void {
    const before = this.limit;
    if (limit > before) this.limit = limit;
    if (this.keyed !== null) return this.keyed.evictBefore(limit, evicted);
    const late = this.late;
    this.late = [];
    const out = evicted ? late : null;
    if (limit <= before && out === null) return;
    let kept = 0;
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!;
      if (out !== null && c.minTime < limit && c.maxTime >= before) {
        const ct = c.times;
        for (let i = 0; i < ct.length; i++) {
          const t = ct[i]!;
          if (t >= before && t < limit) out.push({ time: t, row: c.rows[i]!, key: null });
        }
      }
      if (c.maxTime >= this.limit) this.chunks[kept++] = c;
    }
    this.chunks.length = kept;
    if (out !== null && out.length > 0) {
      out.sort((a, b) => a.time - b.time);
      for (const e of out) evicted!(e.row);
    }
  }

  /** Every row not gone yet, oldest first (for a checkpoint). */
  rows(): Row[] {
    if (this.keyed === null) return this.entries().map((e) => e.row);
    const all: { time: number; row: Row }[] = [];
    this.keyed.entries(all);
    all.sort((a, b) => a.time - b.time);
    return all.map((e) => e.row);
  }
}


/** One key's rows, oldest first; rows before `head` are gone. */
interface KeyRows {
  readonly rows: Row[];
  readonly times: number[];
  head: number;
}


/**
 * The rows by key, each key's rows in time order, and a min-heap over all rows by time so eviction takes rows
 * from the old end: adding and evicting a row cost O(log n), a lookup one map lookup. The layout a buffer
 * switches to once lookups would cost more than keeping it (see `KeyedTimeBuffer`).
 */
class KeyIndex {
  private readonly byKey = new Map<unknown, KeyRows>();
  /** A binary min-heap of (time, key), one entry per buffered row. */
  private readonly heapTimes: number[] = [];
  private readonly heapKeys: unknown[] = [];

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

  /** Every buffered row with its time (for a checkpoint). */
  entries(into: { time: number; row: Row }[]): void {
    for (const kr of this.byKey.values()) for (let i = kr.head; i < kr.rows.length; i++) into.push({ time: kr.times[i]!, row: kr.rows[i]! });
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

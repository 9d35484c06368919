/**
 * The rows an interval join keeps for one input, in chunks of up to CHUNK_ROWS rows in arrival order. A
 * chunk holds its rows, their times and join keys in three arrays and knows its oldest and newest time, so
 * a watermark drops whole chunks (it costs a check per chunk, not work per row), and adding a row is three
 * pushes: no map entry, no heap entry and no object per row. A join on a near-unique value (q7's price)
 * used to make a map entry per row, kept for the whole time bound.
 *
 * A row is gone once its time is before the last eviction limit, whether or not its chunk is still there:
 * lookups skip it. (A row of this side that old cannot match a row the other side may still send, so
 * skipping it loses nothing; see `evictBefore`.)
 *
 * Looking up a key scans a chunk's keys; a chunk that lookups have scanned CHUNK_INDEX_AFTER times over gets
 * an index by key, kept up to date at each later lookup. So an input that is looked up rarely (q7's bids,
 * read once per window by its maximum) never pays for an index, and one looked up for every row of the other
 * input pays about what a map by key costs.
 */
import type { Row } from '../expr/types.ts';

/** Rows per chunk: the unit that a watermark drops whole and that an index covers. */
const CHUNK_ROWS = 4096;
/** A chunk gets an index once lookups have scanned this many times a full chunk's rows in it. */
const CHUNK_INDEX_AFTER = 8;

interface Chunk {
  readonly rows: Row[];
  readonly times: number[];
  readonly keys: unknown[];
  minTime: number;
  maxTime: number;
  /** Positions by key, of the rows before `indexed`; null until lookups have scanned enough. */
  index: Map<unknown, number | number[]> | null;
  indexed: number;
  /** Rows scanned by lookups while the chunk had no index. */
  scanned: number;
}

function newChunk(): Chunk {
  return { rows: [], times: [], keys: [], minTime: Number.POSITIVE_INFINITY, maxTime: Number.NEGATIVE_INFINITY, index: null, indexed: 0, scanned: 0 };
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
  private late: { time: number; row: Row }[] = [];
  /** Candidates' times during `matches` (reused). */
  private readonly matchTimes: number[] = [];

  add(key: unknown, time: number, row: Row): void {
    if (time < this.limit) {
      this.late.push({ time, row });
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
    const times = this.matchTimes;
    let n = 0;
    let sorted = true;
    const chunks = this.chunks;
    for (let ci = 0; ci < chunks.length; ci++) {
      const c = chunks[ci]!;
      const ct = c.times;
      if (c.index === null) {
        const keys = c.keys;
        for (let i = 0; i < keys.length; i++) {
          if (!sameKey(keys[i], key) || ct[i]! < limit) continue;
          if (n > 0 && ct[i]! < times[n - 1]!) sorted = false;
          into[n] = c.rows[i]!;
          times[n++] = ct[i]!;
        }
        c.scanned += keys.length;
        if (c.scanned >= CHUNK_INDEX_AFTER * CHUNK_ROWS) c.index = new Map();
        continue;
      }
      const index = c.index;
      for (let i = c.indexed; i < c.keys.length; i++) {
        const k = c.keys[i];
        const at = index.get(k);
        if (at === undefined) index.set(k, i);
        else if (typeof at === 'number') index.set(k, [at, i]);
        else at.push(i);
      }
      c.indexed = c.keys.length;
      const at = index.get(key);
      if (at === undefined) continue;
      const one = typeof at === 'number';
      const count = one ? 1 : at.length;
      for (let j = 0; j < count; j++) {
        const i = one ? at : at[j]!;
        if (ct[i]! < limit) continue;
        if (n > 0 && ct[i]! < times[n - 1]!) sorted = false;
        into[n] = c.rows[i]!;
        times[n++] = ct[i]!;
      }
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
          if (t >= before && t < limit) out.push({ time: t, row: c.rows[i]! });
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
    const all: { time: number; row: Row }[] = [...this.late];
    for (const c of this.chunks) {
      for (let i = 0; i < c.rows.length; i++) if (c.times[i]! >= this.limit) all.push({ time: c.times[i]!, row: c.rows[i]! });
    }
    all.sort((a, b) => a.time - b.time);
    return all.map((e) => e.row);
  }
}

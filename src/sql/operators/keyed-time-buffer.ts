/**
 * The rows an interval join keeps for one input. They start in chunks of up to CHUNK_ROWS rows in arrival
 * order: a chunk (`RowChunk`) holds its rows column by column with their times and join keys and knows its
 * oldest and newest time, so a watermark drops whole chunks (a check per chunk, not work per row), and adding
 * a row writes its values into the chunk's columns: no map entry, no heap entry and no object per row. A row
 * is gone once its time is before the last eviction limit, whether or not its chunk is still there: lookups
 * skip it. (A row of this side that old cannot match a row the other side may still send, so skipping it
 * loses nothing; see `evictBefore`.) A lookup gives the places of the rows found, whose values the join
 * writes into the row its condition reads: a row is built anew, equal to the one added, only for a pair
 * that passes, an eviction that hands rows out, or a checkpoint.
 *
 * Looking up a key scans the chunks. That suits an input looked up rarely, such as q7's bids (a key per bid,
 * looked up once per window by the maximum), which used to cost a map entry and a heap entry per bid. An
 * input looked up for every row of the other, with many rows buffered, would scan too much: once lookups
 * have compared SWITCH_AFTER_SCANS rows per row added, the buffer moves its rows to a `KeyIndex` (by key,
 * with a heap by time) for good.
 *
 * The buffer also remembers which rows found a match (for an outer, semi- or anti-join): `add` takes the
 * flag of a new row, `markMatched` sets it on a row the last lookup found, and evictions hand it out.
 *
 * A checkpoint takes what changed since the previous one (`takeChanges`): the chunks rows were added to or
 * a match was noted in and the chunks dropped, each chunk by its number, or once the rows are by key, the keys changed
 * and gone; plus, whole, the eviction limit and the late rows. Full chunks of rows that no longer change are
 * not written again. A restore (`restore`) rebuilds the same chunks, numbers and limit, so a row before the
 * limit still in a chunk stays gone, and the chunks it reports next are the ones the store already holds.
 */
import type { Row } from '../expr/types.ts';
import type { EntryKey } from '../runtime/keyed-state.ts';
import { KeyIndex } from './key-index.ts';
import type { StoredKeyRows } from './key-index.ts';
import { RowChunk } from './row-chunk.ts';
import type { StoredChunk } from './row-chunk.ts';

/**
 * The buffer moves its rows to a `KeyIndex` once lookups have compared this many rows per row added
 * (counting at least SWITCH_MIN_ROWS added): a map entry and a heap entry per row cost a few hundred row comparisons, so below
 * that a scan is cheaper. q7's bids are compared about twice per bid (stay in chunks); an input looked up
 * for every row of the other, with thousands of rows buffered, moves.
 */
const SWITCH_AFTER_SCANS = 256;
const SWITCH_MIN_ROWS = 4096;

interface Entry {
  time: number;
  row: Row;
  key: unknown;
  matched: boolean;
}

/** The part of a buffer a checkpoint writes whole: its eviction limit and its late rows. */
export interface BufferMeta {
  readonly limit: number;
  readonly late: readonly Entry[];
}

/** What changed in a buffer since its previous checkpoint (see `takeChanges`). */
export interface BufferChanges {
  readonly meta: BufferMeta;
  /** The rows moved from chunks to keys since: every chunk the store holds is gone. */
  readonly chunksDropped: boolean;
  readonly chunks: { readonly set: [EntryKey, StoredChunk][]; readonly removed: EntryKey[] };
  readonly keys: { readonly set: [EntryKey, StoredKeyRows][]; readonly removed: EntryKey[] };
}

/** The same key as a Map would see it (SameValueZero: NaN equals NaN). */
function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

export class KeyedTimeBuffer {
  private chunks: RowChunk[] = [];
  /** Rows with a time before this are gone: the highest limit given to `evictBefore`. */
  private limit = Number.NEGATIVE_INFINITY;
  /** Rows added with a time already before `limit`: no lookup finds them, the next eviction hands them out. */
  private late: Entry[] = [];
  /** Candidates' times during `find` (reused). */
  private readonly matchTimes: number[] = [];
  /** The rows the last lookup found, oldest first: in chunks, each one's chunk and place (reused). */
  private readonly matchChunks: RowChunk[] = [];
  private readonly matchAt: number[] = [];
  /** Once the rows are by key, the rows themselves. */
  private readonly foundRows: Row[] = [];
  /** How many rows the last lookup found. */
  private found = 0;
  /** Rows added, and rows compared by lookups, in chunks: what decides the switch to keys. */
  private added = 0;
  private scanned = 0;
  /** The rows by key once lookups made that worth it; the chunks are empty from then on. */
  private keyed: KeyIndex | null = null;
  /** The key of the last lookup (to note a match by key). */
  private foundKey: unknown = null;
  /** The number the next chunk gets. */
  private nextChunkId = 0;
  /**
   * Chunks a match was noted in since the last `takeChanges`, each once, and the numbers of those dropped.
   * (Rows are only ever added to the newest chunk: `takeChanges` finds those by their length, so adding a row
   * costs nothing more.)
   */
  private changedChunks: RowChunk[] = [];
  private droppedChunks: number[] = [];
  /** The rows moved to keys since the last `takeChanges`. */
  private switched = false;

  /** Moves every row to a `KeyIndex`, oldest first, for good. */
  private switchToKeys(): void {
    const all = this.entries();
    const keyed = new KeyIndex();
    for (const e of all) keyed.add(e.key, e.time, e.row, e.matched);
    this.keyed = keyed;
    this.chunks = [];
    this.late = [];
    this.switched = true;
    this.changedChunks = [];
    this.droppedChunks = [];
  }

  private changedChunk(c: RowChunk): void {
    if (c.changed) return;
    c.changed = true;
    this.changedChunks.push(c);
  }

  /** Every row not handed out yet with its time, key and match, oldest first (ties in arrival order). */
  private entries(): Entry[] {
    const all = [...this.late];
    for (const c of this.chunks) {
      for (let i = 0; i < c.length; i++) {
        if (c.times[i]! >= this.limit) all.push({ time: c.times[i]!, row: c.row(i), key: c.keyAt(i), matched: c.isMatched(i) });
      }
    }
    all.sort((a, b) => a.time - b.time);
    return all;
  }

  /** Keeps `row` under `key` at `time`; `matched`: whether it found a match already. */
  add(key: unknown, time: number, row: Row, matched = false): void {
    this.added++;
    if (this.keyed !== null) return this.keyed.add(key, time, row, matched);
    if (time < this.limit) {
      this.late.push({ time, row, key, matched });
      return;
    }
    let c = this.chunks[this.chunks.length - 1];
    if (!c || !c.fits(row.length)) {
      c = new RowChunk(row.length);
      c.id = this.nextChunkId++;
      this.chunks.push(c);
    }
    c.add(key, time, row, matched);
  }

  /**
   * Finds the rows of `key` that are not gone, oldest first (ties in arrival order), and returns how many.
   * `foundRow`, `writeFound`, `isMatched` and `markMatched` then take the place of one of them, from 0, until
   * the next add, lookup or eviction.
   */
  find(key: unknown): number {
    const limit = this.limit;
    this.foundKey = key;
    if (this.keyed === null && this.scanned >= SWITCH_AFTER_SCANS * Math.max(this.added, SWITCH_MIN_ROWS)) this.switchToKeys();
    const keyed = this.keyed;
    if (keyed !== null) {
      // Each key's rows are in time order (ties in arrival order) already.
      const kr = keyed.get(key);
      const into = this.foundRows;
      let n = 0;
      if (kr) for (let i = kr.head; i < kr.rows.length; i++) if (kr.times[i]! >= limit) into[n++] = kr.rows[i]!;
      if (this.found > n) into.fill(null as unknown as Row, n, this.found);
      this.found = n;
      return n;
    }
    const times = this.matchTimes;
    const inChunk = this.matchChunks;
    const at = this.matchAt;
    let n = 0;
    let sorted = true;
    const chunks = this.chunks;
    for (let ci = 0; ci < chunks.length; ci++) {
      const c = chunks[ci]!;
      const ct = c.times;
      const keys = c.keys;
      const count = c.length;
      this.scanned += count;
      // A chunk whose keys are all NULL, or all numbers, holds no key of another kind.
      if (keys === null ? key !== null : keys instanceof Float64Array && typeof key !== 'number') continue;
      // A number other than NaN against numbers: === is the Map's equality.
      const exact = keys instanceof Float64Array && key === key;
      for (let i = 0; i < count; i++) {
        if (exact ? keys[i] !== key : keys !== null && !sameKey(keys[i], key)) continue;
        if (ct[i]! < limit) continue;
        if (n > 0 && ct[i]! < times[n - 1]!) sorted = false;
        times[n] = ct[i]!;
        inChunk[n] = c;
        at[n++] = i;
      }
    }
    if (!sorted) {
      // Rows came out of time order: a stable insertion sort by time (few candidates per key, mostly in order).
      for (let i = 1; i < n; i++) {
        const t = times[i]!;
        const c = inChunk[i]!;
        const a = at[i]!;
        let j = i - 1;
        while (j >= 0 && times[j]! > t) {
          times[j + 1] = times[j]!;
          inChunk[j + 1] = inChunk[j]!;
          at[j + 1] = at[j]!;
          j--;
        }
        times[j + 1] = t;
        inChunk[j + 1] = c;
        at[j + 1] = a;
      }
    }
    // The places of an earlier, longer lookup let go of their chunks.
    if (this.found > n) inChunk.fill(null as unknown as RowChunk, n, this.found);
    this.found = n;
    return n;
  }

  /** The number of values of the `i`th row found. */
  foundWidth(i: number): number {
    return this.keyed !== null ? this.foundRows[i]!.length : this.matchChunks[i]!.width;
  }

  /** Writes the values of the `i`th row found into `into` from position `at`. */
  writeFound(i: number, into: Row, at: number): void {
    if (this.keyed === null) return this.matchChunks[i]!.write(this.matchAt[i]!, into, at);
    const row = this.foundRows[i]!;
    for (let x = 0; x < row.length; x++) into[at + x] = row[x]!;
  }

  /** The `i`th row found (equal to the row added; the same object once the rows are by key). */
  foundRow(i: number): Row {
    return this.keyed !== null ? this.foundRows[i]! : this.matchChunks[i]!.row(this.matchAt[i]!);
  }

  /** Whether the `i`th row found has found a match. */
  isMatched(i: number): boolean {
    if (this.keyed !== null) return this.keyed.isMatched(this.foundRows[i]!);
    return this.matchChunks[i]!.isMatched(this.matchAt[i]!);
  }

  /** Notes that the `i`th row found has found a match. */
  markMatched(i: number): void {
    if (this.keyed !== null) return this.keyed.markMatched(this.foundKey, this.foundRows[i]!);
    const c = this.matchChunks[i]!;
    c.markMatched(this.matchAt[i]!);
    this.changedChunk(c);
  }

  /**
   * Drops every row with a time before `limit`, handing each to `evicted` with whether it found a match,
   * oldest first, when given. The limits given must not decrease (the join derives them from its watermark).
   */
  evictBefore(limit: number, evicted?: (row: Row, matched: boolean) => void): void {
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
        for (let i = 0; i < c.length; i++) {
          const t = ct[i]!;
          if (t >= before && t < limit) out.push({ time: t, row: c.row(i), key: null, matched: c.isMatched(i) });
        }
      }
      if (c.maxTime >= this.limit) this.chunks[kept++] = c;
      else {
        c.gone = true;
        this.droppedChunks.push(c.id);
      }
    }
    this.chunks.length = kept;
    if (out !== null && out.length > 0) {
      out.sort((a, b) => a.time - b.time);
      for (const e of out) evicted!(e.row, e.matched);
    }
  }

  /** Every row not gone yet, oldest first, and whether each found a match (for a checkpoint). */
  rows(): { rows: Row[]; matched: boolean[] } {
    let all: { time: number; row: Row; matched: boolean }[];
    if (this.keyed === null) all = this.entries();
    else {
      all = [];
      this.keyed.entries(all);
      all.sort((a, b) => a.time - b.time);
    }
    return { rows: all.map((e) => e.row), matched: all.map((e) => e.matched) };
  }

  /** For an incremental checkpoint: what changed since the last call (copies), and the limit and late rows. */
  takeChanges(): BufferChanges {
    const set: [EntryKey, StoredChunk][] = [];
    // The newest chunks, back to the first whose rows were all reported already.
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i]!;
      if (c.length === c.reportedLength) break;
      this.changedChunk(c);
    }
    for (const c of this.changedChunks) {
      c.reportedLength = c.length;
      c.changed = false;
      if (!c.gone) set.push([c.id, c.stored(this.limit)]);
    }
    const chunks = { set, removed: this.droppedChunks };
    const keys = this.keyed !== null ? this.keyed.takeChanges() : { set: [], removed: [] };
    const changes: BufferChanges = { meta: { limit: this.limit, late: this.late.slice() }, chunksDropped: this.switched, chunks, keys };
    this.changedChunks = [];
    this.droppedChunks = [];
    this.switched = false;
    return changes;
  }

  /**
   * Takes back what `takeChanges` reported, merged: the chunks (by number) or the keys, never both (`timeOf`
   * gives a keyed row's time), and the limit and late rows. Returns false when the parts are not a buffer's.
   */
  restore(meta: BufferMeta, chunks: Iterable<readonly [EntryKey, unknown]>, keys: Iterable<readonly [EntryKey, unknown]>, timeOf: (row: Row) => unknown): boolean {
    if (typeof meta !== 'object' || meta === null || !Array.isArray(meta.late)) return false;
    // -Infinity, before any eviction.
    this.limit = typeof meta.limit === 'number' ? meta.limit : Number.NEGATIVE_INFINITY;
    this.late = meta.late.slice();
    const restored: RowChunk[] = [];
    for (const [id, stored] of chunks) {
      const c = RowChunk.restored(stored);
      if (c === null || typeof id !== 'number' || !Number.isInteger(id)) return false;
      c.id = id;
      restored.push(c);
    }
    restored.sort((a, b) => a.id - b.id);
    this.chunks = restored;
    this.nextChunkId = restored.length > 0 ? restored[restored.length - 1]!.id + 1 : 0;
    const byKey = [...keys];
    if (byKey.length === 0) return true;
    if (restored.length > 0 || this.late.length > 0) return false;
    this.keyed = new KeyIndex();
    return this.keyed.restore(byKey, this.limit, timeOf);
  }
}

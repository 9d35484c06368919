/**
 * Up to CHUNK_ROWS buffered rows of one input, stored column by column with their times and keys, in arrival
 * order. A column is nothing while all its values are NULL (the columns a query does not read are NULL from
 * the decoder on), a `Float64Array` while all are numbers, and an array of values only once it holds
 * something else. So a kept row is no object of its own and mostly not on the JavaScript heap at all: rows
 * an interval join keeps for many seconds used to survive young-generation collections, be copied to the old
 * generation and be marked there, one array (and a boxed number per timestamp) per row. A row is built again,
 * equal value for value, only when it is asked for: a match, an outer join's unmatched row, a checkpoint.
 */
import type { Row, Value } from '../expr/types.ts';

/** Rows per chunk: the unit that a watermark drops whole. */
const CHUNK_ROWS = 4096;
/** Room for rows a chunk starts with, doubled as it fills: a join that keeps a few rows keeps small arrays. */
const FIRST_CAPACITY = 64;

/** A column of a chunk: null while every value so far is NULL, numbers unboxed while every value is one. */
type Column = Float64Array | unknown[] | null;

/**
 * A chunk as a checkpoint keeps it: its rows' times, keys and columns cut to its length, and which rows found a
 * match. Numbers stay in their typed arrays, so a chunk of numbers is written as its bytes.
 */
export interface StoredChunk {
  readonly width: number;
  readonly times: Float64Array<ArrayBuffer>;
  readonly keys: Column;
  readonly columns: readonly Column[];
  readonly matched: Uint8Array | null;
}

/** What a column holds: nothing but NULLs, nothing but numbers, or any values. */
const NULLS = 0;
const NUMBERS = 1;
const VALUES = 2;

/** A column of any values holding `column`'s first `at` values. */
function widened(column: Column, at: number): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < at; i++) values.push(column === null ? null : column[i]);
  return values;
}

function kindOf(column: Column): number {
  return column === null ? NULLS : column instanceof Float64Array ? NUMBERS : VALUES;
}

/** `numbers` copied into an array of `capacity`. */
function grown<T extends Float64Array | Uint8Array>(numbers: T, capacity: number): T {
  const more = new (numbers.constructor as new (n: number) => T)(capacity);
  more.set(numbers);
  return more;
}

/** `column`'s first `length` values, copied. */
function cut(column: Column, length: number): Column {
  return column === null ? null : column.slice(0, length);
}

/** Whether `column` holds `length` values of a kind a chunk's column can be. */
function holds(column: unknown, length: number): column is Column {
  return column === null || ((column instanceof Float64Array || Array.isArray(column)) && column.length === length);
}

export class RowChunk {
  length = 0;
  /** The buffer's number for this chunk (its entry in a checkpoint). */
  id = 0;
  /** A match noted since the buffer last reported it to a checkpoint (it is in the buffer's list of changed chunks). */
  changed = false;
  /** How many rows it had when the buffer last reported it to a checkpoint. */
  reportedLength = 0;
  /** Dropped by an eviction: a checkpoint no longer reports it. */
  gone = false;
  minTime = Number.POSITIVE_INFINITY;
  maxTime = Number.NEGATIVE_INFINITY;
  times = new Float64Array(FIRST_CAPACITY);
  /** The rows' join keys, a column like the others (q7's prices, q5's window ends: numbers). */
  keys: Column = null;
  private keyKind = NULLS;
  private readonly columns: Column[];
  private readonly kinds: Uint8Array;
  /** Per row, whether it found a match (outer, semi- and anti-joins only; allocated at the first). */
  private matchedFlags: Uint8Array | null = null;

  /** `width`: the number of values of every row of this chunk. */
  constructor(readonly width: number) {
    this.columns = new Array<Column>(width).fill(null);
    this.kinds = new Uint8Array(width);
  }

  /** Whether `add` takes a row of this width. */
  fits(width: number): boolean {
    return this.length < CHUNK_ROWS && width === this.width;
  }

  add(key: unknown, time: number, row: Row, matched: boolean): void {
    const at = this.length++;
    if (at === this.times.length) this.grow();
    this.times[at] = time;
    if (this.keyKind === NUMBERS && typeof key === 'number') (this.keys as Float64Array)[at] = key;
    else if (this.keyKind === VALUES) (this.keys as unknown[])[at] = key;
    else if (this.keyKind !== NULLS || key !== null) {
      this.keyKind = this.keyKind === NULLS && at === 0 && typeof key === 'number' ? NUMBERS : VALUES;
      this.keys = this.keyKind === NUMBERS ? new Float64Array(this.times.length) : widened(this.keys, at);
      this.keys[at] = key;
    }
    const columns = this.columns;
    const kinds = this.kinds;
    for (let c = 0; c < kinds.length; c++) {
      const v = row[c]!;
      const kind = kinds[c]!;
      if (kind === NUMBERS && typeof v === 'number') (columns[c] as Float64Array)[at] = v;
      else if (kind === VALUES) (columns[c] as unknown[])[at] = v;
      else if (kind !== NULLS || v !== null) {
        // The column's first value that is not NULL, or its first that is not a number: it widens.
        const numbers = kind === NULLS && at === 0 && typeof v === 'number';
        kinds[c] = numbers ? NUMBERS : VALUES;
        const column = numbers ? new Float64Array(this.times.length) : widened(columns[c]!, at);
        column[at] = v;
        columns[c] = column;
      }
    }
    if (matched) this.markMatched(at);
    if (time < this.minTime) this.minTime = time;
    if (time > this.maxTime) this.maxTime = time;
  }

  keyAt(i: number): unknown {
    const keys = this.keys;
    return keys === null ? null : keys[i];
  }

  /** A new row equal to the one added at position `i`. */
  row(i: number): Row {
    const row: Row = new Array<Value>(this.width);
    this.write(i, row, 0);
    return row;
  }

  /** Writes the values of the row added at position `i` into `into` from position `at`. */
  write(i: number, into: Row, at: number): void {
    const columns = this.columns;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      into[at + c] = column === null ? null : (column[i] as Value);
    }
  }

  isMatched(i: number): boolean {
    return this.matchedFlags !== null && this.matchedFlags[i] === 1;
  }

  markMatched(i: number): void {
    if (this.matchedFlags === null) this.matchedFlags = new Uint8Array(this.times.length);
    this.matchedFlags[i] = 1;
  }

  /**
   * A copy of the chunk as a checkpoint keeps it, without its rows before `limit`: they are gone (no lookup
   * finds them and they were handed out), and a chunk written again and again as rows are added to it would
   * otherwise carry them each time.
   */
  stored(limit: number): StoredChunk {
    const n = this.length;
    if (this.minTime >= limit) {
      return {
        width: this.width,
        times: this.times.slice(0, n),
        keys: cut(this.keys, n),
        columns: this.columns.map((c) => cut(c, n)),
        matched: this.matchedFlags === null ? null : this.matchedFlags.slice(0, n),
      };
    }
    const at: number[] = [];
    for (let i = 0; i < n; i++) if (this.times[i]! >= limit) at.push(i);
    const pick = (column: Column): Column => (column === null ? null : column instanceof Float64Array ? Float64Array.from(at, (i) => column[i]!) : at.map((i) => column[i]));
    return {
      width: this.width,
      times: Float64Array.from(at, (i) => this.times[i]!),
      keys: pick(this.keys),
      columns: this.columns.map(pick),
      matched: this.matchedFlags === null ? null : Uint8Array.from(at, (i) => this.matchedFlags![i]!),
    };
  }

  /** The chunk a checkpoint kept (`stored`), or null when `s` is not one. */
  static restored(s: unknown): RowChunk | null {
    const st = s as StoredChunk;
    if (typeof st !== 'object' || st === null || !Number.isInteger(st.width) || !(st.times instanceof Float64Array)) return null;
    const n = st.times.length;
    if (n > CHUNK_ROWS || !Array.isArray(st.columns) || st.columns.length !== st.width) return null;
    if (!holds(st.keys, n) || !st.columns.every((c) => holds(c, n))) return null;
    if (st.matched !== null && !(st.matched instanceof Uint8Array && st.matched.length === n)) return null;
    // Copies: the chunk grows and notes matches in place, and the state it came from may be restored again.
    const c = new RowChunk(st.width);
    c.length = n;
    c.reportedLength = n;
    c.times = st.times.slice();
    c.keys = cut(st.keys, n);
    c.keyKind = kindOf(st.keys);
    st.columns.forEach((column, i) => {
      c.columns[i] = cut(column, n);
      c.kinds[i] = kindOf(column);
    });
    c.matchedFlags = st.matched === null ? null : st.matched.slice();
    for (let i = 0; i < n; i++) {
      const t = st.times[i]!;
      if (t < c.minTime) c.minTime = t;
      if (t > c.maxTime) c.maxTime = t;
    }
    return c;
  }

  /** Twice the room in every array of numbers (arrays of values grow by themselves). */
  private grow(): void {
    const capacity = Math.min(Math.max(this.times.length * 2, FIRST_CAPACITY), CHUNK_ROWS);
    this.times = grown(this.times, capacity);
    if (this.keys instanceof Float64Array) this.keys = grown(this.keys, capacity);
    const columns = this.columns;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      if (column instanceof Float64Array) columns[c] = grown(column, capacity);
    }
    if (this.matchedFlags !== null) this.matchedFlags = grown(this.matchedFlags, capacity);
  }
}

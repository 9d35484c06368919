/**
 * The rows of a reference table held column by column: numbers in a typed array (32-bit integers until a value
 * needs 64-bit floats), booleans in bytes, text as UTF-8 in one byte pool per column, a null flag per row only
 * for columns that hold a null. A table of millions of rows is a handful of large buffers instead of one array
 * and one string per row and cell. A row is made on demand (`row`, `appendRow`) with the values it was given.
 *
 * Rows are numbered slots. A changelog table overwrites a slot in place, frees it (`free`), and `compact`s
 * the live slots down in order once enough are free.
 */
import type { SqlTypeName } from './ast/index.ts';
import type { Row, Value } from './expr/types.ts';

interface Column {
  get(slot: number): Value;
  isNull(slot: number): boolean;
  set(slot: number, v: Value): void;
  grow(capacity: number): void;
  /** The value at `slot` is about to be overwritten or dropped. */
  release?(slot: number): void;
  /** Moves slot `from`'s value to slot `to` (to <= from), for compaction. */
  move(from: number, to: number): void;
  /** Hash of a non-null value at `slot`, equal to `hashValue` of the value it holds. */
  hashAt(slot: number): number;
  /** Whether `slot` holds a value equal to `v` (same type; numbers compare as `Object.is` but 0 equals -0). */
  equalsAt(slot: number, v: Value, probe: ProbeText): boolean;
  bytes(): number;
}

/** Growable per-row null flags, allocated with the first null. */
class Nulls {
  flags: Uint8Array | null = null;
  constructor(private capacity: number) {}
  isNull(slot: number): boolean {
    return this.flags !== null && this.flags[slot] === 1;
  }
  set(slot: number, isNull: boolean): void {
    if (isNull) {
      this.flags ??= new Uint8Array(this.capacity);
      this.flags[slot] = 1;
    } else if (this.flags !== null) this.flags[slot] = 0;
  }
  grow(capacity: number): void {
    this.capacity = capacity;
    if (this.flags) this.flags = grown(this.flags, capacity);
  }
  move(from: number, to: number): void {
    if (this.flags) this.flags[to] = this.flags[from]!;
  }
  bytes(): number {
    return this.flags?.byteLength ?? 0;
  }
}

function grown<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a.subarray(0, Math.min(a.length, capacity)) as never);
  return b;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** What null and every non-finite number hash to (JSON text writes them all as null). */
const NULL_HASH = 0x5bd1e995;

/** Hash of a number; every non-finite number hashes as null does, and -0 as 0 (give it `v + 0`). */
export function hashNumber(v: number): number {
  if ((v | 0) === v) return mix(v | 0);
  if (!Number.isFinite(v)) return NULL_HASH;
  f64[0] = v;
  return mix(u32[0]! ^ Math.imul(u32[1]!, 0x9e3779b1));
}

export function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return mix(h ^ (end - start));
}

/** A probe's text encoded once as UTF-8, compared with a text column's bytes without making a string. */
export class ProbeText {
  buf = Buffer.allocUnsafe(256);
  private text: string | null = null;
  length = 0;
  encode(s: string): void {
    if (s === this.text) return;
    if (s.length * 3 > this.buf.length) this.buf = Buffer.allocUnsafe(s.length * 3);
    this.length = this.buf.write(s, 0, 'utf8');
    this.text = s;
  }
}

export function hashValue(v: Value, probe: ProbeText): number {
  if (typeof v === 'number') return hashNumber(v + 0);
  if (typeof v === 'string') {
    probe.encode(v);
    return hashBytes(probe.buf, 0, probe.length);
  }
  if (typeof v === 'boolean') return v ? 0x27d4eb2f : 0x165667b1;
  return NULL_HASH;
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

class NumberColumn implements Column {
  private ints: Int32Array | null;
  private floats: Float64Array | null = null;
  readonly nulls: Nulls;
  constructor(capacity: number) {
    this.ints = new Int32Array(capacity);
    this.nulls = new Nulls(capacity);
  }
  isNull(slot: number): boolean {
    return this.nulls.isNull(slot);
  }
  get(slot: number): Value {
    if (this.nulls.isNull(slot)) return null;
    return this.ints !== null ? this.ints[slot]! : this.floats![slot]!;
  }
  set(slot: number, v: Value): void {
    this.nulls.set(slot, v === null);
    if (v === null) return;
    const n = v as number;
    if (this.ints !== null) {
      if ((n | 0) === n && !Object.is(n, -0)) {
        this.ints[slot] = n;
        return;
      }
      this.floats = Float64Array.from(this.ints);
      this.ints = null;
    }
    this.floats![slot] = n;
  }
  grow(capacity: number): void {
    if (this.ints) this.ints = grown(this.ints, capacity);
    else this.floats = grown(this.floats!, capacity);
    this.nulls.grow(capacity);
  }
  move(from: number, to: number): void {
    if (this.ints) this.ints[to] = this.ints[from]!;
    else this.floats![to] = this.floats![from]!;
    this.nulls.move(from, to);
  }
  hashAt(slot: number): number {
    return hashNumber(this.ints !== null ? this.ints[slot]! : this.floats![slot]! + 0);
  }
  equalsAt(slot: number, v: Value): boolean {
    return typeof v === 'number' && !this.nulls.isNull(slot) && sameNumber(this.ints !== null ? this.ints[slot]! : this.floats![slot]!, v);
  }
  bytes(): number {
    return (this.ints ?? this.floats)!.byteLength + this.nulls.bytes();
  }
}

class BooleanColumn implements Column {
  /** 0 false, 1 true, 2 null. */
  private values: Uint8Array;
  constructor(capacity: number) {
    this.values = new Uint8Array(capacity);
  }
  isNull(slot: number): boolean {
    return this.values[slot] === 2;
  }
  get(slot: number): Value {
    const b = this.values[slot]!;
    return b === 2 ? null : b === 1;
  }
  set(slot: number, v: Value): void {
    this.values[slot] = v === null ? 2 : v ? 1 : 0;
  }
  grow(capacity: number): void {
    this.values = grown(this.values, capacity);
  }
  move(from: number, to: number): void {
    this.values[to] = this.values[from]!;
  }
  hashAt(slot: number): number {
    return this.values[slot] === 1 ? 0x27d4eb2f : 0x165667b1;
  }
  equalsAt(slot: number, v: Value): boolean {
    return typeof v === 'boolean' && this.values[slot] === (v ? 1 : 0);
  }
  bytes(): number {
    return this.values.byteLength;
  }
}

/** Text as UTF-8 in one pool; a slot holds where its bytes start and how many there are. */
class TextColumn implements Column {
  private pool = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  /** Bytes of the pool that values still use (the rest was overwritten or dropped). */
  private liveBytes = 0;
  private starts: Uint32Array;
  private lengths: Uint32Array;
  readonly nulls: Nulls;
  constructor(capacity: number) {
    this.starts = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.nulls = new Nulls(capacity);
  }
  isNull(slot: number): boolean {
    return this.nulls.isNull(slot);
  }
  get(slot: number): Value {
    if (this.nulls.isNull(slot)) return null;
    const start = this.starts[slot]!;
    return this.pool.toString('utf8', start, start + this.lengths[slot]!);
  }
  set(slot: number, v: Value): void {
    this.nulls.set(slot, v === null);
    if (v === null) return;
    const s = v as string;
    const room = s.length * 3;
    if (this.used + room > this.pool.length) {
      const pool = Buffer.allocUnsafe(Math.max(this.pool.length * 2, this.used + room));
      this.pool.copy(pool, 0, 0, this.used);
      this.pool = pool;
    }
    const n = this.pool.write(s, this.used, 'utf8');
    this.starts[slot] = this.used;
    this.lengths[slot] = n;
    this.used += n;
    this.liveBytes += n;
  }
  release(slot: number): void {
    if (this.nulls.isNull(slot)) return;
    this.liveBytes -= this.lengths[slot]!;
    this.lengths[slot] = 0;
  }
  /** Whether overwritten values left enough of the pool unused that `repack` is worth its copy. */
  get wasteful(): boolean {
    return this.used > 1024 * 1024 && this.used > this.liveBytes * 2;
  }
  grow(capacity: number): void {
    this.starts = grown(this.starts, capacity);
    this.lengths = grown(this.lengths, capacity);
    this.nulls.grow(capacity);
  }
  move(from: number, to: number): void {
    this.starts[to] = this.starts[from]!;
    this.lengths[to] = this.lengths[from]!;
    this.nulls.move(from, to);
  }
  /** Copies the bytes of slots [0, count) into a pool of their size, dropping what overwritten values left. */
  repack(count: number): void {
    let total = 0;
    for (let i = 0; i < count; i++) if (!this.nulls.isNull(i)) total += this.lengths[i]!;
    const pool = Buffer.allocUnsafe(Math.max(total, 1024));
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (this.nulls.isNull(i)) continue;
      const start = this.starts[i]!;
      this.pool.copy(pool, at, start, start + this.lengths[i]!);
      this.starts[i] = at;
      at += this.lengths[i]!;
    }
    this.pool = pool;
    this.used = at;
    this.liveBytes = at;
  }
  /** Gives back the pool's room past its last byte. */
  shrink(): void {
    if (this.pool.length - this.used < this.pool.length / 8) return;
    const pool = Buffer.allocUnsafe(Math.max(this.used, 1024));
    this.pool.copy(pool, 0, 0, this.used);
    this.pool = pool;
  }
  hashAt(slot: number): number {
    const start = this.starts[slot]!;
    return hashBytes(this.pool, start, start + this.lengths[slot]!);
  }
  equalsAt(slot: number, v: Value, probe: ProbeText): boolean {
    if (typeof v !== 'string' || this.nulls.isNull(slot)) return false;
    probe.encode(v);
    const n = probe.length;
    if (this.lengths[slot] !== n) return false;
    const start = this.starts[slot]!;
    const pool = this.pool;
    const bytes = probe.buf;
    for (let i = 0; i < n; i++) if (pool[start + i] !== bytes[i]) return false;
    return true;
  }
  bytes(): number {
    return this.pool.byteLength + this.starts.byteLength + this.lengths.byteLength + this.nulls.bytes();
  }
}

/** Any other type: the values as given, one array slot each. */
class ValueColumn implements Column {
  private values: Value[] = [];
  private readonly probe = new ProbeText();
  isNull(slot: number): boolean {
    return (this.values[slot] ?? null) === null;
  }
  get(slot: number): Value {
    return this.values[slot] ?? null;
  }
  set(slot: number, v: Value): void {
    this.values[slot] = v;
  }
  grow(): void {}
  move(from: number, to: number): void {
    this.values[to] = this.values[from]!;
  }
  hashAt(slot: number): number {
    return hashValue(this.values[slot]!, this.probe);
  }
  equalsAt(slot: number, v: Value): boolean {
    const w = this.values[slot] ?? null;
    return typeof w === typeof v && (typeof w === 'number' ? sameNumber(w, v as number) : w === v);
  }
  bytes(): number {
    return this.values.length * 8;
  }
}

function columnFor(type: SqlTypeName, capacity: number): Column {
  switch (type) {
    case 'BIGINT':
    case 'DOUBLE':
    case 'TIMESTAMP':
    case 'INTERVAL':
      return new NumberColumn(capacity);
    case 'BOOLEAN':
      return new BooleanColumn(capacity);
    case 'VARCHAR':
      return new TextColumn(capacity);
    default:
      return new ValueColumn();
  }
}

export class ColumnarRows {
  private readonly columns: Column[];
  private capacity: number;
  /** Slots in use, live or freed; slot numbers below this are valid. */
  private count = 0;
  /** 1 where a slot was freed; null while none is. */
  private freed: Uint8Array | null = null;
  private freedCount = 0;

  constructor(readonly types: readonly SqlTypeName[], capacity = 1024) {
    this.capacity = Math.max(16, capacity);
    this.columns = types.map((t) => columnFor(t, this.capacity));
  }

  /** Slots in use (live or freed): iterate `0 .. slots - 1` and skip `!isLive`. */
  get slots(): number {
    return this.count;
  }

  /** Live rows. */
  get size(): number {
    return this.count - this.freedCount;
  }

  get width(): number {
    return this.columns.length;
  }

  isLive(slot: number): boolean {
    return this.freed === null || this.freed[slot] === 0;
  }

  /** Adds a row of the columns' types (values already cast) and returns its slot. */
  append(row: readonly Value[]): number {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    const slot = this.count++;
    this.write(slot, row);
    return slot;
  }

  /** Adds a row one value at a time: `beginRow()`, then `setValue` for every column. */
  beginRow(): number {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    return this.count++;
  }

  setValue(slot: number, column: number, v: Value): void {
    this.columns[column]!.set(slot, v);
  }

  /** Replaces a live row in place (its slot stays). */
  overwrite(slot: number, row: readonly Value[]): void {
    for (const c of this.columns) c.release?.(slot);
    this.write(slot, row);
    this.repackText();
  }

  free(slot: number): void {
    this.freed ??= new Uint8Array(this.capacity);
    if (this.freed[slot] === 1) return;
    this.freed[slot] = 1;
    this.freedCount++;
    for (const c of this.columns) c.release?.(slot);
    this.repackText();
  }

  private write(slot: number, row: readonly Value[]): void {
    for (let c = 0; c < this.columns.length; c++) this.columns[c]!.set(slot, row[c] ?? null);
  }

  /** Text pools that overwritten rows left mostly unused are copied down; slots do not move. */
  private repackText(): void {
    for (const c of this.columns) if (c instanceof TextColumn && c.wasteful) c.repack(this.count);
  }

  /** Whether enough slots are free that `compact` is worth its copy. */
  get wantsCompaction(): boolean {
    return this.freedCount > 1024 && this.freedCount * 2 > this.count;
  }

  /** Moves the live rows down over the freed slots, keeping their order; slot numbers change. */
  compact(): void {
    if (this.freed === null) return;
    let to = 0;
    for (let from = 0; from < this.count; from++) {
      if (this.freed[from] === 1) continue;
      if (from !== to) for (const c of this.columns) c.move(from, to);
      to++;
    }
    this.count = to;
    this.freed = null;
    this.freedCount = 0;
    for (const c of this.columns) if (c instanceof TextColumn) c.repack(to);
  }

  isNullAt(slot: number, column: number): boolean {
    return this.columns[column]!.isNull(slot);
  }

  value(slot: number, column: number): Value {
    return this.columns[column]!.get(slot);
  }

  row(slot: number): Row {
    const row: Row = new Array<Value>(this.columns.length);
    for (let c = 0; c < this.columns.length; c++) row[c] = this.columns[c]!.get(slot);
    return row;
  }

  /** Pushes the values of `slot` onto `out` (a joined row). */
  appendRow(slot: number, out: Row): void {
    for (let c = 0; c < this.columns.length; c++) out.push(this.columns[c]!.get(slot));
  }

  /** Every live row, made anew: for small tables and tests. */
  rows(): Row[] {
    const rows: Row[] = [];
    for (let s = 0; s < this.count; s++) if (this.isLive(s)) rows.push(this.row(s));
    return rows;
  }

  /** Hash of the value at (slot, column), equal to `hashValue` of that value (null included). */
  hashAt(slot: number, column: number): number {
    const c = this.columns[column]!;
    return c.isNull(slot) ? NULL_HASH : c.hashAt(slot);
  }

  /**
   * Whether (slot, column) holds `v`: same type, numbers equal as `Object.is` but 0 equals -0. With
   * `json`, as JSON text compares them: null and every non-finite number are one value.
   */
  equalsAt(slot: number, column: number, v: Value, probe: ProbeText, json: boolean): boolean {
    const c = this.columns[column]!;
    if (json && (v === null || (typeof v === 'number' && !Number.isFinite(v)))) {
      if (c.isNull(slot)) return true;
      const w = c.get(slot);
      return typeof w === 'number' && !Number.isFinite(w);
    }
    return v !== null && c.equalsAt(slot, v, probe);
  }

  /** Gives back the room past the last slot (after a bulk load). */
  trim(): void {
    for (const c of this.columns) if (c instanceof TextColumn) c.shrink();
    if (this.capacity - this.count < this.capacity / 8) return;
    this.grow(Math.max(16, this.count));
  }

  /** Bytes held by the columns' buffers. */
  bytes(): number {
    let total = this.freed?.byteLength ?? 0;
    for (const c of this.columns) total += c.bytes();
    return total;
  }

  private grow(capacity: number): void {
    this.capacity = capacity;
    for (const c of this.columns) c.grow(capacity);
    if (this.freed) this.freed = grown(this.freed, capacity);
  }
}

export function rowsFrom(types: readonly SqlTypeName[], rows: readonly (readonly Value[])[]): ColumnarRows {
  const table = new ColumnarRows(types, rows.length);
  for (const r of rows) table.append(r);
  return table;
}

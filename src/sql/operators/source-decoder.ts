/**
 * Turns input records (JSON objects) into rows of the source's columns, converting to the declared types.
 * The hidden ROWTIME column (last) is the record's `_arrival_time` or `arrival_time` field when present,
 * else the event-time column, else the processing time; like a real arrival time it never goes backwards
 * (an earlier value is raised to the latest ROWTIME so far). With `arrivalColumn`, a second hidden column
 * after it, APPROXIMATE_ARRIVAL_TIME, holds the arrival time as given, not raised: a live source's log
 * arrival time, else the record's `_approximate_arrival_time`, `_arrival_time` or `arrival_time` field,
 * else ROWTIME.
 */
import type { SqlTypeName } from '../ast/index.ts';
import { impossibleDateTime, parseTimestampText } from '../expr/time.ts';
import type { Row, Value } from '../expr/types.ts';
import { beyondBits } from '../expr/types.ts';
import { JsonFieldReader } from './json-fields.ts';

export interface DecoderColumn {
  readonly name: string;
  readonly type: SqlTypeName;
  /** A declared TINYINT, SMALLINT or INTEGER: its width in bits, beyond which a value does not convert. */
  readonly bits?: number;
}

export class DecodeError extends Error {}

function convert(raw: unknown, type: SqlTypeName, name: string, bits?: number): Value {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'BIGINT': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(n)) throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, not an integer`);
      if (bits !== undefined && beyondBits(n, bits)) {
        throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, beyond its ${bits}-bit integer type (${-(2 ** (bits - 1))} to ${2 ** (bits - 1) - 1}); declare it BIGINT`);
      }
      return n;
    }
    case 'DOUBLE': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (Number.isNaN(n)) throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, not a number`);
      return n;
    }
    case 'VARCHAR':
      return typeof raw === 'string' ? raw : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
    case 'BOOLEAN':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, not a boolean`);
    case 'TIMESTAMP': {
      if (typeof raw === 'number') return raw;
      const t = typeof raw === 'string' ? parseTimestampText(raw) : null;
      if (t === null) {
        const why = typeof raw === 'string' ? impossibleDateTime(raw) : null;
        throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, not a timestamp (${why ?? 'ISO 8601 text or epoch milliseconds'})`);
      }
      return t;
    }
    default:
      return typeof raw === 'object' ? JSON.stringify(raw) : (raw as Value);
  }
}

/**
 * A column's conversion: the common case (the value already of the column's JSON type) answered inline,
 * anything else by `convert`, which gives the same value or error.
 */
function converter(column: DecoderColumn): (raw: unknown) => Value {
  const { type, name, bits } = column;
  const general = (raw: unknown) => convert(raw, type, name, bits);
  switch (type) {
    case 'BIGINT':
      if (bits !== undefined) return general;
      return (raw) => (typeof raw === 'number' && Number.isSafeInteger(raw) ? raw : general(raw));
    case 'DOUBLE':
      return (raw) => (typeof raw === 'number' && !Number.isNaN(raw) ? raw : general(raw));
    case 'VARCHAR':
      return (raw) => (typeof raw === 'string' ? raw : general(raw));
    case 'TIMESTAMP':
      return (raw) => (typeof raw === 'number' ? raw : general(raw));
    default:
      return general;
  }
}

export class SourceDecoder {
  /** Positions of the columns read, and of those left NULL. */
  private readonly positions: number[];
  private readonly unread: number[];
  /** Per column read (in `positions` order), the field names it is looked up by. */
  private readonly lookups: (readonly string[])[];
  /** Per column read, its conversion (see `converter`). */
  private readonly converters: ((raw: unknown) => Value)[];
  private lastRowtime = Number.NEGATIVE_INFINITY;
  /** Reads the columns' fields straight from JSON bytes (`decodeJson`); null when a name could be found on Object.prototype. */
  private readonly reader: JsonFieldReader | null;
  /** Per column, the reader's slots of its lookup names, in lookup order. */
  private readonly columnSlots: (readonly number[])[];
  private readonly fieldValues: unknown[];

  constructor(
    private readonly columns: readonly DecoderColumn[],
    /** Position of the event-time column that ROWTIME falls back to, or -1. */
    private readonly eventTimeIndex: number,
    private readonly now: () => number,
    /** Whether rows carry APPROXIMATE_ARRIVAL_TIME after ROWTIME (only when the query reads it). */
    private readonly arrivalColumn = false,
    /** Per column, whether the query reads it (all when absent); a column it does not read is left NULL, its field not looked at. */
    read?: readonly boolean[],
  ) {
    this.positions = [];
    this.unread = [];
    columns.forEach((_, i) => (read === undefined || read[i] ? this.positions : this.unread).push(i));
    this.lookups = this.positions.map((i) => [...new Set([columns[i]!.name, columns[i]!.name.toLowerCase(), columns[i]!.name.toUpperCase()])]);
    this.converters = this.positions.map((i) => converter(columns[i]!));
    const names: string[] = [];
    const timestampOnly: boolean[] = [];
    let usable = true;
    this.columnSlots = this.lookups.map((list, k) =>
      list.map((name) => {
        // A property lookup on the parsed object would find Object.prototype's `constructor` or `toString`.
        if (name in Object.prototype) usable = false;
        let slot = names.indexOf(name);
        if (slot < 0) {
          slot = names.push(name) - 1;
          timestampOnly.push(true);
        }
        if (columns[this.positions[k]!]!.type !== 'TIMESTAMP') timestampOnly[slot] = false;
        return slot;
      }),
    );
    const timestampSlots = new Set(timestampOnly.flatMap((only, slot) => (only ? [slot] : [])));
    this.reader = usable ? new JsonFieldReader(names, timestampSlots) : null;
    this.fieldValues = new Array<unknown>(names.length);
  }

  /** The latest ROWTIME, which later ones may not go below. */
  snapshot(): number {
    return this.lastRowtime;
  }

  restore(lastRowtime: unknown): void {
    this.lastRowtime = typeof lastRowtime === 'number' ? lastRowtime : Number.NEGATIVE_INFINITY;
  }

  /**
   * A row with the hidden ROWTIME last; throws `DecodeError` naming the bad field. `arrivalTime` (a live
   * source's log arrival time, ms) takes the place of the record's `_arrival_time` field.
   */
  decode(record: Record<string, unknown>, arrivalTime?: number): Row {
    const cols = this.columns;
    const converters = this.converters;
    const row: Row = new Array(cols.length + (this.arrivalColumn ? 2 : 1));
    const positions = this.positions;
    for (let k = 0; k < positions.length; k++) {
      const names = this.lookups[k]!;
      let raw = record[names[0]!];
      for (let j = 1; raw === undefined && j < names.length; j++) raw = record[names[j]!];
      row[positions[k]!] = converters[k]!(raw);
    }
    for (let u = 0; u < this.unread.length; u++) row[this.unread[u]!] = null;
    const arrival = arrivalTime ?? record._arrival_time ?? record.arrival_time;
    let rowtime: Value = null;
    if (arrival !== undefined && arrival !== null) rowtime = convert(arrival, 'TIMESTAMP', '_arrival_time');
    else if (this.eventTimeIndex >= 0) rowtime = row[this.eventTimeIndex] as Value;
    this.setRowtime(row, rowtime);
    if (this.arrivalColumn) {
      const approx = arrivalTime ?? record._approximate_arrival_time;
      const given = approx === undefined || approx === null ? null : convert(approx, 'TIMESTAMP', '_approximate_arrival_time');
      row[cols.length + 1] = given ?? (arrival === undefined || arrival === null ? row[cols.length]! : rowtime);
    }
    return row;
  }

  /**
   * `decode` of the JSON object in `data` (UTF-8) with a live source's arrival time, reading only the
   * columns' fields from the bytes. Null when the bytes need a full parse (not a JSON object, a column's
   * value an object or array, ...): the caller then parses them and calls `decode`, which gives the same row
   * or error. Throws `DecodeError` as `decode` does.
   */
  decodeJson(data: Uint8Array, arrivalTime: number): Row | null {
    if (this.reader === null) return null;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const values = this.fieldValues;
    if (!this.reader.read(buf, values)) return null;
    const cols = this.columns;
    const row: Row = new Array(cols.length + (this.arrivalColumn ? 2 : 1));
    const positions = this.positions;
    for (let k = 0; k < positions.length; k++) {
      const slots = this.columnSlots[k]!;
      let raw = values[slots[0]!];
      for (let j = 1; raw === undefined && j < slots.length; j++) raw = values[slots[j]!];
      row[positions[k]!] = this.converters[k]!(raw);
    }
    for (let u = 0; u < this.unread.length; u++) row[this.unread[u]!] = null;
    this.setRowtime(row, arrivalTime);
    if (this.arrivalColumn) row[cols.length + 1] = arrivalTime;
    return row;
  }

  /** ROWTIME last: `rowtime`, else the processing time, never below the latest so far. */
  private setRowtime(row: Row, rowtime: Value): void {
    let t = typeof rowtime === 'number' ? rowtime : this.now();
    if (t < this.lastRowtime) t = this.lastRowtime;
    else this.lastRowtime = t;
    row[this.columns.length] = t;
  }
}

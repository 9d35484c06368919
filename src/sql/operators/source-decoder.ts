/**
 * Turns input records (JSON objects) into rows of the source's columns, converting to the declared types.
 * The hidden ROWTIME column (last) is the record's `_arrival_time` or `arrival_time` field when present,
 * else the event-time column, else the processing time; like a real arrival time it never goes backwards
 * (an earlier value is raised to the latest ROWTIME so far).
 */
import type { SqlTypeName } from '../ast/index.ts';
import { parseTimestampText } from '../expr/time.ts';
import type { Row, Value } from '../expr/types.ts';

export interface DecoderColumn {
  readonly name: string;
  readonly type: SqlTypeName;
}

export class DecodeError extends Error {}

function convert(raw: unknown, type: SqlTypeName, name: string): Value {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'BIGINT': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(n)) throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, not an integer`);
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
      if (t === null) throw new DecodeError(`field "${name}" is ${JSON.stringify(raw)}, not a timestamp (ISO 8601 text or epoch milliseconds)`);
      return t;
    }
    default:
      return typeof raw === 'object' ? JSON.stringify(raw) : (raw as Value);
  }
}

export class SourceDecoder {
  private readonly lookups: (readonly string[])[];
  private lastRowtime = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly columns: readonly DecoderColumn[],
    /** Position of the event-time column that ROWTIME falls back to, or -1. */
    private readonly eventTimeIndex: number,
    private readonly now: () => number,
  ) {
    this.lookups = columns.map((c) => [...new Set([c.name, c.name.toLowerCase(), c.name.toUpperCase()])]);
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
    const row: Row = new Array(cols.length + 1);
    for (let i = 0; i < cols.length; i++) {
      const names = this.lookups[i]!;
      let raw = record[names[0]!];
      for (let j = 1; raw === undefined && j < names.length; j++) raw = record[names[j]!];
      row[i] = convert(raw, cols[i]!.type, cols[i]!.name);
    }
    const arrival = arrivalTime ?? record._arrival_time ?? record.arrival_time;
    let rowtime: Value = null;
    if (arrival !== undefined && arrival !== null) rowtime = convert(arrival, 'TIMESTAMP', '_arrival_time');
    else if (this.eventTimeIndex >= 0) rowtime = row[this.eventTimeIndex] as Value;
    let t = typeof rowtime === 'number' ? rowtime : this.now();
    if (t < this.lastRowtime) t = this.lastRowtime;
    else this.lastRowtime = t;
    row[cols.length] = t;
    return row;
  }
}

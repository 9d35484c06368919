/**
 * Checks a parsed JSON object against a table's columns and turns it into a row: the format conversion of
 * delivery, and the validation of reference files. Strict on types (money is never a float, a number is
 * never a string); fields the table does not know are ignored.
 */
import type { ColumnSchema, Row, RowValue, TableSchema } from './types.ts';

export type RowConversion = { readonly ok: true; readonly row: Row } | { readonly ok: false; readonly message: string };

const INTEGER_LIMITS: Record<'smallint' | 'integer' | 'bigint', [number, number]> = {
  smallint: [-32_768, 32_767],
  integer: [-2_147_483_648, 2_147_483_647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** ISO 8601 date-time with a zone (`Z` or `+hh:mm`), as producers must send event times. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Converts `value` into a row of `schema`, skipping the columns in `omit` (those delivery fills from the log).
 * `numericStrings` accepts "12" for integer columns (CSV files have no other way to say 12).
 */
export function rowFromObject(
  schema: TableSchema,
  value: unknown,
  options: { omit?: ReadonlySet<string>; numericStrings?: boolean } = {},
): RowConversion {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: `a ${schema.name} record must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` };
  }
  const source = value as Record<string, unknown>;
  const row: Record<string, RowValue> = {};
  for (const column of schema.columns) {
    if (options.omit?.has(column.name)) continue;
    const converted = convertField(column, source[column.name], options.numericStrings ?? false);
    if (typeof converted === 'object' && converted !== null) return { ok: false, message: converted.error };
    row[column.name] = converted;
  }
  return { ok: true, row };
}

function convertField(column: ColumnSchema, value: unknown, numericStrings: boolean): RowValue | { error: string } {
  if (value === undefined || value === null) {
    return column.nullable ? null : { error: `field '${column.name}' is required` };
  }
  switch (column.type) {
    case 'varchar':
      return typeof value === 'string' ? value : { error: `field '${column.name}' must be a string, got ${describe(value)}` };
    case 'smallint':
    case 'integer':
    case 'bigint': {
      const n = numericStrings && typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) return { error: `field '${column.name}' must be an integer, got ${describe(value)}` };
      const [lo, hi] = INTEGER_LIMITS[column.type];
      const min = Math.max(lo, column.min ?? lo);
      const max = Math.min(hi, column.max ?? hi);
      if (n < min || n > max) return { error: `field '${column.name}' must be from ${min} to ${max}, got ${n}` };
      return n;
    }
    case 'timestamp': {
      if (typeof value !== 'string') return { error: `field '${column.name}' must be an ISO 8601 date-time with a zone, got ${describe(value)}` };
      const fast = utcTimestampMs(value);
      if (fast !== undefined) return fast;
      if (!ISO_8601.test(value)) return { error: `field '${column.name}' must be an ISO 8601 date-time with a zone, got ${describe(value)}` };
      const ms = Date.parse(value.replace(' ', 'T'));
      return Number.isFinite(ms) ? ms : { error: `field '${column.name}' is not a valid date-time: ${value}` };
    }
  }
}

/**
 * The day of the last timestamp read and its midnight UTC in ms: a stream's event times fall on few days, so
 * this one-entry memo spares most calls of Date.parse. It only ever holds what Date.parse answered.
 */
let memoDay = '';
let memoDayMs = Number.NaN;

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ`, the form producers send, read from its characters:
 * the same milliseconds as the regex check plus Date.parse (delivery reads one per record; together they were
 * about a third of checking a toll transaction). The date goes through Date.parse (cached per day), so a
 * date Date.parse refuses or rolls over (Feb 30) comes out as it did. Undefined for any other text, and for a
 * time of day out of range, which go the regex and Date.parse way.
 */
function utcTimestampMs(text: string): number | undefined {
  const length = text.length;
  if (length !== 20 && length !== 24) return undefined;
  if (text.charCodeAt(length - 1) !== 90 /* Z */ || text.charCodeAt(10) !== 84 /* T */) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  if (!(digitsAt(text, 0, 4) >= 0 && digitsAt(text, 5, 2) >= 0 && digitsAt(text, 8, 2) >= 0)) return undefined;
  const hours = digitsAt(text, 11, 2);
  const minutes = digitsAt(text, 14, 2);
  const seconds = digitsAt(text, 17, 2);
  if (!(hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59 && seconds >= 0 && seconds <= 59)) return undefined;
  let millis = 0;
  if (length === 24) {
    if (text.charCodeAt(19) !== 46 /* . */) return undefined;
    millis = digitsAt(text, 20, 3);
    if (millis < 0) return undefined;
  }
  if (!(text.startsWith(memoDay) && memoDay.length === 10)) {
    const day = text.slice(0, 10);
    const dayMs = Date.parse(`${day}T00:00:00Z`);
    if (!Number.isFinite(dayMs)) return undefined;
    memoDay = day;
    memoDayMs = dayMs;
  }
  return memoDayMs + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
}

/** The decimal number in `text` at `start`, `count` digits long; -1 if one of them is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * Checks a parsed JSON object against a table's columns and turns it into a row: the format conversion of
 * delivery, and the validation of reference files. Strict on types (money is never a float, a number is
 * never a string); fields the table does not know are ignored.
 */
import { parseIsoTimestamp, type IsoTimestampOptions } from '../core/iso-time.ts';
import type { ColumnSchema, Row, RowValue, TableSchema } from './types.ts';

export type RowConversion = { readonly ok: true; readonly row: Row } | { readonly ok: false; readonly message: string };

const INTEGER_LIMITS: Record<'smallint' | 'integer' | 'bigint', [number, number]> = {
  smallint: [-32_768, 32_767],
  integer: [-2_147_483_648, 2_147_483_647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** ISO 8601 date-time with a zone (`Z`, `+hh:mm` or `+hhmm`), as producers must send event times; CSV files may write a space for the `T`. */
const TIMESTAMP_FORMS: IsoTimestampOptions = { spaceSeparator: true, compactOffset: true };

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
      const ms = parseIsoTimestamp(value, TIMESTAMP_FORMS);
      return ms !== undefined ? ms : { error: `field '${column.name}' must be an ISO 8601 date-time with a zone, got ${describe(value)}` };
    }
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

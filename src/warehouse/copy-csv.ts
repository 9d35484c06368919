/**
 * Rows as PostgreSQL `COPY ... FROM STDIN WITH (FORMAT csv)` input. Every value is checked against its column
 * first (the same rules as DuckDB's Appender path, `WAREHOUSE_REJECTED` naming the column), then encoded:
 * strings always quoted with `"` doubled, so commas, quotes, newlines and an empty string survive; NULL is an
 * unquoted empty field; timestamps are ISO 8601 UTC.
 */
import { TollstreamError } from '../core/errors.ts';
import type { ColumnSchema, Row, RowValue, TableSchema } from './types.ts';

const LIMITS = { smallint: 32_767, integer: 2_147_483_647 } as const;
/** Timestamps PostgreSQL and DuckDB both take: years 1 to 9999. */
const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Yields the CSV text of `rows` in chunks of about `chunkBytes` characters (whole lines). */
export function* csvLines(table: TableSchema, rows: readonly Row[], chunkBytes: number): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    let line = '';
    table.columns.forEach((column, i) => {
      if (i > 0) line += ',';
      line += csvField(table, column, row[column.name] ?? null);
    });
    chunk += `${line}\n`;
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

export function csvField(table: TableSchema, column: ColumnSchema, value: RowValue): string {
  if (value === null) {
    if (!column.nullable) throw rejected(table, column, 'is null but the column is NOT NULL');
    return '';
  }
  switch (column.type) {
    case 'varchar':
      if (typeof value !== 'string') throw rejected(table, column, `must be a string, got ${typeof value}`);
      // PostgreSQL text cannot hold NUL; refuse the row rather than lose part of the value.
      if (value.includes('\u0000')) throw rejected(table, column, 'contains a NUL character, which PostgreSQL text cannot store');
      return `"${value.replaceAll('"', '""')}"`;
    case 'smallint':
    case 'integer': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      const max = LIMITS[column.type];
      if (typeof n !== 'number' || !Number.isInteger(n) || n > max || n < -max - 1) throw rejected(table, column, `must be a ${column.type}, got ${String(value)}`);
      return String(n);
    }
    case 'bigint':
      if (typeof value === 'bigint') {
        if (value > 9_223_372_036_854_775_807n || value < -9_223_372_036_854_775_808n) throw rejected(table, column, `must be a bigint, got ${value}`);
        return value.toString();
      }
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      throw rejected(table, column, `must be an integer, got ${String(value)}`);
    case 'timestamp':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < MIN_MS || value > MAX_MS) {
        throw rejected(table, column, `must be milliseconds since the epoch within years 1 to 9999, got ${String(value)}`);
      }
      return new Date(Math.round(value)).toISOString();
  }
}

function rejected(table: TableSchema, column: ColumnSchema, what: string): TollstreamError {
  return new TollstreamError('WAREHOUSE_REJECTED', `${table.name}.${column.name} ${what}`, { context: { table: table.name, column: column.name } });
}

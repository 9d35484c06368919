/**
 * How the DuckDB warehouse loads rows: one INSERT statement per batch whose every column arrives as ONE text
 * parameter, split and cast by DuckDB itself.
 *
 * Why not the Appender: it makes one synchronous native call per value (and flushes synchronously), all on
 * the server's main thread, which made loading about a sixth of the main thread's work under load. Here the
 * main thread only checks each value and joins each column into a string; the split, the casts and the
 * table write run inside an async statement on DuckDB's own threads. Splitting a separated string is several
 * times cheaper for DuckDB than parsing a JSON array, so JSON is kept for the rare text column whose values
 * contain the separator.
 *
 * Encodings (N rows, every list has exactly N items):
 *   varchar       values joined by U+001F, a null written as U+001E (so '' and null stay apart). If a value
 *                 holds U+001F or is exactly U+001E, the column goes as a JSON array of strings instead.
 *   integer types decimal text joined by `,`; a null is the empty item.
 *   timestamp     milliseconds since the epoch, rounded to whole ms, joined by `,`; DuckDB makes microseconds.
 * Every value is checked here first (type, NOT NULL, integer range): WAREHOUSE_REJECTED names the table and
 * column, so delivery can narrow a refused batch down to its bad rows.
 */
import { TollstreamError } from '../core/errors.ts';
import { DUCKDB_COLUMN_TYPES, quoteIdentifier } from './dialect.ts';
import type { ColumnSchema, Row, TableSchema } from './types.ts';

/** A statement and its named parameters, ready for `connection.run`. */
export interface ColumnarInsert {
  readonly sql: string;
  readonly params: Record<string, string>;
}

const SEPARATOR = '\u001f';
const SEPARATOR_SQL = 'chr(31)';
/** A null in a text column: one U+001E character (a value that is exactly that goes as JSON). */
const NULL_MARK = '\u001e';
const NULL_MARK_SQL = 'chr(30)';

/**
 * The INSERT loading `rows` into `schema`'s table. Throws `WAREHOUSE_REJECTED` for a value the column cannot
 * hold (wrong type, null in a NOT NULL column, integer out of range), as the Appender did.
 */
export function columnarInsert(schema: TableSchema, rows: readonly Row[]): ColumnarInsert {
  if (rows.length === 0) throw new TollstreamError('INTERNAL', `no rows to insert into ${schema.name}`);
  const params: Record<string, string> = {};
  const names: string[] = [];
  const items: string[] = [];
  const values: string[] = [];
  const columns = schema.columns;
  const parts: unknown[] = new Array(rows.length);
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c]!;
    const param = `c${c}`;
    names.push(quoteIdentifier(column.name));
    let list: string;
    let value: string;
    if (column.type === 'varchar') {
      const text = varcharText(schema, column, rows, parts);
      if (text === undefined) {
        params[param] = varcharJson(schema, column, rows);
        list = `from_json($${param}, '["VARCHAR"]')`;
        value = param;
      } else {
        params[param] = text;
        list = `string_split($${param}, ${SEPARATOR_SQL})`;
        value = column.nullable ? `nullif(${param}, ${NULL_MARK_SQL})` : param;
      }
    } else {
      params[param] = column.type === 'timestamp' ? timestampText(schema, column, rows, parts) : integerText(schema, column, rows, parts);
      list = `string_split($${param}, ',')`;
      const digits = column.nullable ? `nullif(${param}, '')` : param;
      value = column.type === 'timestamp' ? `make_timestamp(${digits}::BIGINT * 1000)` : `${digits}::${DUCKDB_COLUMN_TYPES[column.type]}`;
    }
    // unnest of several lists in one SELECT walks them side by side: item i of every list is row i.
    items.push(`unnest(${list}) AS ${param}`);
    values.push(value);
  }
  return {
    sql: `INSERT INTO ${quoteIdentifier(schema.name)} (${names.join(', ')}) SELECT ${values.join(', ')} FROM (SELECT ${items.join(', ')})`,
    params,
  };
}

/**
 * The column joined by the separator, or undefined when some value holds the separator or is the null mark
 * (use JSON then). Values are gathered in `parts` and joined once: one flat string, no string per value.
 */
function varcharText(schema: TableSchema, column: ColumnSchema, rows: readonly Row[], parts: unknown[]): string | undefined {
  const name = column.name;
  for (let i = 0; i < rows.length; i++) {
    const value = rows[i]![name] ?? null;
    if (value === null) {
      if (!column.nullable) throw rejected(schema, column, 'is null but the column is NOT NULL');
      parts[i] = NULL_MARK;
    } else if (typeof value !== 'string') {
      throw rejected(schema, column, `must be a string, got ${typeof value}`);
    } else if (value === NULL_MARK || value.includes(SEPARATOR)) {
      return undefined;
    } else {
      parts[i] = value;
    }
  }
  return parts.join(SEPARATOR);
}

/** The column as a JSON array of strings (and nulls), for text holding the separator. */
function varcharJson(schema: TableSchema, column: ColumnSchema, rows: readonly Row[]): string {
  const values = rows.map((row) => {
    const value = row[column.name] ?? null;
    if (value === null) {
      if (!column.nullable) throw rejected(schema, column, 'is null but the column is NOT NULL');
      return null;
    }
    if (typeof value !== 'string') throw rejected(schema, column, `must be a string, got ${typeof value}`);
    // A lone surrogate becomes U+FFFD, as when a string is passed to DuckDB directly: JSON would refuse it.
    return value.replace(LONE_SURROGATE, '\ufffd');
  });
  return JSON.stringify(values);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The column as decimal text joined by `,`; join writes a null as the empty item. */
function integerText(schema: TableSchema, column: ColumnSchema, rows: readonly Row[], parts: unknown[]): string {
  const name = column.name;
  const max = column.type === 'smallint' ? 32_767 : 2_147_483_647;
  for (let i = 0; i < rows.length; i++) {
    const value = rows[i]![name] ?? null;
    if (value === null) {
      if (!column.nullable) throw rejected(schema, column, 'is null but the column is NOT NULL');
    } else if (column.type === 'bigint') {
      if (!(typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)))) throw rejected(schema, column, `must be an integer, got ${String(value)}`);
    } else {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n > max || n < -max - 1) throw rejected(schema, column, `must be a ${column.type}, got ${String(value)}`);
    }
    parts[i] = value;
  }
  return parts.join(',');
}

/** The column as whole milliseconds since the epoch (rounded, as the Appender did) joined by `,`. */
function timestampText(schema: TableSchema, column: ColumnSchema, rows: readonly Row[], parts: unknown[]): string {
  const name = column.name;
  for (let i = 0; i < rows.length; i++) {
    const value = rows[i]![name] ?? null;
    if (value === null) {
      if (!column.nullable) throw rejected(schema, column, 'is null but the column is NOT NULL');
      parts[i] = null;
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw rejected(schema, column, `must be milliseconds since the epoch, got ${String(value)}`);
    } else {
      parts[i] = Math.round(value);
    }
  }
  return parts.join(',');
}

function rejected(table: TableSchema, column: ColumnSchema, what: string): TollstreamError {
  return new TollstreamError('WAREHOUSE_REJECTED', `${table.name}.${column.name} ${what}`, { context: { table: table.name, column: column.name } });
}

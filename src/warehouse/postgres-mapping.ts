/**
 * How PostgreSQL's values, parameters and errors map onto the warehouse contract: result types and their
 * JSON-safe values, typed placeholders for bound values, SQLSTATEs turned into Tollstream error codes.
 */
import pg from 'pg';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { QueryParams } from './types.ts';

/** Type names of result columns, DuckDB's spelling where the two agree. */
export const TYPE_NAMES: Readonly<Record<number, string>> = {
  16: 'BOOLEAN',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  25: 'VARCHAR',
  1043: 'VARCHAR',
  700: 'FLOAT',
  701: 'DOUBLE',
  1700: 'DECIMAL',
  1082: 'DATE',
  1083: 'TIME',
  1114: 'TIMESTAMP',
  1184: 'TIMESTAMP WITH TIME ZONE',
  1186: 'INTERVAL',
  114: 'JSON',
  3802: 'JSON',
};

/** Result values the way `toQueryValue` expects them: int8 as bigint, dates and intervals as text, UTC timestamps. */
const PARSERS: Readonly<Record<number, (text: string) => unknown>> = {
  20: (text) => BigInt(text),
  1700: parseNumeric,
  1082: (text) => text,
  1186: (text) => text,
  1114: (text) => (/^\d{4}-/.test(text) ? new Date(`${text.replace(' ', 'T')}Z`) : text),
};

export const typeParsers = {
  getTypeParser: (oid: number, format?: string) => PARSERS[oid] ?? (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format),
} as unknown as pg.CustomTypesConfig;

/**
 * The placeholder of one occurrence of a parameter. A null is the literal NULL (typed by its context like any
 * NULL, so `$x IS NULL` works); a Date is a timestamptz. Strings and numbers stay untyped, so PostgreSQL types
 * them from their context as DuckDB does ('2026-11-26' compared with a timestamp is a timestamp), unless
 * `typeFromValues` asks for the type of the value itself.
 */
export function placeholderFor(value: QueryParams[string] | undefined, next: () => string, typeFromValues: boolean): string {
  if (value === null) return 'NULL';
  const placeholder = next();
  if (value instanceof Date) return `(${placeholder}::timestamptz)`;
  if (typeof value === 'bigint') return `(${placeholder}::bigint)`;
  if (typeof value === 'boolean') return `(${placeholder}::boolean)`;
  if (!typeFromValues || value === undefined) return placeholder;
  if (typeof value === 'number') return Number.isInteger(value) ? `(${placeholder}::bigint)` : `(${placeholder}::double precision)`;
  return `(${placeholder}::text)`;
}

export function bindValue(value: QueryParams[string]): string | number | boolean | null {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** numeric (e.g. `sum(bigint)`): a number while exact integers fit, the decimal text past 2^53. */
function parseNumeric(text: string): unknown {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(n)) return text;
  return n;
}

interface ServerError {
  readonly code: string;
  readonly message: string;
}

/** An error the server answered (it has a SQLSTATE): the connection itself is still fine. */
export function isServerError(err: unknown): err is ServerError {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in err;
}

/** SQLSTATE classes meaning the data itself is wrong: 22 data exception, 23 integrity constraint violation. */
function isDataError(err: ServerError): boolean {
  return err.code.startsWith('22') || err.code.startsWith('23');
}

export function writeError(err: unknown): TollstreamError {
  if (isTollstreamError(err)) return err;
  if (isServerError(err) && isDataError(err)) {
    return new TollstreamError('WAREHOUSE_REJECTED', `the warehouse refused the batch: ${err.message}`, { context: { sqlState: err.code }, cause: err });
  }
  const context = isServerError(err) ? { sqlState: err.code } : {};
  return new TollstreamError('WAREHOUSE_UNAVAILABLE', `writing to the warehouse failed: ${message(err)}`, { context, cause: err });
}

export function queryError(err: unknown): unknown {
  if (isTollstreamError(err) || (err instanceof Error && err.name === 'AbortError')) return err;
  if (!isServerError(err)) return new TollstreamError('WAREHOUSE_UNAVAILABLE', `the warehouse could not run the query: ${message(err)}`, { cause: err });
  const context = { sqlState: err.code };
  // 25006 read_only_sql_transaction, 42501 insufficient_privilege (the query role may only SELECT).
  // 0A000 from DECLARE: a data-modifying WITH inside the query's cursor.
  const hiddenWrite = err.code === '0A000' && /data-modifying/i.test(err.message);
  if (err.code === '25006' || err.code === '42501' || hiddenWrite) return new TollstreamError('WAREHOUSE_READ_ONLY', `warehouse queries are read-only: ${err.message}`, { context, cause: err });
  if (err.code === '57014') return new TollstreamError('WAREHOUSE_QUERY_TIMEOUT', `the query ran past the warehouse's statement timeout and was cancelled: ${err.message}; narrow it (WHERE, LIMIT) or raise warehouse.queryTimeoutMs`, { context, cause: err });
  if (err.code === '53200') return new TollstreamError('WAREHOUSE_OUT_OF_MEMORY', `the warehouse ran out of memory for the query: ${err.message}; narrow it`, { context, cause: err });
  // XX001 data_corrupted, XX002 index_corrupted: the server's storage is damaged, not the request.
  if (err.code === 'XX001' || err.code === 'XX002') return new TollstreamError('WAREHOUSE_CORRUPT', `the warehouse's storage is damaged: ${err.message}`, { context, cause: err });
  if (err.code.startsWith('08') || err.code.startsWith('53') || err.code.startsWith('57')) {
    return new TollstreamError('WAREHOUSE_UNAVAILABLE', `the warehouse could not run the query: ${err.message}`, { context, cause: err });
  }
  return new TollstreamError('INVALID_ARGUMENT', `the query failed: ${err.message}`, { context, cause: err });
}

/** The URL without its password, for messages and logs. */
export { redactUrl as redact } from '../core/redact-url.ts';

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Where the SQL of DuckDB and PostgreSQL differs for the reports: time buckets, series of periods, calendar
 * parts. A report is written once against this hook; each warehouse names its dialect. Parameters are `$name`
 * in both (the PostgreSQL backend turns them into `$1`...), and timestamps are UTC in both.
 */
import type { ColumnSchema, TableSchema } from './types.ts';

/** An identifier (table, column, schema) quoted for SQL: the same double quotes in DuckDB and PostgreSQL. */
export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** DuckDB's SQL type of each column type of the warehouse schema (tables, batch loads, the Parquet lake). */
export const DUCKDB_COLUMN_TYPES: Readonly<Record<ColumnSchema['type'], string>> = Object.freeze({
  varchar: 'VARCHAR',
  smallint: 'SMALLINT',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  timestamp: 'TIMESTAMP',
});

/** PostgreSQL's SQL type of each column type (timestamps with a zone: they hold UTC instants). */
export const POSTGRES_COLUMN_TYPES: Readonly<Record<ColumnSchema['type'], string>> = Object.freeze({
  varchar: 'text',
  smallint: 'smallint',
  integer: 'integer',
  bigint: 'bigint',
  timestamp: 'timestamptz',
});

/**
 * `CREATE TABLE IF NOT EXISTS` of a warehouse table, the same in both databases but for the type names;
 * `schemaName`, when given, qualifies the table.
 */
export function createTableSql(table: TableSchema, columnTypes: Readonly<Record<ColumnSchema['type'], string>>, schemaName?: string): string {
  const columns = table.columns.map((c) => `${quoteIdentifier(c.name)} ${columnTypes[c.type]}${c.nullable ? '' : ' NOT NULL'}`);
  const key = table.primaryKey;
  if (key) columns.push(`PRIMARY KEY (${key.map(quoteIdentifier).join(', ')})`);
  const name = schemaName === undefined ? quoteIdentifier(table.name) : `${quoteIdentifier(schemaName)}.${quoteIdentifier(table.name)}`;
  return `CREATE TABLE IF NOT EXISTS ${name} (${columns.join(', ')})`;
}

/** Adds `column` of `table` when missing (a column added after the table's first release; nullable). */
export function addColumnSql(table: TableSchema, column: string, columnTypes: Readonly<Record<ColumnSchema['type'], string>>, schemaName?: string): string {
  const c = table.columns.find((x) => x.name === column);
  if (!c || !c.nullable) throw new Error(`${table.name}.${column} is not a nullable column of the table`);
  const name = schemaName === undefined ? quoteIdentifier(table.name) : `${quoteIdentifier(schemaName)}.${quoteIdentifier(table.name)}`;
  return `ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(c.name)} ${columnTypes[c.type]}`;
}

export interface SqlDialect {
  readonly name: 'duckdb' | 'postgres';
  /** A bound parameter as a UTC timestamp comparable with the timestamp columns, e.g. `$from`. */
  timestampParam(name: string): string;
  /** Start of the `minutes`-long period holding the timestamp `expr` (periods aligned to midnight UTC). */
  timeBucket(minutes: number, expr: string): string;
  /** A FROM item: one row per period start from `fromExpr` (included) to `toExpr` (excluded), in the column `column`. */
  periodSeries(minutes: number, fromExpr: string, toExpr: string, column: string): string;
  /** Day of the week of `expr`, 0 Sunday ... 6 Saturday, as an integer. */
  dayOfWeek(expr: string): string;
  /** Which `minutes`-long slot of its UTC day `expr` falls in (0 is the first), as an integer. */
  slotOfDay(minutes: number, expr: string): string;
}

export const DUCKDB_DIALECT: SqlDialect = Object.freeze({
  name: 'duckdb',
  timestampParam: (name: string) => `$${name}::TIMESTAMP`,
  timeBucket: (minutes: number, expr: string) => `time_bucket(INTERVAL '${minutes} minutes', ${expr})`,
  periodSeries: (minutes: number, from: string, to: string, column: string) =>
    `(SELECT unnest(range(${from}, ${to}, INTERVAL '${minutes} minutes')) AS ${column})`,
  dayOfWeek: (expr: string) => `dayofweek(${expr})`,
  slotOfDay: (minutes: number, expr: string) => `((hour(${expr}) * 60 + minute(${expr})) // ${minutes})`,
});

export const POSTGRES_DIALECT: SqlDialect = Object.freeze({
  name: 'postgres',
  timestampParam: (name: string) => `$${name}::timestamptz`,
  timeBucket: (minutes: number, expr: string) => `date_bin(INTERVAL '${minutes} minutes', ${expr}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`,
  periodSeries: (minutes: number, from: string, to: string, column: string) =>
    `(SELECT g AS ${column} FROM generate_series(${from}, ${to}, INTERVAL '${minutes} minutes') AS g WHERE g < ${to})`,
  dayOfWeek: (expr: string) => `extract(dow FROM ${expr})::INTEGER`,
  slotOfDay: (minutes: number, expr: string) => `((extract(hour FROM ${expr})::INTEGER * 60 + extract(minute FROM ${expr})::INTEGER) / ${minutes})`,
});

/**
 * Reference data: a warehouse table an app declares (the station alerts' expected traffic per plaza and slot),
 * replaced as a whole by a load. Loaded from CSV (with a header row) or JSON (an array of objects), checked row by
 * row against the table's columns, each key of its primary key at most once.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import { rowFromObject, type Row, type TableSchema, type Warehouse } from '../warehouse/index.ts';
import { parseCsvRows } from '../core/csv.ts';
import { rowObjects } from './format.ts';

export type ReferenceSource = { readonly path: string } | { readonly csv: string } | { readonly json: string | readonly unknown[] };

/** A row of a reference table as its followers get it: column name to value. */
export type ReferenceRow = Readonly<Record<string, unknown>>;

/** A reference table of an app, served at `PUT /v1/reference/{name}` whether or not the app runs. */
export interface ReferenceTable {
  /** Its name in `PUT /v1/reference/{name}` and `tollstream reference load --name`: `stations`. */
  readonly name: string;
  /** The warehouse table a load replaces, created with the platform's; its primary key is unique per load. */
  readonly table: TableSchema;
  /** A file (`.csv` or `.json`) loaded into the table at every start, replacing what it held. @default none */
  readonly file?: string;
  /**
   * Told after a load through the API replaced the table, with the rows it holds now and held before (so keys the
   * load left out can be deleted downstream, e.g. in a stream the app follows live).
   */
  replaced?(rows: readonly ReferenceRow[], previous: readonly ReferenceRow[]): Promise<void>;
}

/** Checks every record of `source` against the reference's table and replaces its rows; the rows loaded. */
export async function loadReference(warehouse: Warehouse, reference: ReferenceTable, source: ReferenceSource): Promise<{ rows: number }> {
  const { name, table } = reference;
  const records = await readRecords(name, source);
  const key = table.primaryKey ?? [];
  const rows: Row[] = [];
  const seen = new Set<string>();
  records.forEach((record, i) => {
    const converted = rowFromObject(table, record, { numericStrings: true });
    if (!converted.ok) {
      throw new TollstreamError('INVALID_ARGUMENT', `reference '${name}' row ${i + 1}: ${converted.message}`, { context: { reference: name, row: i + 1 } });
    }
    if (key.length > 0) {
      const values = key.map((column) => converted.row[column]);
      const id = JSON.stringify(values);
      if (seen.has(id)) {
        const named = key.map((column, k) => `${column} ${String(values[k])}`).join(', ');
        throw new TollstreamError('INVALID_ARGUMENT', `reference '${name}' row ${i + 1}: ${named} appears twice`, { context: { reference: name, row: i + 1 } });
      }
      seen.add(id);
    }
    rows.push(converted.row);
  });
  await warehouse.replaceRows(table.name, rows);
  return { rows: rows.length };
}

/** Every row the reference's table holds, as column name to value. */
export async function referenceRows(warehouse: Warehouse, reference: ReferenceTable): Promise<Record<string, unknown>[]> {
  const { table } = reference;
  const result = await warehouse.query(`SELECT ${table.columns.map((c) => c.name).join(', ')} FROM ${table.name}`);
  return rowObjects(result);
}

async function readRecords(name: string, source: ReferenceSource): Promise<readonly unknown[]> {
  if ('csv' in source) return parseCsv(source.csv);
  if ('json' in source) return typeof source.json === 'string' ? parseJsonArray(name, source.json) : source.json;
  const text = await fs.readFile(source.path, 'utf8').catch((err: unknown) => {
    throw new TollstreamError('INVALID_ARGUMENT', `cannot read the reference file ${source.path} of '${name}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  const ext = path.extname(source.path).toLowerCase();
  if (ext === '.csv') return parseCsv(text);
  if (ext === '.json') return parseJsonArray(name, text);
  throw new TollstreamError('INVALID_ARGUMENT', `the reference file of '${name}' must end in .csv or .json: ${source.path}`);
}

function parseJsonArray(name: string, text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TollstreamError('INVALID_ARGUMENT', `the reference '${name}' is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!Array.isArray(value)) throw new TollstreamError('INVALID_ARGUMENT', `the reference '${name}' in JSON must be an array of objects`);
  return value;
}

/** CSV with a header row into one record per row (values trimmed); rows whose fields are all empty are skipped. */
export function parseCsv(text: string): Record<string, string>[] {
  const [header, ...body] = parseCsvRows(text).filter((row) => row.some((f) => f !== ''));
  if (!header) return [];
  const names = header.map((h) => h.trim());
  return body.map((cells) => Object.fromEntries(names.map((n, i) => [n, (cells[i] ?? '').trim()])));
}

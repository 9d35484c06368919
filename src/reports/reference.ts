/**
 * Reference data of the station report: the expected vehicles per plaza, day of week (0 Sunday, UTC) and
 * 30-minute slot (0-47), with the alert threshold. Loaded from CSV (with a header row) or JSON (an array of
 * objects), checked row by row, and replacing the previous reference as a whole.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import { STATION_REFERENCE, rowFromObject, type Row, type Warehouse } from '../warehouse/index.ts';
import { parseCsvRows } from '../core/csv.ts';

export type ReferenceSource = { readonly path: string } | { readonly csv: string } | { readonly json: string | readonly unknown[] };

export async function loadStationReference(warehouse: Warehouse, source: ReferenceSource): Promise<{ rows: number }> {
  const records = await readRecords(source);
  const rows: Row[] = [];
  const seen = new Set<string>();
  records.forEach((record, i) => {
    const converted = rowFromObject(STATION_REFERENCE, record, { numericStrings: true });
    if (!converted.ok) {
      throw new TollstreamError('INVALID_ARGUMENT', `station reference row ${i + 1}: ${converted.message}`, { context: { row: i + 1 } });
    }
    const { plaza_id, day_of_week, slot } = converted.row;
    const key = `${plaza_id}/${day_of_week}/${slot}`;
    if (seen.has(key)) {
      throw new TollstreamError('INVALID_ARGUMENT', `station reference row ${i + 1}: plaza ${plaza_id}, day ${day_of_week}, slot ${slot} appears twice`, { context: { row: i + 1 } });
    }
    seen.add(key);
    rows.push(converted.row);
  });
  await warehouse.replaceRows(STATION_REFERENCE.name, rows);
  return { rows: rows.length };
}

async function readRecords(source: ReferenceSource): Promise<readonly unknown[]> {
  if ('csv' in source) return parseCsv(source.csv);
  if ('json' in source) return typeof source.json === 'string' ? parseJsonArray(source.json) : source.json;
  const text = await fs.readFile(source.path, 'utf8').catch((err: unknown) => {
    throw new TollstreamError('INVALID_ARGUMENT', `cannot read the station reference file ${source.path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  const ext = path.extname(source.path).toLowerCase();
  if (ext === '.csv') return parseCsv(text);
  if (ext === '.json') return parseJsonArray(text);
  throw new TollstreamError('INVALID_ARGUMENT', `the station reference file must end in .csv or .json: ${source.path}`);
}

function parseJsonArray(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TollstreamError('INVALID_ARGUMENT', `the station reference is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!Array.isArray(value)) throw new TollstreamError('INVALID_ARGUMENT', 'the station reference JSON must be an array of objects');
  return value;
}

/** CSV with a header row into one record per row (values trimmed); rows whose fields are all empty are skipped. */
export function parseCsv(text: string): Record<string, string>[] {
  const [header, ...body] = parseCsvRows(text).filter((row) => row.some((f) => f !== ''));
  if (!header) return [];
  const names = header.map((h) => h.trim());
  return body.map((cells) => Object.fromEntries(names.map((n, i) => [n, (cells[i] ?? '').trim()])));
}

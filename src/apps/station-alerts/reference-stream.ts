/**
 * Station reference data onto the log: each row becomes a record of the `station_reference` stream (key
 * plaza_id/day_of_week/slot, partition key plaza_id, so one key's records stay in order), and each key no
 * longer present a `_deleted` record. The running query's stream-backed table and the evaluator follow it.
 */
import { readFile } from 'node:fs/promises';
import { isTollstreamError, TollstreamError } from '../../core/errors.ts';
import type { AppendRecord, StreamLog } from '../../log/index.ts';
import { parseCsv } from '../../reports/index.ts';
import { STREAMS } from './model.ts';

export interface ReferenceKey {
  readonly plaza_id: string;
  readonly day_of_week: number;
  readonly slot: number;
}

export interface ReferenceRow extends ReferenceKey {
  readonly expected_count: number;
  readonly alert_threshold: number;
}

/** The log's limit is larger; this keeps one append's durable batch modest. */
const RECORDS_PER_APPEND = 500;
const REFERENCE_SHARDS = 2;
/**
 * A year: the query and the evaluator rebuild their reference tables from this stream at every start, so it
 * must keep the last load of every key (the default retention of a day would lose a reference loaded once).
 */
export const REFERENCE_RETENTION_HOURS = 8760;

export async function ensureReferenceStream(log: StreamLog): Promise<void> {
  try {
    await log.createStream(STREAMS.reference, { shardCount: REFERENCE_SHARDS, retentionHours: REFERENCE_RETENTION_HOURS });
  } catch (err) {
    if (!isTollstreamError(err, 'STREAM_EXISTS')) throw err;
  }
}

/**
 * Appends `rows` and a deletion for every key of `previous` that `rows` lacks, so the stream's latest record
 * per key says what the reference now is. Values may be bigints (warehouse rows); they are sent as numbers.
 */
export async function appendStationReference(
  log: StreamLog,
  rows: readonly Readonly<Record<string, unknown>>[],
  previous: readonly Readonly<Record<string, unknown>>[] = [],
): Promise<{ readonly appended: number; readonly removed: number }> {
  await ensureReferenceStream(log);
  const records: AppendRecord[] = [];
  const kept = new Set<string>();
  for (const raw of rows) {
    const row = referenceRow(raw);
    kept.add(keyText(row));
    records.push(record(row.plaza_id, row));
  }
  let removed = 0;
  for (const raw of previous) {
    const key = referenceKey(raw);
    if (kept.has(keyText(key))) continue;
    kept.add(keyText(key));
    records.push(record(key.plaza_id, { ...key, _deleted: true }));
    removed++;
  }
  for (let i = 0; i < records.length; i += RECORDS_PER_APPEND) {
    const results = await log.append(STREAMS.reference, records.slice(i, i + RECORDS_PER_APPEND));
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) {
      throw new TollstreamError('IO_ERROR', `the station reference was stored in the warehouse but not all of it reached the stream ${STREAMS.reference} (${failed.errorMessage}); load it again`, {
        context: { stream: STREAMS.reference },
      });
    }
  }
  return { appended: records.length - removed, removed };
}

function record(partitionKey: string, value: object): AppendRecord {
  return { data: Buffer.from(JSON.stringify(value)), partitionKey };
}

function keyText(k: ReferenceKey): string {
  return `${k.plaza_id}/${k.day_of_week}/${k.slot}`;
}

function referenceKey(raw: Readonly<Record<string, unknown>>): ReferenceKey {
  return { plaza_id: String(raw.plaza_id), day_of_week: toNumber(raw.day_of_week, 'day_of_week'), slot: toNumber(raw.slot, 'slot') };
}

function referenceRow(raw: Readonly<Record<string, unknown>>): ReferenceRow {
  return { ...referenceKey(raw), expected_count: toNumber(raw.expected_count, 'expected_count'), alert_threshold: toNumber(raw.alert_threshold, 'alert_threshold') };
}

function toNumber(value: unknown, column: string): number {
  const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new TollstreamError('INVALID_ARGUMENT', `station reference ${column} must be a whole number, got ${String(value)}`, { context: { column } });
  }
  return n;
}

/** The rows of a reference file (`.csv` with a header row, or `.json`, an array), as the warehouse load reads it. */
export async function readReferenceFile(file: string): Promise<readonly Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  if (file.toLowerCase().endsWith('.json')) {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) throw new TollstreamError('INVALID_ARGUMENT', `the station reference file ${file} must hold a JSON array of objects`);
    return value as Record<string, unknown>[];
  }
  return parseCsv(text);
}

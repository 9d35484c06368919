/**
 * Turns a native ingest body (NDJSON or a JSON array) into log records. NDJSON lines are found by scanning
 * for '\n' bytes; each line is validated and its key fields located by one pass of `JsonFields` over its
 * bytes (no value is built; JSON.parse only for the rare shapes the scanner leaves to it, and to word the
 * error of an invalid line), and its exact bytes become the record's data, without a copy.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { AppendRecord } from '../../log/index.ts';
import { JSON_NUMBER, JSON_STRING, JsonFields } from '../../core/json/index.ts';

/** A record's data may be at most this many bytes, as in Kinesis. */
export const MAX_NATIVE_RECORD_BYTES = 1024 * 1024;
const MAX_PARTITION_KEY_CHARACTERS = 256;

export interface IngestOptions {
  /** The field whose string value is each record's partition key; without it, keys are random. */
  readonly partitionKeyField?: string;
  /** The field whose value is each record's idempotency key. */
  readonly idempotencyKeyField?: string;
  readonly randomPartitionKey: () => string;
}

export interface RecordError {
  readonly code: string;
  readonly message: string;
}

export interface ParsedBody {
  /** The records to append, in input order, without the rejected ones. */
  readonly records: AppendRecord[];
  /** Per input value: the index into `records`, or the reason it was rejected. */
  readonly outcomes: Array<number | RecordError>;
}

export function parseNdjson(body: Buffer, options: IngestOptions): ParsedBody {
  const records: AppendRecord[] = [];
  const outcomes: Array<number | RecordError> = [];
  const fields: string[] = [];
  const keyIndex = options.partitionKeyField !== undefined ? fields.push(options.partitionKeyField) - 1 : -1;
  const idIndex = options.idempotencyKeyField !== undefined ? fields.push(options.idempotencyKeyField) - 1 : -1;
  const scanner = new JsonFields(fields);
  let start = 0;
  let line = 0;
  while (start < body.length) {
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    let stop = end;
    if (stop > start && body[stop - 1] === 13) stop--;
    line++;
    let first = start;
    while (first < stop && isWhitespace(body[first]!)) first++;
    if (first < stop) {
      const data = body.subarray(start, stop);
      const outcome = scanner.scan(data);
      let partitionKey: string | undefined;
      let idempotencyKey: string | undefined;
      if (outcome === 'valid') {
        if (keyIndex >= 0) partitionKey = scannedKey(data, scanner, keyIndex);
        if (idIndex >= 0) idempotencyKey = scannedKey(data, scanner, idIndex);
      } else {
        // Invalid, or nesting deeper than the scanner follows.
        let value: unknown;
        try {
          value = JSON.parse(body.toString('utf8', start, stop));
        } catch (err) {
          throw new TollstreamError('MALFORMED_REQUEST', `line ${line} is not valid JSON (${(err as Error).message}); send one JSON value per line`, {
            context: { line },
          });
        }
        if (options.partitionKeyField !== undefined) partitionKey = keyField(value, options.partitionKeyField);
        if (options.idempotencyKeyField !== undefined) idempotencyKey = keyField(value, options.idempotencyKeyField);
      }
      addRecord(data, partitionKey, idempotencyKey, options, records, outcomes);
    }
    start = end + 1;
  }
  return { records, outcomes };
}

/** A located property's value as a key: a string's text, a number's JSON.parse value as text, else none. */
function scannedKey(data: Buffer, scanner: JsonFields, index: number): string | undefined {
  const kind = scanner.kind[index];
  if (kind === JSON_STRING) return scanner.text(data, index);
  if (kind === JSON_NUMBER) {
    const n = scanner.number(data, index);
    return Number.isFinite(n) ? String(n) : undefined;
  }
  return undefined;
}

export function parseJsonArray(body: Buffer, options: IngestOptions): ParsedBody {
  let values: unknown;
  try {
    values = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new TollstreamError('MALFORMED_REQUEST', `the body is not valid JSON (${(err as Error).message}); send a JSON array of records`);
  }
  if (!Array.isArray(values)) {
    throw new TollstreamError('MALFORMED_REQUEST', 'a application/json body must be a JSON array of records (or send NDJSON as application/x-ndjson)');
  }
  const records: AppendRecord[] = [];
  const outcomes: Array<number | RecordError> = [];
  for (const value of values) {
    const partitionKey = options.partitionKeyField !== undefined ? keyField(value, options.partitionKeyField) : undefined;
    const idempotencyKey = options.idempotencyKeyField !== undefined ? keyField(value, options.idempotencyKeyField) : undefined;
    addRecord(Buffer.from(JSON.stringify(value)), partitionKey, idempotencyKey, options, records, outcomes);
  }
  return { records, outcomes };
}

function isWhitespace(byte: number): boolean {
  return byte === 32 || byte === 9 || byte === 13;
}

function addRecord(
  data: Buffer,
  key: string | undefined,
  idempotencyKey: string | undefined,
  options: IngestOptions,
  records: AppendRecord[],
  outcomes: Array<number | RecordError>,
): void {
  if (data.length > MAX_NATIVE_RECORD_BYTES) {
    outcomes.push({ code: 'PAYLOAD_TOO_LARGE', message: `the record is ${data.length} bytes; a record may be at most ${MAX_NATIVE_RECORD_BYTES}` });
    return;
  }
  let partitionKey: string;
  if (options.partitionKeyField !== undefined) {
    if (key === undefined || key.length === 0 || key.length > MAX_PARTITION_KEY_CHARACTERS) {
      outcomes.push({
        code: 'INVALID_ARGUMENT',
        message: `the record has no field '${options.partitionKeyField}' holding a string of 1 to ${MAX_PARTITION_KEY_CHARACTERS} characters to use as partition key`,
      });
      return;
    }
    partitionKey = key;
  } else {
    partitionKey = options.randomPartitionKey();
  }
  outcomes.push(records.length);
  records.push(idempotencyKey === undefined ? { data, partitionKey } : { data, partitionKey, idempotencyKey });
}

/** A top-level string (or finite number, as its JavaScript text) field of an object record. */
function keyField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = (value as Record<string, unknown>)[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

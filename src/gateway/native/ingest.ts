/**
 * Turns a native ingest body (NDJSON or a JSON array) into log records. NDJSON lines are found by scanning
 * for '\n' bytes; each line is parsed once (to reject invalid JSON and read the key fields) and its exact
 * bytes become the record's data, without a copy.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { AppendRecord } from '../../log/index.ts';

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
  let start = 0;
  let line = 0;
  while (start < body.length) {
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    let stop = end;
    if (stop > start && body[stop - 1] === 13) stop--;
    line++;
    if (stop > start) {
      const text = body.toString('utf8', start, stop);
      if (!(isBlankStart(body[start]!) && text.trim() === '')) {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          throw new TollstreamError('MALFORMED_REQUEST', `line ${line} is not valid JSON (${(err as Error).message}); send one JSON value per line`, {
            context: { line },
          });
        }
        addRecord(body.subarray(start, stop), value, options, records, outcomes);
      }
    }
    start = end + 1;
  }
  return { records, outcomes };
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
  for (const value of values) addRecord(Buffer.from(JSON.stringify(value)), value, options, records, outcomes);
  return { records, outcomes };
}

function isBlankStart(byte: number): boolean {
  return byte === 32 || byte === 9 || byte === 13;
}

function addRecord(data: Buffer, value: unknown, options: IngestOptions, records: AppendRecord[], outcomes: Array<number | RecordError>): void {
  if (data.length > MAX_NATIVE_RECORD_BYTES) {
    outcomes.push({ code: 'PAYLOAD_TOO_LARGE', message: `the record is ${data.length} bytes; a record may be at most ${MAX_NATIVE_RECORD_BYTES}` });
    return;
  }
  let partitionKey: string;
  if (options.partitionKeyField !== undefined) {
    const key = keyField(value, options.partitionKeyField);
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
  const idempotencyKey = options.idempotencyKeyField !== undefined ? keyField(value, options.idempotencyKeyField) : undefined;
  outcomes.push(records.length);
  records.push(idempotencyKey === undefined ? { data, partitionKey } : { data, partitionKey, idempotencyKey });
}

/** A top-level string (or number, written as its JSON text) field of an object record. */
function keyField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = (value as Record<string, unknown>)[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

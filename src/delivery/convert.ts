/**
 * From log records to what a destination writes: the optional transform (Firehose's contract), then the
 * format conversion of each record into the table's columns. Every record ends as exactly one outcome,
 * in the order it was read, so any prefix of a batch knows the positions it covers.
 */
import type { StoredRecord } from '../log/types.ts';
import { SOURCE_COLUMNS, rowFromObject, type Row, type TableSchema } from '../warehouse/index.ts';
import type { DeliveryErrorRow, DeliveryErrorType, DestinationBatch, TransformFunction, TransformInputRecord, TransformOutputRecord } from './types.ts';

export interface BufferedRecord {
  readonly shardId: string;
  readonly record: StoredRecord;
  /** Set on a KPL aggregated record that cannot be read: why. It becomes an error record, never a row. */
  readonly malformed?: string;
  /** Which reader of the shard read it (a shard followed again gets a new one); 0 when the shard is never refollowed. */
  readonly generation?: number;
}

export type Outcome =
  | { readonly kind: 'row'; readonly row: Row }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'error'; readonly error: DeliveryErrorRow };

export interface PreparedRecord {
  readonly source: BufferedRecord;
  readonly outcome: Outcome;
}

const SOURCE = new Set<string>(SOURCE_COLUMNS);
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface TransformPolicy {
  /** Calls of a throwing (or timed out) transform before its batch fails. */
  readonly attempts: number;
  /** One call may take this long, in ms. */
  readonly timeoutMs: number;
}

export async function prepareRecords(
  records: readonly BufferedRecord[],
  schema: TableSchema,
  transform: TransformFunction | undefined,
  policy: TransformPolicy = { attempts: 3, timeoutMs: 60_000 },
): Promise<PreparedRecord[]> {
  const readable = records.some((r) => r.malformed !== undefined) ? records.filter((r) => r.malformed === undefined) : records;
  const transformed = transform ? await runTransform(readable, transform, policy) : undefined;
  let next = 0;
  return records.map((source) => {
    if (source.malformed !== undefined) {
      return { source, outcome: failed(source, 'format-conversion-failed', 'kpl-aggregate-malformed', `the KPL aggregated record is malformed: ${source.malformed}; none of its user records were delivered`) };
    }
    const t = transformed?.[next++];
    if (t && t.kind !== 'data') return { source, outcome: t };
    const data = t ? t.data : source.record.data;
    return { source, outcome: convert(source, data, schema) };
  });
}

export type ErrorOutcome = Extract<Outcome, { readonly kind: 'error' }>;

export function failed(source: BufferedRecord, errorType: DeliveryErrorType, errorCode: string, errorMessage: string): ErrorOutcome {
  return {
    kind: 'error',
    error: {
      shardId: source.shardId,
      sequenceNumber: source.record.sequenceNumber,
      errorType,
      errorCode,
      errorMessage,
      rawData: source.record.data,
      arrivalTime: source.record.arrivalTime,
    },
  };
}

/** The destination batch of `prepared`: its rows, its failed records, and the last position per shard. */
export function toDestinationBatch(stream: string, prepared: readonly PreparedRecord[]): DestinationBatch {
  const rows: Row[] = [];
  const errors: DeliveryErrorRow[] = [];
  const positions: Record<string, string> = {};
  for (const { source, outcome } of prepared) {
    positions[source.shardId] = source.record.sequenceNumber;
    if (outcome.kind === 'row') rows.push(outcome.row);
    else if (outcome.kind === 'error') errors.push(outcome.error);
  }
  return { stream, rows, errors, positions };
}

function convert(source: BufferedRecord, data: Uint8Array, schema: TableSchema): Outcome {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (err) {
    return failed(source, 'format-conversion-failed', 'invalid-json', `the record is not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const converted = rowFromObject(schema, value, { omit: SOURCE });
  if (!converted.ok) return failed(source, 'format-conversion-failed', 'schema-mismatch', converted.message);
  const row = converted.row as Record<string, Row[string]>;
  row.arrival_time = source.record.arrivalTime;
  row.shard_id = source.shardId;
  row.sequence_number = source.record.sequenceNumber;
  return { kind: 'row', row };
}

type TransformOutcome = { readonly kind: 'data'; readonly data: Uint8Array } | { readonly kind: 'dropped' } | ErrorOutcome;

async function runTransform(records: readonly BufferedRecord[], transform: TransformFunction, policy: TransformPolicy): Promise<TransformOutcome[]> {
  const attempts = Math.max(1, policy.attempts);
  const inputs: TransformInputRecord[] = records.map(({ shardId, record }) => ({
    recordId: record.subSequenceNumber === undefined ? `${shardId}/${record.sequenceNumber}` : `${shardId}/${record.sequenceNumber}/${record.subSequenceNumber}`,
    data: record.data,
    approximateArrivalTimestamp: record.arrivalTime,
    partitionKey: record.partitionKey,
    shardId,
    sequenceNumber: record.sequenceNumber,
  }));
  let outputs: readonly TransformOutputRecord[] | undefined;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts && outputs === undefined; attempt++) {
    try {
      const result = await withTimeout(Promise.resolve().then(() => transform(inputs)), policy.timeoutMs);
      if (!Array.isArray(result)) throw new TypeError('the transform must return an array of records');
      outputs = result;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
  }
  if (outputs === undefined) {
    return records.map((source) => failed(source, 'processing-failed', 'transform-failed', `the transform failed ${attempts} times: ${lastError}`));
  }
  const byId = new Map<string, TransformOutputRecord>();
  for (const out of outputs) if (out && typeof out.recordId === 'string' && !byId.has(out.recordId)) byId.set(out.recordId, out);
  return records.map((source, i): TransformOutcome => {
    const out = byId.get(inputs[i]!.recordId);
    if (!out) return failed(source, 'processing-failed', 'transform-missing-record', 'the transform returned no result for this record');
    switch (out.result) {
      case 'Ok':
        return out.data instanceof Uint8Array
          ? { kind: 'data', data: out.data }
          : failed(source, 'processing-failed', 'transform-invalid-result', "the transform answered 'Ok' without data");
      case 'Dropped':
        return { kind: 'dropped' };
      case 'ProcessingFailed':
        return failed(source, 'processing-failed', 'transform-processing-failed', out.errorMessage ?? 'the transform reported ProcessingFailed');
      default:
        return failed(source, 'processing-failed', 'transform-invalid-result', `the transform answered an unknown result ${JSON.stringify(out.result)}`);
    }
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the transform did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Firehose PutRecord and PutRecordBatch: the delivery stream named X delivers into the log stream named X,
 * each record under a fresh random partition key.
 */
import { TollstreamError } from '../../core/errors.ts';
import { STREAM_NAME, type AppendRecord, type AppendResult } from '../../log/index.ts';
import { type AwsContext, type Operation } from './context.ts';
import { asObject, requiredArray, requiredBlob, requiredString, type Json } from './input.ts';

export const FIREHOSE_LIMITS = {
  /** Decoded data of one record, bytes (1,000 KiB). */
  recordBytes: 1000 * 1024,
  recordsPerBatch: 500,
  /** Decoded data of one PutRecordBatch, bytes. */
  batchBytes: 4 * 1024 * 1024,
} as const;

function deliveryStream(input: Json): string {
  return requiredString(input, 'DeliveryStreamName', { min: 1, max: 64, pattern: STREAM_NAME });
}

function firehoseRecord(ctx: AwsContext, value: unknown, field: string): AppendRecord {
  const data = requiredBlob(asObject(value, field), 'Data');
  if (data.length > FIREHOSE_LIMITS.recordBytes) {
    throw new TollstreamError('INVALID_ARGUMENT', `${field}.Data is ${data.length} bytes; a Firehose record may be at most ${FIREHOSE_LIMITS.recordBytes}`, {
      context: { field, sizeBytes: data.length, limitBytes: FIREHOSE_LIMITS.recordBytes },
    });
  }
  return { data, partitionKey: ctx.randomPartitionKey() };
}

/** Firehose record ids are opaque; this one names where the record landed. */
function recordId(result: Extract<AppendResult, { ok: true }>): string {
  return `${result.shardId}:${result.sequenceNumber}`;
}

/** Firehose calls a refused write ServiceUnavailableException. */
const firehoseErrorCode = (result: Extract<AppendResult, { ok: false }>): string =>
  result.errorCode === 'ProvisionedThroughputExceededException' ? 'ServiceUnavailableException' : result.errorCode;

const putRecord: Operation = async (ctx, input) => {
  const stream = deliveryStream(input);
  const record = firehoseRecord(ctx, input.Record, 'Record');
  const [result] = await ctx.log.append(stream, [record]);
  if (!result) throw new TollstreamError('INTERNAL', 'the log returned no result for the appended record');
  if (!result.ok) {
    throw new TollstreamError(result.errorCode === 'ProvisionedThroughputExceededException' ? 'THROUGHPUT_EXCEEDED' : 'IO_ERROR', result.errorMessage);
  }
  return { RecordId: recordId(result), Encrypted: false };
};

const putRecordBatch: Operation = async (ctx, input) => {
  const stream = deliveryStream(input);
  const entries = requiredArray(input, 'Records', 1, FIREHOSE_LIMITS.recordsPerBatch);
  const records = new Array<AppendRecord>(entries.length);
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const record = firehoseRecord(ctx, entries[i], `Records.${i + 1}`);
    records[i] = record;
    total += record.data.length;
  }
  if (total > FIREHOSE_LIMITS.batchBytes) {
    throw new TollstreamError('INVALID_ARGUMENT', `the batch carries ${total} bytes of data; PutRecordBatch accepts at most ${FIREHOSE_LIMITS.batchBytes}`, {
      context: { sizeBytes: total, limitBytes: FIREHOSE_LIMITS.batchBytes },
    });
  }
  const results = await ctx.log.append(stream, records);
  let failed = 0;
  const responses = results.map((r) => {
    if (r.ok) return { RecordId: recordId(r) };
    failed++;
    return { ErrorCode: firehoseErrorCode(r), ErrorMessage: r.errorMessage };
  });
  return { FailedPutCount: failed, Encrypted: false, RequestResponses: responses };
};

export const FIREHOSE_OPERATIONS: Readonly<Record<string, Operation>> = {
  PutRecord: putRecord,
  PutRecordBatch: putRecordBatch,
};

/** Kinesis data-plane operations: PutRecord(s), GetShardIterator, GetRecords. */
import { isTollstreamError, TollstreamError } from '../../core/errors.ts';
import type { AppendRecord, AppendResult, ReadLimits, ReadResult, StartPosition, StoredRecord } from '../../log/index.ts';
import { requiredShardId, streamNameOf, type AwsContext, type Operation } from './context.ts';
import {
  asObject,
  characterCount,
  optionalInteger,
  optionalString,
  optionalTimestamp,
  requiredArray,
  requiredBlob,
  requiredString,
  type Json,
} from './input.ts';
import { blob, timestamp } from './wire.ts';

/** Kinesis' limits. */
export const KINESIS_LIMITS = {
  /** Data plus partition key of one record, bytes. */
  recordBytes: 1024 * 1024,
  recordsPerPut: 500,
  /** Data plus partition keys of one PutRecords request, bytes. */
  putRecordsBytes: 5 * 1024 * 1024,
  partitionKeyCharacters: 256,
  recordsPerGet: 10_000,
  /** Data returned by one GetRecords, bytes. */
  getRecordsBytes: 10 * 1024 * 1024,
} as const;

const MAX_HASH_KEY = (1n << 128n) - 1n;
const DIGITS = /^[0-9]+$/;

/** Validates one Kinesis record entry (PutRecord input or a PutRecords member); returns it and its size. */
function kinesisRecord(entry: Json, field: string, dataPath: string): { record: AppendRecord; size: number } {
  const partitionKey = requiredString(entry, 'PartitionKey', { min: 1 });
  if (characterCount(partitionKey) > KINESIS_LIMITS.partitionKeyCharacters) {
    throw new TollstreamError('VALIDATION_FAILED', `${field}.PartitionKey is longer than ${KINESIS_LIMITS.partitionKeyCharacters} characters`, {
      context: { field },
    });
  }
  const data = requiredBlob(entry, 'Data');
  if (data.length > KINESIS_LIMITS.recordBytes) {
    // The API's declared limit on the blob alone, answered as AWS's request validation words it.
    throw new TollstreamError(
      'VALIDATION_FAILED',
      `1 validation error detected: Value at '${dataPath}' failed to satisfy constraint: Member must have length less than or equal to ${KINESIS_LIMITS.recordBytes}`,
      { context: { field, sizeBytes: data.length, limitBytes: KINESIS_LIMITS.recordBytes } },
    );
  }
  const size = data.length + Buffer.byteLength(partitionKey);
  if (size > KINESIS_LIMITS.recordBytes) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `${field} is ${size} bytes (data plus partition key); a record may be at most ${KINESIS_LIMITS.recordBytes} bytes`,
      { context: { field, sizeBytes: size, limitBytes: KINESIS_LIMITS.recordBytes } },
    );
  }
  const explicitHashKey = optionalString(entry, 'ExplicitHashKey');
  if (explicitHashKey !== undefined && !(DIGITS.test(explicitHashKey) && explicitHashKey.length <= 39 && BigInt(explicitHashKey) <= MAX_HASH_KEY)) {
    throw new TollstreamError('INVALID_ARGUMENT', `${field}.ExplicitHashKey must be a decimal integer from 0 to 2^128 - 1`, {
      context: { field, explicitHashKey },
    });
  }
  return { record: explicitHashKey === undefined ? { data, partitionKey } : { data, partitionKey, explicitHashKey }, size };
}

const putRecord: Operation = async (ctx, input) => {
  const stream = streamNameOf(input);
  const { record } = kinesisRecord(input, 'Record', 'data');
  const [result] = await ctx.log.append(stream, [record]);
  if (!result) throw new TollstreamError('INTERNAL', 'the log returned no result for the appended record');
  if (!result.ok) throw failedRecordError(result);
  return { ShardId: result.shardId, SequenceNumber: result.sequenceNumber, EncryptionType: 'NONE' };
};

function failedRecordError(result: Extract<AppendResult, { ok: false }>): TollstreamError {
  return new TollstreamError(result.errorCode === 'ProvisionedThroughputExceededException' ? 'THROUGHPUT_EXCEEDED' : 'IO_ERROR', result.errorMessage);
}

const putRecords: Operation = async (ctx, input) => {
  const stream = streamNameOf(input);
  const entries = requiredArray(input, 'Records', 1, KINESIS_LIMITS.recordsPerPut);
  const records = new Array<AppendRecord>(entries.length);
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const { record, size } = kinesisRecord(asObject(entries[i], `Records.${i + 1}`), `Records.${i + 1}`, `records.${i + 1}.member.data`);
    records[i] = record;
    total += size;
  }
  if (total > KINESIS_LIMITS.putRecordsBytes) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `the request carries ${total} bytes of records (data plus partition keys); PutRecords accepts at most ${KINESIS_LIMITS.putRecordsBytes}`,
      { context: { sizeBytes: total, limitBytes: KINESIS_LIMITS.putRecordsBytes } },
    );
  }
  const results = await ctx.log.append(stream, records);
  let failed = 0;
  const out = new Array<Json>(results.length);
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.ok) {
      out[i] = { SequenceNumber: r.sequenceNumber, ShardId: r.shardId };
    } else {
      failed++;
      out[i] = { ErrorCode: r.errorCode, ErrorMessage: r.errorMessage };
    }
  }
  return { FailedRecordCount: failed, Records: out, EncryptionType: 'NONE' };
};

const ITERATOR_TYPES = new Set(['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']);

/** A start position from a request: GetShardIterator's fields, or SubscribeToShard's `StartingPosition`. */
export function startPositionOf(
  ctx: AwsContext,
  input: Json,
  fields: { readonly type: string; readonly sequenceNumber: string },
  where: { readonly stream: string; readonly shardId: string },
): StartPosition {
  const type = requiredString(input, fields.type);
  if (!ITERATOR_TYPES.has(type)) {
    throw new TollstreamError('VALIDATION_FAILED', `${fields.type} '${type}' is not one of ${[...ITERATOR_TYPES].join(', ')}`);
  }
  if (type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER') {
    const sequenceNumber = optionalString(input, fields.sequenceNumber);
    if (sequenceNumber === undefined || !DIGITS.test(sequenceNumber)) {
      throw new TollstreamError('INVALID_ARGUMENT', `${type} needs ${fields.sequenceNumber}, a decimal sequence number`);
    }
    return { type, sequenceNumber };
  }
  if (type === 'AT_TIMESTAMP') {
    const at = optionalTimestamp(input, 'Timestamp');
    if (at === undefined) throw new TollstreamError('INVALID_ARGUMENT', 'AT_TIMESTAMP needs Timestamp');
    const now = ctx.now();
    if (at > now) {
      throw new TollstreamError('INVALID_ARGUMENT', `The timestamp ${new Date(at).toISOString()} is in the future (the server's time is ${new Date(now).toISOString()})`, {
        context: { ...where, timestamp: at },
      });
    }
    return { type, timestamp: at };
  }
  return { type: type as 'TRIM_HORIZON' | 'LATEST' };
}

/**
 * The first read from a requested position, which also checks that the stream and shard exist and the
 * sequence number is valid. Returns the position actually read from: Kinesis accepts a shard's
 * StartingSequenceNumber before the shard holds a record, which reads from the shard's start.
 */
export async function firstRead(ctx: AwsContext, stream: string, shardId: string, position: StartPosition, limits: ReadLimits): Promise<{ position: StartPosition; result: ReadResult }> {
  try {
    return { position, result: await ctx.log.read(stream, shardId, position, limits) };
  } catch (err) {
    if (!(await isStartOfEmptyShard(ctx, stream, shardId, position, err))) throw err;
    const start: StartPosition = { type: 'TRIM_HORIZON' };
    return { position: start, result: await ctx.log.read(stream, shardId, start, limits) };
  }
}

const getShardIterator: Operation = async (ctx, input) => {
  const stream = streamNameOf(input);
  const shardId = requiredShardId(input, 'ShardId');
  const requested = startPositionOf(ctx, input, { type: 'ShardIteratorType', sequenceNumber: 'StartingSequenceNumber' }, { stream, shardId });
  // For LATEST the read also pins the position, so records put after this call are read by the iterator,
  // as Kinesis does.
  let { position, result: probe } = await firstRead(ctx, stream, shardId, requested, { maxRecords: 1 });
  if (position.type === 'LATEST' && probe.next !== null) position = probe.next;
  return { ShardIterator: ctx.iterators.encode(stream, shardId, position) };
};

async function isStartOfEmptyShard(ctx: AwsContext, stream: string, shardId: string, position: StartPosition, err: unknown): Promise<boolean> {
  if (!isTollstreamError(err, 'SEQUENCE_NOT_FOUND') || !('sequenceNumber' in position)) return false;
  const shard = (await ctx.log.describeStream(stream)).shards.find((s) => s.shardId === shardId);
  return shard !== undefined && BigInt(shard.startingSequenceNumber) === BigInt(position.sequenceNumber);
}

/** A stored record as GetRecords and SubscribeToShard answer it. */
export function recordOut(r: StoredRecord): Json {
  return {
    SequenceNumber: r.sequenceNumber,
    ApproximateArrivalTimestamp: timestamp(r.arrivalTime),
    Data: blob(r.data),
    PartitionKey: r.partitionKey,
  };
}

const getRecords: Operation = async (ctx, input) => {
  const given = requiredString(input, 'ShardIterator', { min: 1, max: 2048 });
  // An iterator pasted with the quotes of the JSON it was copied from, as Kinesis accepts it.
  const token = given.length > 2 && given.startsWith('"') && given.endsWith('"') ? given.slice(1, -1) : given;
  const limit = optionalInteger(input, 'Limit', 1, KINESIS_LIMITS.recordsPerGet) ?? KINESIS_LIMITS.recordsPerGet;
  const iterator = ctx.iterators.decode(token);
  const result = await ctx.log.read(iterator.stream, iterator.shardId, iterator.position, {
    maxRecords: limit,
    maxBytes: KINESIS_LIMITS.getRecordsBytes,
  });
  const records = new Array<Json>(result.records.length);
  for (let i = 0; i < result.records.length; i++) records[i] = recordOut(result.records[i]!);
  const response: Json = { Records: records, MillisBehindLatest: result.millisBehindLatest };
  if (result.next !== null) {
    response.NextShardIterator = ctx.iterators.encode(iterator.stream, iterator.shardId, result.next);
  } else {
    response.ChildShards = await childShards(ctx, iterator.stream, result.childShardIds ?? []);
  }
  return response;
};

export async function childShards(ctx: AwsContext, stream: string, childIds: readonly string[]): Promise<Json[]> {
  if (childIds.length === 0) return [];
  const d = await ctx.log.describeStream(stream);
  return d.shards
    .filter((s) => childIds.includes(s.shardId))
    .map((s) => ({
      ShardId: s.shardId,
      ParentShards: [...s.parentShardIds],
      HashKeyRange: { StartingHashKey: s.hashKeyRange.startingHashKey, EndingHashKey: s.hashKeyRange.endingHashKey },
    }));
}

export const RECORD_OPERATIONS: Readonly<Record<string, Operation>> = {
  PutRecord: putRecord,
  PutRecords: putRecords,
  GetShardIterator: getShardIterator,
  GetRecords: getRecords,
};

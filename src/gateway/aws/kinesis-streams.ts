/** Kinesis control-plane operations: create, delete, describe, list, reshard (uniform, split, merge), retention. */
import { TollstreamError } from '../../core/errors.ts';
import { STREAM_NAME, type ShardDescription, type StreamDescription, type StreamMode } from '../../log/index.ts';
import { optionalShardId, requiredShardId, streamArn, streamNameOf, streamOfArn, type AwsContext, type Operation } from './context.ts';
import { asObject, optionalInteger, optionalString, optionalTimestamp, requiredArray, requiredInteger, requiredString, type Json } from './input.ts';
import { createStreamTags } from './kinesis-tags.ts';
import { timestamp } from './wire.ts';

/**
 * Retention bounds in hours: the API's declared range (outside it: ValidationException) and Kinesis' floor of
 * 24 hours (below it: InvalidArgumentException). The native API allows shorter retention, down to one hour.
 */
const MIN_RETENTION_HOURS = 1;
const KINESIS_MIN_RETENTION_HOURS = 24;
const MAX_RETENTION_HOURS = 8760;
const MAX_SHARDS = 1024;
/** An on-demand stream starts with 4 shards, as in Kinesis. */
const ON_DEMAND_SHARDS = 4;
/** Kinesis' default quota of on-demand streams per account, enforced here (LimitExceededException). */
const ON_DEMAND_STREAM_LIMIT = 50;
const STREAM_MODES = { PROVISIONED: 'provisioned', ON_DEMAND: 'on-demand' } as const satisfies Record<string, StreamMode>;

const modeDetails = (mode: StreamMode): Json => ({ StreamMode: mode === 'on-demand' ? 'ON_DEMAND' : 'PROVISIONED' });

/** The `StreamModeDetails.StreamMode` of a request, if given. */
function requestedMode(input: Json, required: boolean): StreamMode | undefined {
  if (!required && (input.StreamModeDetails === undefined || input.StreamModeDetails === null)) return undefined;
  const details = input.StreamModeDetails === undefined || input.StreamModeDetails === null ? {} : asObject(input.StreamModeDetails, 'StreamModeDetails');
  const mode = requiredString(details, 'StreamMode');
  if (!Object.hasOwn(STREAM_MODES, mode)) {
    throw new TollstreamError('VALIDATION_FAILED', `StreamModeDetails.StreamMode must be PROVISIONED or ON_DEMAND, got '${mode}'`, { context: { field: 'StreamModeDetails' } });
  }
  return STREAM_MODES[mode as keyof typeof STREAM_MODES];
}

async function checkOnDemandQuota(ctx: AwsContext, name: string): Promise<void> {
  const count = (await ctx.log.listStreams()).filter((s) => s.mode === 'on-demand' && s.name !== name).length;
  if (count >= ON_DEMAND_STREAM_LIMIT) {
    throw new TollstreamError('LIMIT_EXCEEDED', `there are already ${count} on-demand streams, the most allowed; make one provisioned or delete one`, {
      context: { stream: name, limit: ON_DEMAND_STREAM_LIMIT },
    });
  }
}

export function kinesisShard(shard: ShardDescription): Json {
  return {
    ShardId: shard.shardId,
    ...(shard.parentShardIds[0] !== undefined ? { ParentShardId: shard.parentShardIds[0] } : {}),
    ...(shard.parentShardIds[1] !== undefined ? { AdjacentParentShardId: shard.parentShardIds[1] } : {}),
    HashKeyRange: { StartingHashKey: shard.hashKeyRange.startingHashKey, EndingHashKey: shard.hashKeyRange.endingHashKey },
    SequenceNumberRange: {
      StartingSequenceNumber: shard.startingSequenceNumber,
      ...(shard.endingSequenceNumber !== undefined ? { EndingSequenceNumber: shard.endingSequenceNumber } : {}),
    },
  };
}

function commonFields(ctx: AwsContext, d: StreamDescription): Json {
  return {
    StreamName: d.name,
    StreamARN: streamArn(ctx, d.name),
    StreamStatus: d.status,
    StreamModeDetails: modeDetails(d.mode),
    RetentionPeriodHours: d.retentionHours,
    StreamCreationTimestamp: timestamp(d.createdAt),
    EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
    EncryptionType: 'NONE',
  };
}

const createStream: Operation = async (ctx, input) => {
  const name = requiredString(input, 'StreamName', { min: 1, max: 128, pattern: STREAM_NAME });
  const given = optionalInteger(input, 'ShardCount', 1, MAX_SHARDS);
  // Without a shard count and a mode, Kinesis makes an on-demand stream.
  const mode = requestedMode(input, false) ?? (given === undefined ? 'on-demand' : 'provisioned');
  if (mode === 'on-demand' && given !== undefined) {
    throw new TollstreamError('INVALID_ARGUMENT', `ShardCount cannot be given for an ON_DEMAND stream; its capacity is not set by its owner`, { context: { stream: name } });
  }
  if (mode === 'provisioned' && given === undefined) {
    throw new TollstreamError('INVALID_ARGUMENT', `a PROVISIONED stream needs ShardCount`, { context: { stream: name } });
  }
  if (mode === 'on-demand') await checkOnDemandQuota(ctx, name);
  const tags = createStreamTags(input);
  await ctx.log.createStream(name, { shardCount: given ?? ON_DEMAND_SHARDS, mode, ...(tags ? { tags } : {}) });
  return {};
};

const deleteStream: Operation = async (ctx, input) => {
  const name = streamNameOf(input);
  if (input.EnforceConsumerDeletion !== true) {
    // As Kinesis: a stream with registered consumers is deleted only when the caller says so.
    const consumers = (await ctx.log.describeStream(name)).consumers ?? [];
    if (consumers.length > 0) {
      throw new TollstreamError('STREAM_BUSY', `stream '${name}' has ${consumers.length} registered consumer(s); deregister them or set EnforceConsumerDeletion`, {
        context: { stream: name },
      });
    }
  }
  await ctx.log.deleteStream(name);
  return {};
};

const describeStream: Operation = async (ctx, input) => {
  const d = await ctx.log.describeStream(streamNameOf(input));
  const limit = optionalInteger(input, 'Limit', 1, 10_000) ?? 100;
  const after = optionalShardId(input, 'ExclusiveStartShardId');
  const start = after === undefined ? 0 : d.shards.findIndex((s) => s.shardId === after) + 1;
  const page = d.shards.slice(start, start + limit);
  return {
    StreamDescription: {
      ...commonFields(ctx, d),
      Shards: page.map(kinesisShard),
      HasMoreShards: start + page.length < d.shards.length,
    },
  };
};

const describeStreamSummary: Operation = async (ctx, input) => {
  const d = await ctx.log.describeStream(streamNameOf(input));
  return { StreamDescriptionSummary: { ...commonFields(ctx, d), OpenShardCount: d.openShardCount, ConsumerCount: d.consumers?.length ?? 0 } };
};

const listStreams: Operation = async (ctx, input) => {
  const limit = optionalInteger(input, 'Limit', 1, 10_000) ?? 100;
  const token = optionalString(input, 'NextToken', { min: 1, max: 1048 });
  const after = token !== undefined ? decodeToken(token, 'streams') : optionalString(input, 'ExclusiveStartStreamName', { min: 1, max: 128 });
  const all = [...(await ctx.log.listStreams())].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = all.filter((s) => after === undefined || s.name > after).slice(0, limit);
  const more = page.length > 0 && all[all.length - 1]!.name > page[page.length - 1]!.name;
  return {
    StreamNames: page.map((s) => s.name),
    HasMoreStreams: more,
    ...(more ? { NextToken: encodeToken('streams', page[page.length - 1]!.name) } : {}),
    StreamSummaries: page.map((s) => ({
      StreamName: s.name,
      StreamARN: streamArn(ctx, s.name),
      StreamStatus: s.status,
      StreamModeDetails: modeDetails(s.mode),
      StreamCreationTimestamp: timestamp(s.createdAt),
    })),
  };
};

const listShards: Operation = async (ctx, input) => {
  const token = optionalString(input, 'NextToken', { min: 1, max: 1048 });
  const hasStream = input.StreamName !== undefined || input.StreamARN !== undefined;
  if (token !== undefined && hasStream) {
    throw new TollstreamError('INVALID_ARGUMENT', 'NextToken and StreamName cannot be given together; NextToken already names the stream');
  }
  const limit = optionalInteger(input, 'MaxResults', 1, 10_000) ?? 1000;
  let stream: string;
  let after: string | undefined;
  let filter: Json | undefined;
  if (token !== undefined) {
    const decoded = decodeToken(token, 'shards');
    const slash = decoded.indexOf('/');
    stream = decoded.slice(0, slash);
    after = decoded.slice(slash + 1);
  } else {
    stream = streamNameOf(input);
    after = optionalShardId(input, 'ExclusiveStartShardId');
    if (input.ShardFilter !== undefined && input.ShardFilter !== null) filter = asObject(input.ShardFilter, 'ShardFilter');
  }
  const d = await ctx.log.describeStream(stream);
  let shards = d.shards;
  if (filter) shards = filterShards(shards, filter);
  if (after !== undefined) {
    const afterId = after;
    shards = shards.filter((s) => s.shardId > afterId);
  }
  const page = shards.slice(0, limit);
  const more = page.length < shards.length;
  return {
    Shards: page.map(kinesisShard),
    ...(more ? { NextToken: encodeToken('shards', `${stream}/${page[page.length - 1]!.shardId}`) } : {}),
  };
};

function filterShards(shards: readonly ShardDescription[], filter: Json): readonly ShardDescription[] {
  const type = requiredString(filter, 'Type');
  switch (type) {
    case 'AFTER_SHARD_ID': {
      const id = requiredShardId(filter, 'ShardId');
      return shards.filter((s) => s.shardId > id);
    }
    case 'AT_LATEST':
      return shards.filter((s) => s.endingSequenceNumber === undefined);
    case 'AT_TRIM_HORIZON':
    case 'FROM_TRIM_HORIZON':
      return shards;
    case 'AT_TIMESTAMP':
    case 'FROM_TIMESTAMP':
      // Shards do not record when they closed; every shard that still holds data may hold later records.
      optionalTimestamp(filter, 'Timestamp');
      return shards;
    default:
      throw new TollstreamError('INVALID_ARGUMENT', `ShardFilter.Type '${type}' is not one of AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP`);
  }
}

const updateShardCount: Operation = async (ctx, input) => {
  const name = streamNameOf(input);
  const target = requiredInteger(input, 'TargetShardCount', 1, MAX_SHARDS);
  const scaling = requiredString(input, 'ScalingType');
  if (scaling !== 'UNIFORM_SCALING') {
    throw new TollstreamError('VALIDATION_FAILED', `ScalingType must be UNIFORM_SCALING, got '${scaling}'`);
  }
  const before = await provisioned(ctx, name, 'UpdateShardCount');
  const after = await ctx.log.updateShardCount(name, target);
  return { StreamName: name, StreamARN: streamArn(ctx, name), CurrentShardCount: before.openShardCount, TargetShardCount: after.openShardCount };
};

/** Kinesis' HashKey shape: a decimal integer without leading zeros (outside it: ValidationException). */
const HASH_KEY = /^(0|[1-9]\d{0,38})$/;

/** The stream, when it is provisioned: an on-demand stream's shards are not its owner's to change. */
async function provisioned(ctx: AwsContext, name: string, operation: string): Promise<StreamDescription> {
  const d = await ctx.log.describeStream(name);
  if (d.mode === 'on-demand') {
    throw new TollstreamError('INVALID_ARGUMENT', `${operation} is not available for the ON_DEMAND stream '${name}'; switch it to PROVISIONED with UpdateStreamMode first`, { context: { stream: name } });
  }
  return d;
}

const splitShard: Operation = async (ctx, input) => {
  const name = streamNameOf(input);
  const shardId = requiredShardId(input, 'ShardToSplit');
  const key = requiredString(input, 'NewStartingHashKey', { pattern: HASH_KEY });
  await provisioned(ctx, name, 'SplitShard');
  await ctx.log.splitShard(name, shardId, key);
  return {};
};

const mergeShards: Operation = async (ctx, input) => {
  const name = streamNameOf(input);
  const shardId = requiredShardId(input, 'ShardToMerge');
  const adjacent = requiredShardId(input, 'AdjacentShardToMerge');
  await provisioned(ctx, name, 'MergeShards');
  await ctx.log.mergeShards(name, shardId, adjacent);
  return {};
};

function retentionChange(direction: 'increase' | 'decrease'): Operation {
  return async (ctx, input) => {
    const name = streamNameOf(input);
    const hours = requiredInteger(input, 'RetentionPeriodHours', MIN_RETENTION_HOURS, MAX_RETENTION_HOURS);
    if (hours < KINESIS_MIN_RETENTION_HOURS) {
      throw new TollstreamError(
        'INVALID_ARGUMENT',
        `Minimum allowed retention period is ${KINESIS_MIN_RETENTION_HOURS} hours. Requested retention period (${hours} hours) is too short.`,
        { context: { stream: name, requested: hours } },
      );
    }
    const current = (await ctx.log.describeStream(name)).retentionHours;
    if (direction === 'increase' ? hours < current : hours > current) {
      throw new TollstreamError(
        'INVALID_ARGUMENT',
        `the retention of '${name}' is ${current} hours; ${direction === 'increase' ? 'IncreaseStreamRetentionPeriod cannot lower' : 'DecreaseStreamRetentionPeriod cannot raise'} it to ${hours}`,
        { context: { stream: name, retentionHours: current, requested: hours } },
      );
    }
    await ctx.log.updateRetention(name, { retentionHours: hours });
    return {};
  };
}

const SHARD_LEVEL_METRICS = new Set([
  'IncomingBytes',
  'IncomingRecords',
  'OutgoingBytes',
  'OutgoingRecords',
  'WriteProvisionedThroughputExceeded',
  'ReadProvisionedThroughputExceeded',
  'IteratorAgeMilliseconds',
  'ALL',
]);

function shardLevelMetrics(input: Json): string[] {
  return requiredArray(input, 'ShardLevelMetrics', 1, 7).map((m, i) => {
    if (typeof m !== 'string' || !SHARD_LEVEL_METRICS.has(m)) {
      throw new TollstreamError('VALIDATION_FAILED', `ShardLevelMetrics.${i + 1} must be one of ${[...SHARD_LEVEL_METRICS].join(', ')}`, { context: { field: 'ShardLevelMetrics' } });
    }
    return m;
  });
}

/**
 * Shard-level CloudWatch metrics do not exist here, so enabling them is refused rather than pretended;
 * per-shard records and bytes in are always on /metrics. Disabling succeeds: none is enabled.
 */
const enableEnhancedMonitoring: Operation = async (ctx, input) => {
  const name = streamNameOf(input);
  const metrics = shardLevelMetrics(input);
  await ctx.log.describeStream(name);
  throw new TollstreamError(
    'INVALID_ARGUMENT',
    `shard-level CloudWatch metrics (${metrics.join(', ')}) are not published by this server; per-shard records and bytes in are always on /metrics as tollstream_records_in_total and tollstream_bytes_in_total`,
    { context: { stream: name } },
  );
};

const disableEnhancedMonitoring: Operation = async (ctx, input) => {
  const name = streamNameOf(input);
  shardLevelMetrics(input);
  await ctx.log.describeStream(name);
  return { StreamName: name, StreamARN: streamArn(ctx, name), CurrentShardLevelMetrics: [], DesiredShardLevelMetrics: [] };
};

function encryptionRequest(input: Json): { name: string; type: string } {
  const name = streamNameOf(input);
  const type = requiredString(input, 'EncryptionType');
  if (type !== 'KMS' && type !== 'NONE') throw new TollstreamError('VALIDATION_FAILED', `EncryptionType must be KMS or NONE, got '${type}'`, { context: { field: 'EncryptionType' } });
  requiredString(input, 'KeyId', { min: 1, max: 2048 });
  return { name, type };
}

/** Streams are stored unencrypted (there is no KMS here): starting encryption is refused, stopping it holds. */
const startStreamEncryption: Operation = async (ctx, input) => {
  const { name } = encryptionRequest(input);
  await ctx.log.describeStream(name);
  throw new TollstreamError(
    'INVALID_ARGUMENT',
    `server-side encryption with a KMS key is not available: this server has no AWS KMS and stores '${name}' unencrypted; encrypt the volume of the data directory instead`,
    { context: { stream: name } },
  );
};

const stopStreamEncryption: Operation = async (ctx, input) => {
  const { name } = encryptionRequest(input);
  await ctx.log.describeStream(name);
  return {};
};

/** There is no account-wide shard limit here; ShardLimit is the limit of open shards per stream. */
const describeLimits: Operation = async (ctx) => {
  const streams = await ctx.log.listStreams();
  return {
    ShardLimit: MAX_SHARDS,
    OpenShardCount: streams.reduce((n, s) => n + s.openShardCount, 0),
    OnDemandStreamCount: streams.filter((s) => s.mode === 'on-demand').length,
    OnDemandStreamCountLimit: ON_DEMAND_STREAM_LIMIT,
  };
};

/** Records the mode; the shards stay as they are (on-demand capacity is not grown here, see docs/gateway.md). */
const updateStreamMode: Operation = async (ctx, input) => {
  const name = streamOfArn(requiredString(input, 'StreamARN', { min: 1, max: 2048 }));
  const mode = requestedMode(input, true)!;
  const current = await ctx.log.describeStream(name);
  if (mode === 'on-demand' && current.mode !== 'on-demand') await checkOnDemandQuota(ctx, name);
  await ctx.log.updateStreamMode(name, mode);
  return {};
};

/** Pagination tokens: the last key returned, tagged with what it pages over. */
function encodeToken(kind: string, last: string): string {
  return Buffer.from(JSON.stringify([kind, last])).toString('base64url');
}

function decodeToken(token: string, kind: string): string {
  try {
    const [k, last] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    if (k === kind && typeof last === 'string') return last;
  } catch {
    // Falls through to the error below.
  }
  throw new TollstreamError('INVALID_ARGUMENT', 'NextToken is not a token this server issued; repeat the first request without it');
}

export const STREAM_OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateStream: createStream,
  DeleteStream: deleteStream,
  DescribeStream: describeStream,
  DescribeStreamSummary: describeStreamSummary,
  ListStreams: listStreams,
  ListShards: listShards,
  UpdateShardCount: updateShardCount,
  SplitShard: splitShard,
  MergeShards: mergeShards,
  IncreaseStreamRetentionPeriod: retentionChange('increase'),
  DecreaseStreamRetentionPeriod: retentionChange('decrease'),
  EnableEnhancedMonitoring: enableEnhancedMonitoring,
  DisableEnhancedMonitoring: disableEnhancedMonitoring,
  StartStreamEncryption: startStreamEncryption,
  StopStreamEncryption: stopStreamEncryption,
  DescribeLimits: describeLimits,
  UpdateStreamMode: updateStreamMode,
};

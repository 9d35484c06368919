/**
 * The Firehose control plane over Tollstream's delivery streams. The delivery stream named X is the log
 * stream X (what PutRecord and PutRecordBatch append to); its destinations are the deliveries the server runs
 * from X (configured in `delivery.*`: the warehouse table, the Parquet lake). So:
 *
 * - ListDeliveryStreams lists the log streams whose names Firehose accepts (1-64 characters);
 * - DescribeDeliveryStream shows X and one destination per delivery reading it;
 * - CreateDeliveryStream makes the intake (a log stream) of a DirectPut delivery stream. Tollstream cannot
 *   deliver to AWS destinations (S3, Redshift, OpenSearch, HTTP endpoints...): a destination configuration
 *   is refused with InvalidArgumentException, never accepted and dropped;
 * - DeleteDeliveryStream deletes the log stream, unless a configured delivery reads it (ResourceInUseException).
 */
import { TollstreamError } from '../../core/errors.ts';
import { STREAM_NAME } from '../../log/index.ts';
import type { AwsContext, DeliveryView, Operation } from './context.ts';
import { asObject, optionalInteger, optionalString, requiredArray, requiredString, type Json } from './input.ts';
import { timestamp } from './wire.ts';

const NAME_RULE = { min: 1, max: 64, pattern: STREAM_NAME } as const;
const DIRECT_PUT = 'DirectPut';
const STREAM_TYPES = new Set(['DirectPut', 'KinesisStreamAsSource', 'MSKAsSource', 'DatabaseAsSource']);
/** Every destination a CreateDeliveryStream may configure; none names a place Tollstream can write. */
const DESTINATION_FIELDS = [
  'S3DestinationConfiguration',
  'ExtendedS3DestinationConfiguration',
  'RedshiftDestinationConfiguration',
  'ElasticsearchDestinationConfiguration',
  'AmazonopensearchserviceDestinationConfiguration',
  'SplunkDestinationConfiguration',
  'HttpEndpointDestinationConfiguration',
  'AmazonOpenSearchServerlessDestinationConfiguration',
  'SnowflakeDestinationConfiguration',
  'IcebergDestinationConfiguration',
] as const;
const FIREHOSE_TAGS = 50;

const deliveryStreamArn = (ctx: AwsContext, name: string): string => `arn:aws:firehose:${ctx.region}:${ctx.accountId}:deliverystream/${name}`;
const readersOf = (ctx: AwsContext, stream: string): DeliveryView[] => ctx.deliveries().filter((d) => d.stream === stream);

const createDeliveryStream: Operation = async (ctx, input) => {
  const name = requiredString(input, 'DeliveryStreamName', NAME_RULE);
  const type = optionalString(input, 'DeliveryStreamType') ?? DIRECT_PUT;
  if (!STREAM_TYPES.has(type)) throw new TollstreamError('VALIDATION_FAILED', `DeliveryStreamType '${type}' is not one of ${[...STREAM_TYPES].join(', ')}`, { context: { field: 'DeliveryStreamType' } });
  if (type !== DIRECT_PUT) {
    throw new TollstreamError('INVALID_ARGUMENT', `DeliveryStreamType ${type} is not available: records reach a delivery stream here by PutRecord and PutRecordBatch (DirectPut), and the Kinesis stream '${name}' already is its intake`, {
      context: { deliveryStream: name },
    });
  }
  const given = DESTINATION_FIELDS.filter((f) => input[f] !== undefined && input[f] !== null);
  if (given.length > 0) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `${given.join(', ')} cannot be served: this server delivers only into its own warehouse and Parquet lake, configured with delivery.* (docs/configuration.md); create the delivery stream without a destination to collect records in the log stream '${name}'`,
      { context: { deliveryStream: name, destinations: given } },
    );
  }
  if (input.DeliveryStreamEncryptionConfigurationInput !== undefined && input.DeliveryStreamEncryptionConfigurationInput !== null) {
    throw new TollstreamError('INVALID_ARGUMENT', 'server-side encryption is not available: there is no AWS KMS here and the log stores records unencrypted', { context: { deliveryStream: name } });
  }
  const tags = firehoseTags(input);
  await ctx.log.createStream(name, tags ? { tags } : {});
  return { DeliveryStreamARN: deliveryStreamArn(ctx, name) };
};

/** Firehose tags are a list of `{ Key, Value }`; they are kept as the log stream's tags. */
function firehoseTags(input: Json): Record<string, string> | undefined {
  if (input.Tags === undefined || input.Tags === null) return undefined;
  const list = requiredArray(input, 'Tags', 1, FIREHOSE_TAGS);
  const tags: Record<string, string> = {};
  list.forEach((entry, i) => {
    const tag = asObject(entry, `Tags.${i + 1}`);
    tags[requiredString(tag, 'Key', { min: 1, max: 128 })] = optionalString(tag, 'Value', { max: 256 }) ?? '';
  });
  return tags;
}

const describeDeliveryStream: Operation = async (ctx, input) => {
  const name = requiredString(input, 'DeliveryStreamName', NAME_RULE);
  const limit = optionalInteger(input, 'Limit', 1, 10_000) ?? 10_000;
  const after = optionalString(input, 'ExclusiveStartDestinationId', { min: 1, max: 100 });
  const d = await ctx.log.describeStream(name);
  const readers = readersOf(ctx, name);
  const start = after === undefined ? 0 : readers.findIndex((r) => r.name === after) + 1;
  const page = readers.slice(start, start + limit);
  return {
    DeliveryStreamDescription: {
      DeliveryStreamName: name,
      DeliveryStreamARN: deliveryStreamArn(ctx, name),
      DeliveryStreamStatus: d.status === 'ACTIVE' ? 'ACTIVE' : d.status === 'DELETING' ? 'DELETING' : 'CREATING',
      DeliveryStreamType: DIRECT_PUT,
      VersionId: '1',
      CreateTimestamp: timestamp(d.createdAt),
      DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
      // Tollstream's destinations are no AWS service, so no typed description fits: each is named by its id.
      Destinations: page.map((r) => ({ DestinationId: r.name })),
      HasMoreDestinations: start + page.length < readers.length,
    },
  };
};

const listDeliveryStreams: Operation = async (ctx, input) => {
  const limit = optionalInteger(input, 'Limit', 1, 10_000) ?? 10;
  const type = optionalString(input, 'DeliveryStreamType');
  if (type !== undefined && !STREAM_TYPES.has(type)) throw new TollstreamError('VALIDATION_FAILED', `DeliveryStreamType '${type}' is not one of ${[...STREAM_TYPES].join(', ')}`, { context: { field: 'DeliveryStreamType' } });
  const after = optionalString(input, 'ExclusiveStartDeliveryStreamName', NAME_RULE);
  const names =
    type !== undefined && type !== DIRECT_PUT
      ? []
      : (await ctx.log.listStreams())
          .map((s) => s.name)
          .filter((n) => n.length <= NAME_RULE.max && (after === undefined || n > after))
          .sort();
  return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
};

const deleteDeliveryStream: Operation = async (ctx, input) => {
  const name = requiredString(input, 'DeliveryStreamName', NAME_RULE);
  const readers = readersOf(ctx, name);
  if (readers.length > 0) {
    throw new TollstreamError(
      'STREAM_BUSY',
      `delivery stream '${name}' feeds the configured deliveries ${readers.map((r) => `${r.name} (${r.destination})`).join(', ')}; change delivery.stream in the configuration and restart before deleting it`,
      { context: { deliveryStream: name } },
    );
  }
  await ctx.log.deleteStream(name);
  return {};
};

export const FIREHOSE_CONTROL_OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateDeliveryStream: createDeliveryStream,
  DescribeDeliveryStream: describeDeliveryStream,
  ListDeliveryStreams: listDeliveryStreams,
  DeleteDeliveryStream: deleteDeliveryStream,
};

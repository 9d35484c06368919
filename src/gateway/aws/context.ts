/** What every Kinesis and Firehose operation is given: the log, the iterator codec and naming facts. */
import { TollstreamError } from '../../core/errors.ts';
import { formatShardId, STREAM_NAME, type StreamLog } from '../../log/index.ts';
import type { ErrorResponse } from '../errors.ts';
import type { Response } from '../http.ts';
import type { IteratorCodec } from './iterators.ts';
import type { WireFormat } from './wire.ts';
import { optionalString, requiredString, type Json } from './input.ts';

export interface AwsContext {
  readonly log: StreamLog;
  readonly iterators: IteratorCodec;
  /** Used in ARNs only. */
  readonly region: string;
  readonly accountId: string;
  /** A fresh partition key for a record that has none (Firehose, native API). */
  randomPartitionKey(): string;
  /** The clock, ms since the epoch (timestamps in the future are refused against it). */
  now(): number;
  /** Aborted when the gateway closes: long-lived replies (SubscribeToShard) end. */
  readonly shutdown: AbortSignal;
  /** The deliveries the server runs (Firehose's view of delivery streams); none without a server. */
  deliveries(): readonly DeliveryView[];
  /** How long a SubscribeToShard subscription lasts, and the longest it stays silent (an empty event then), in ms. */
  readonly subscription: { readonly lifetimeMs: number; readonly heartbeatMs: number };
}

/** A delivery the server runs from a log stream into a destination, as DescribeDeliveryStream shows it. */
export interface DeliveryView {
  /** The delivery's name (`warehouse`, `lake`). */
  readonly name: string;
  /** The log stream it reads: the Firehose delivery stream of that name. */
  readonly stream: string;
  /** Where it writes, e.g. `warehouse:toll_transactions`. */
  readonly destination: string;
}

/**
 * An answer written over time instead of encoded at once (SubscribeToShard's event stream). `send` writes the
 * status, headers and body in the request's wire format; `errorOf` gives the AWS error answer of a failure, for errors inside the stream.
 */
export class StreamedReply {
  constructor(readonly send: (res: Response, format: WireFormat, errorOf: (err: unknown) => ErrorResponse) => Promise<void>) {}
}

export type Operation = (ctx: AwsContext, input: Json) => Promise<unknown>;

const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]*:[0-9]*:stream\/([a-zA-Z0-9_.-]{1,128})$/;

export function streamArn(ctx: AwsContext, name: string): string {
  return `arn:aws:kinesis:${ctx.region}:${ctx.accountId}:stream/${name}`;
}

/** The stream a request names, by `StreamName` or `StreamARN`. */
export function streamNameOf(input: Json): string {
  const name = optionalString(input, 'StreamName', { min: 1, max: 128, pattern: STREAM_NAME });
  if (name !== undefined) return name;
  const arn = optionalString(input, 'StreamARN', { min: 1, max: 2048 });
  if (arn !== undefined) return streamOfArn(arn);
  throw new TollstreamError('INVALID_ARGUMENT', 'the request must name a stream with StreamName or StreamARN');
}

/** The stream named by a stream ARN (consumer ARNs name no resource here). */
export function streamOfArn(arn: string): string {
  const match = STREAM_ARN.exec(arn);
  if (!match) throw new TollstreamError('INVALID_ARGUMENT', `'${arn}' is not a Kinesis stream ARN`, { context: { streamArn: arn } });
  return match[1]!;
}

/** Short forms of a shard id that Kinesis accepts: `shardId-1` and `1` both name `shardId-000000000001`. */
const SHORT_SHARD_ID = /^(?:shardId-)?(\d{1,12})$/;

/** A shard id field, in its full form when given in a short one. */
export function optionalShardId(input: Json, field: string): string | undefined {
  const id = optionalString(input, field, { min: 1, max: 128 });
  if (id === undefined) return undefined;
  const short = SHORT_SHARD_ID.exec(id);
  return short ? formatShardId(Number(short[1])) : id;
}

export function requiredShardId(input: Json, field: string): string {
  requiredString(input, field, { min: 1, max: 128 });
  return optionalShardId(input, field)!;
}

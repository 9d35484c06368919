/**
 * Kinesis enhanced fan-out: consumers registered on a stream (kept with it in the log) and SubscribeToShard,
 * which pushes a shard's records to a consumer over one long response in the AWS event-stream framing
 * (`event-stream.ts`): an `initial-response` event, then `SubscribeToShardEvent`s as records are appended
 * (the log's subscription, no polling), each with the sequence number to continue from. The response ends
 * after the subscription's lifetime (5 minutes by default), at the end of a closed shard (with its child
 * shards), when the client leaves or the gateway closes; a failure inside it is an exception event.
 */
import { performance } from 'node:perf_hooks';
import { TollstreamError } from '../../core/errors.ts';
import type { ReadResult, StartPosition, StreamConsumer, StreamDescription } from '../../log/index.ts';
import type { ErrorResponse } from '../errors.ts';
import { asResponse, writeChunk, type Response } from '../http.ts';
import { requiredShardId, streamArn, streamOfArn, StreamedReply, type AwsContext, type Operation } from './context.ts';
import { eventMessage, exceptionMessage } from './event-stream.ts';
import { asObject, optionalInteger, optionalString, optionalTimestamp, requiredString, type Json } from './input.ts';
import { childShards, firstRead, recordOut, startPositionOf } from './kinesis-records.ts';
import { timestamp, type WireFormat } from './wire.ts';

const CONSUMER_NAME = { min: 1, max: 128, pattern: /^[a-zA-Z0-9_.-]+$/ } as const;
const CONSUMER_ARN = /^(arn:aws[a-z-]*:kinesis:[a-z0-9-]*:[0-9]*:stream\/[a-zA-Z0-9_.-]{1,128})\/consumer\/([a-zA-Z0-9_.-]{1,128}):([0-9]{1,20})$/;
/** Data per SubscribeToShard event, bytes (records are never split: one larger record still goes alone). */
const EVENT_BYTES = 1024 * 1024;
const EVENT_RECORDS = 10_000;
const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

/** Kinesis names a consumer by its stream, name and registration time in seconds. */
const consumerArn = (ctx: AwsContext, stream: string, c: StreamConsumer): string => `${streamArn(ctx, stream)}/consumer/${c.name}:${Math.floor(c.createdAt / 1000)}`;

function consumerOut(ctx: AwsContext, stream: string, c: StreamConsumer): Json {
  return { ConsumerName: c.name, ConsumerARN: consumerArn(ctx, stream, c), ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: timestamp(c.createdAt) };
}

const requiredStreamArn = (input: Json): string => streamOfArn(requiredString(input, 'StreamARN', { min: 1, max: 2048 }));

function notFound(stream: string, what: string): TollstreamError {
  return new TollstreamError('NOT_FOUND', `stream '${stream}' has no consumer ${what}`, { context: { stream } });
}

/**
 * The consumer a request names: by `ConsumerARN`, or by `StreamARN` and `ConsumerName`. An ARN must carry the
 * registration time of the consumer now registered under that name, as in Kinesis, where a consumer
 * registered again under the same name is a different consumer.
 */
async function consumerOf(ctx: AwsContext, input: Json, allowName: boolean): Promise<{ stream: string; consumer: StreamConsumer; description: StreamDescription }> {
  const arn = optionalString(input, 'ConsumerARN', { min: 1, max: 2048 });
  if (arn !== undefined) {
    const match = CONSUMER_ARN.exec(arn);
    if (!match) throw new TollstreamError('INVALID_ARGUMENT', `'${arn.slice(0, 300)}' is not a Kinesis consumer ARN`, { context: { consumerArn: arn.slice(0, 300) } });
    const stream = streamOfArn(match[1]!);
    const description = await ctx.log.describeStream(stream);
    const consumer = description.consumers?.find((c) => c.name === match[2] && String(Math.floor(c.createdAt / 1000)) === match[3]);
    if (!consumer) throw notFound(stream, `with the ARN ${arn}`);
    return { stream, consumer, description };
  }
  if (!allowName) throw new TollstreamError('INVALID_ARGUMENT', 'ConsumerARN is required');
  if (input.StreamARN === undefined || input.ConsumerName === undefined) {
    throw new TollstreamError('INVALID_ARGUMENT', 'name the consumer by ConsumerARN, or by StreamARN and ConsumerName');
  }
  const stream = requiredStreamArn(input);
  const name = requiredString(input, 'ConsumerName', CONSUMER_NAME);
  const description = await ctx.log.describeStream(stream);
  const consumer = description.consumers?.find((c) => c.name === name);
  if (!consumer) throw notFound(stream, `named '${name}'`);
  return { stream, consumer, description };
}

const registerStreamConsumer: Operation = async (ctx, input) => {
  const stream = requiredStreamArn(input);
  const name = requiredString(input, 'ConsumerName', CONSUMER_NAME);
  if (input.Tags !== undefined && input.Tags !== null && Object.keys(asObject(input.Tags, 'Tags')).length > 0) {
    throw new TollstreamError('INVALID_ARGUMENT', 'consumer tags are not kept by this server; register the consumer without Tags (stream tags are kept)', { context: { stream } });
  }
  const consumer = await ctx.log.registerConsumer(stream, name);
  return { Consumer: consumerOut(ctx, stream, consumer) };
};

const describeStreamConsumer: Operation = async (ctx, input) => {
  const { stream, consumer } = await consumerOf(ctx, input, true);
  return { ConsumerDescription: { ...consumerOut(ctx, stream, consumer), StreamARN: streamArn(ctx, stream) } };
};

const deregisterStreamConsumer: Operation = async (ctx, input) => {
  const { stream, consumer } = await consumerOf(ctx, input, true);
  await ctx.log.deregisterConsumer(stream, consumer.name);
  return {};
};

const listStreamConsumers: Operation = async (ctx, input) => {
  const stream = requiredStreamArn(input);
  const limit = optionalInteger(input, 'MaxResults', 1, 10_000) ?? 100;
  optionalTimestamp(input, 'StreamCreationTimestamp');
  const token = optionalString(input, 'NextToken', { min: 1, max: 1048 });
  const consumers = (await ctx.log.describeStream(stream)).consumers ?? [];
  let start = 0;
  if (token !== undefined) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    start = consumers.findIndex((c) => c.name === after) + 1;
    if (start === 0) throw new TollstreamError('INVALID_ARGUMENT', 'NextToken is not a token this server issued for this stream, or its consumer was deregistered; list again without it', { context: { stream } });
  }
  const page = consumers.slice(start, start + limit);
  const more = start + page.length < consumers.length;
  return {
    Consumers: page.map((c) => consumerOut(ctx, stream, c)),
    ...(more ? { NextToken: Buffer.from(page[page.length - 1]!.name).toString('base64url') } : {}),
  };
};

const subscribeToShard: Operation = async (ctx, input) => {
  const { stream, consumer, description } = await consumerOf(ctx, input, false);
  const shardId = requiredShardId(input, 'ShardId');
  const shard = description.shards.find((s) => s.shardId === shardId);
  if (!shard) throw new TollstreamError('SHARD_NOT_FOUND', `stream '${stream}' has no shard ${shardId}`, { context: { stream, shardId } });
  const requested = startPositionOf(ctx, asObject(input.StartingPosition, 'StartingPosition'), { type: 'Type', sequenceNumber: 'SequenceNumber' }, { stream, shardId });
  const limits = { maxRecords: EVENT_RECORDS, maxBytes: EVENT_BYTES };
  // The first read happens before the answer starts, so a bad position is an ordinary error answer.
  const { result: first } = await firstRead(ctx, stream, shardId, requested, limits);
  return new StreamedReply((res, format, errorOf) => new Subscription(ctx, res, format, errorOf, stream, consumer, shardId, shard.startingSequenceNumber).run(first));
};

const HEARTBEAT = Symbol('heartbeat');

/**
 * One subscription's answer. `continuation` is the sequence number to resubscribe from with
 * AFTER_SEQUENCE_NUMBER: the last record sent, or, before any, the position the log reports.
 */
class Subscription {
  private continuation: string;
  private readonly stop = new AbortController();
  /** When the consumer was last seen registered (performance.now()). */
  private consumerSeenAt = performance.now();

  constructor(
    private readonly ctx: AwsContext,
    private readonly res: Response,
    private readonly format: WireFormat,
    private readonly errorOf: (err: unknown) => ErrorResponse,
    private readonly stream: string,
    private readonly consumer: StreamConsumer,
    private readonly shardId: string,
    /** Continuing from a shard that never held a record (see docs/gateway.md, deviations). */
    startingSequenceNumber: string,
  ) {
    this.continuation = startingSequenceNumber;
  }

  async run(first: ReadResult): Promise<void> {
    const { ctx, stop } = this;
    const r = asResponse(this.res);
    const end = () => stop.abort();
    r.once('close', end);
    ctx.shutdown.addEventListener('abort', end, { once: true });
    const lifetime = setTimeout(end, ctx.subscription.lifetimeMs);
    try {
      r.writeHead(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE });
      await this.write(eventMessage('initial-response', this.format.contentType, bytes(this.format.encode({}))));
      if ((await this.batch(first)) || first.next === null) return;
      await this.follow(first.next);
    } catch (err) {
      await this.fail(err);
    } finally {
      clearTimeout(lifetime);
      ctx.shutdown.removeEventListener('abort', end);
      if (!r.writableEnded && !r.destroyed) r.end();
    }
  }

  /** Follows the shard from `from` until the subscription stops or the shard ends. */
  private async follow(from: StartPosition): Promise<void> {
    const { ctx, stop } = this;
    const sub = ctx.log.subscribe(this.stream, this.shardId, from, { maxRecords: EVENT_RECORDS, maxBytes: EVENT_BYTES, signal: stop.signal });
    const batches = sub[Symbol.asyncIterator]();
    try {
      let pending = batches.next();
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const beat = new Promise<typeof HEARTBEAT>((resolve) => (timer = setTimeout(resolve, ctx.subscription.heartbeatMs, HEARTBEAT)));
        const next = await Promise.race([pending, beat]);
        clearTimeout(timer);
        if (next === HEARTBEAT) {
          // Nothing new: the consumer still learns where it stands, and that it is at the tip.
          await this.event({ Records: [], ContinuationSequenceNumber: this.continuation, MillisBehindLatest: 0 });
          continue;
        }
        if (next.done) break;
        if (await this.batch(next.value)) return;
        pending = batches.next();
      }
    } finally {
      sub.close();
    }
    if (stop.signal.aborted) return;
    // The log ended the subscription by itself: the stream was deleted (describe fails with its error) or the log closed.
    await ctx.log.describeStream(this.stream);
    throw new TollstreamError('LOG_CLOSED', 'the log stopped serving this shard; subscribe again', { context: { stream: this.stream, shardId: this.shardId } });
  }

  /** Sends one batch; true when it was the last of a closed shard (then with its child shards). */
  private async batch(result: ReadResult): Promise<boolean> {
    const records = result.records.map(recordOut);
    const last = result.records[result.records.length - 1];
    if (last) this.continuation = last.sequenceNumber;
    else if (result.next?.type === 'AFTER_SEQUENCE_NUMBER') this.continuation = result.next.sequenceNumber;
    if (result.next === null) {
      // No continuation at a shard's end: the consumer goes on with the children, as the KCL does.
      await this.event({ Records: records, MillisBehindLatest: 0, ChildShards: await childShards(this.ctx, this.stream, result.childShardIds ?? []) });
      return true;
    }
    if (records.length > 0) await this.event({ Records: records, ContinuationSequenceNumber: this.continuation, MillisBehindLatest: result.millisBehindLatest });
    return false;
  }

  /**
   * A deregistered consumer's subscriptions end (ResourceNotFoundException), as in Kinesis. Checked at most once
   * per heartbeat interval, before an event is sent.
   */
  private async checkConsumer(): Promise<void> {
    if (performance.now() - this.consumerSeenAt < this.ctx.subscription.heartbeatMs) return;
    const { consumers = [] } = await this.ctx.log.describeStream(this.stream);
    if (!consumers.some((c) => c.name === this.consumer.name && c.createdAt === this.consumer.createdAt)) {
      throw notFound(this.stream, `named '${this.consumer.name}' any more: it was deregistered`);
    }
    this.consumerSeenAt = performance.now();
  }

  private async event(payload: Json): Promise<void> {
    await this.checkConsumer();
    return this.write(eventMessage('SubscribeToShardEvent', this.format.contentType, bytes(this.format.encode(payload))));
  }

  /** A failure after the answer started: an exception event of the error's AWS type ends the stream. */
  private async fail(err: unknown): Promise<void> {
    if (this.stop.signal.aborted && !(err instanceof TollstreamError)) return;
    const answer = this.errorOf(err);
    const type = answer.headers['x-amzn-errortype'] ?? 'InternalFailure';
    // The event stream's union names the internal error InternalFailureException.
    await this.write(exceptionMessage(type === 'InternalFailure' ? 'InternalFailureException' : type, this.format.contentType, bytes(answer.body)));
  }

  private write(message: Buffer): Promise<void> {
    return writeChunk(this.res, message);
  }
}

const bytes = (body: string | Buffer): Buffer => (typeof body === 'string' ? Buffer.from(body, 'utf8') : body);

export const CONSUMER_OPERATIONS: Readonly<Record<string, Operation>> = {
  RegisterStreamConsumer: registerStreamConsumer,
  DescribeStreamConsumer: describeStreamConsumer,
  DeregisterStreamConsumer: deregisterStreamConsumer,
  ListStreamConsumers: listStreamConsumers,
  SubscribeToShard: subscribeToShard,
};

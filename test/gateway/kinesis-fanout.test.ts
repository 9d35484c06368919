/**
 * Enhanced fan-out through the AWS SDK v3: consumers (register, describe, list, deregister) and
 * SubscribeToShard over HTTP/2, decoded by the SDK's own event-stream decoder.
 */
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  InvalidArgumentException,
  LimitExceededException,
  ListStreamConsumersCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  SubscribeToShardCommand,
  UpdateShardCountCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
} from '@aws-sdk/client-kinesis';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import cbor from 'cbor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJavaCbor } from '../support/java-cbor.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;
let kinesis: KinesisClient;

beforeAll(async () => {
  // Empty events every 200 ms when nothing comes, so a test learns its continuation point quickly.
  server = await startTestServer({ subscribeToShard: { heartbeatMs: 200 } });
  kinesis = server.kinesis();
});
afterAll(() => server.close());

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const arnOf = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
const SHARD = 'shardId-000000000000';

async function createStream(shards = 1): Promise<string> {
  const name = uniqueName();
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

async function register(stream: string, consumer = 'app'): Promise<string> {
  const out = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: consumer }));
  return out.Consumer!.ConsumerARN!;
}

/** Distinct payloads, some binary, so bytes and order are both checked. */
function payloads(from: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.concat([Buffer.from(`rec-${from + i}:`), Buffer.from([0, 255, (from + i) % 256, 10, 13])]));
}

async function put(stream: string, data: readonly Buffer[]): Promise<void> {
  const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: data.map((Data, i) => ({ Data, PartitionKey: `k${i}` })) }));
  expect(out.FailedRecordCount).toBe(0);
}

async function subscribe(consumerArn: string, position: StartingPosition, shardId = SHARD) {
  const out = await kinesis.send(new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: position }));
  return out.EventStream!;
}

type Events = Awaited<ReturnType<typeof subscribe>>;

/**
 * Reads events until `enough` says so (then leaves the subscription) or the server ends the stream. Returns
 * the events read (heartbeats included) and whether the server ended it.
 */
async function collect(stream: Events, enough: (events: SubscribeToShardEvent[]) => boolean): Promise<{ events: SubscribeToShardEvent[]; ended: boolean }> {
  const events: SubscribeToShardEvent[] = [];
  for await (const ev of stream) {
    if (ev.SubscribeToShardEvent) events.push(ev.SubscribeToShardEvent);
    if (enough(events)) return { events, ended: false };
  }
  return { events, ended: true };
}

const recordsOf = (events: readonly SubscribeToShardEvent[]) => events.flatMap((e) => e.Records ?? []);
const countRecords = (n: number) => (events: SubscribeToShardEvent[]) => recordsOf(events).length >= n;

describe('stream consumers', () => {
  it('registers, describes, lists and deregisters consumers; ConsumerCount follows', async () => {
    const stream = await createStream();
    const registered = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'billing' }));
    const consumer = registered.Consumer!;
    expect(consumer.ConsumerName).toBe('billing');
    expect(consumer.ConsumerStatus).toBe('ACTIVE');
    expect(consumer.ConsumerARN).toMatch(new RegExp(`^${arnOf(stream)}/consumer/billing:\\d+$`));
    expect(consumer.ConsumerCreationTimestamp).toBeInstanceOf(Date);
    await register(stream, 'audit');
    await register(stream, 'tail');

    const byArn = await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    expect(byArn.ConsumerDescription).toMatchObject({ ConsumerName: 'billing', ConsumerARN: consumer.ConsumerARN, StreamARN: arnOf(stream), ConsumerStatus: 'ACTIVE' });
    const byName = await kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'billing' }));
    expect(byName.ConsumerDescription?.ConsumerARN).toBe(consumer.ConsumerARN);
    expect((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.ConsumerCount).toBe(3);

    // Paged one at a time, every consumer exactly once.
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: arnOf(stream), MaxResults: 1, ...(token ? { NextToken: token } : {}) }));
      names.push(...(page.Consumers ?? []).map((c) => c.ConsumerName!));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual(['billing', 'audit', 'tail']);

    await expect(kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'billing' }))).rejects.toBeInstanceOf(ResourceInUseException);

    await kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    await kinesis.send(new DeregisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'audit' }));
    await expect(kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(kinesis.send(new DeregisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'audit' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    const left = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: arnOf(stream) }));
    expect(left.Consumers?.map((c) => c.ConsumerName)).toEqual(['tail']);
    expect(left.NextToken).toBeUndefined();
    expect((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.ConsumerCount).toBe(1);
  });

  it('refuses a 21st consumer, unknown streams, consumer tags and a stale consumer ARN', async () => {
    const stream = await createStream();
    for (let i = 0; i < 20; i++) await register(stream, `c${i}`);
    await expect(register(stream, 'c20')).rejects.toBeInstanceOf(LimitExceededException);
    await expect(register(uniqueName('absent'), 'x')).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'tagged', Tags: { team: 'ops' } }))).rejects.toBeInstanceOf(InvalidArgumentException);
    const arn = (await kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'c0' }))).ConsumerDescription!.ConsumerARN!;
    // An ARN names one registration: the same name registered at another time is another consumer.
    const stale = arn.replace(/:(\d+)$/, (_m, s: string) => `:${Number(s) - 1}`);
    await expect(kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: stale }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('SubscribeToShard', () => {
  it('pushes records put while subscribed, in order, with their bytes', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    await put(stream, payloads(0, 5)); // before the subscription: LATEST must not see these
    const events = await subscribe(arn, { Type: 'LATEST' });
    const sent = [...payloads(100, 40), ...payloads(140, 60)];
    const reading = collect(events, countRecords(100));
    await put(stream, sent.slice(0, 40));
    await put(stream, sent.slice(40));
    const { events: got } = await reading;
    const records = recordsOf(got);
    expect(records.map((r) => Buffer.from(r.Data!))).toEqual(sent);
    expect(records.map((r) => r.PartitionKey)).toEqual([...Array.from({ length: 40 }, (_, i) => `k${i}`), ...Array.from({ length: 60 }, (_, i) => `k${i}`)]);
    const sequence = records.map((r) => BigInt(r.SequenceNumber!));
    expect(sequence).toEqual([...sequence].sort((a, b) => (a < b ? -1 : 1)));
    expect(records.every((r) => r.ApproximateArrivalTimestamp instanceof Date)).toBe(true);
    const lastWithRecords = got.filter((e) => (e.Records ?? []).length > 0).at(-1)!;
    expect(lastWithRecords.ContinuationSequenceNumber).toBe(records.at(-1)!.SequenceNumber);
    expect(typeof lastWithRecords.MillisBehindLatest).toBe('number');
  });

  it('a resubscription from the continuation number misses nothing and repeats nothing', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    const first = payloads(0, 30);
    await put(stream, first);

    const one = await collect(await subscribe(arn, { Type: 'TRIM_HORIZON' }), countRecords(30));
    expect(recordsOf(one.events).map((r) => Buffer.from(r.Data!))).toEqual(first);
    const continuation = one.events.at(-1)!.ContinuationSequenceNumber!;

    // Records put while nobody is subscribed, then while the next subscription runs.
    const gap = payloads(30, 20);
    await put(stream, gap);
    const events = await subscribe(arn, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: continuation });
    const reading = collect(events, countRecords(30));
    const live = payloads(50, 10);
    await put(stream, live);
    const two = await reading;
    expect(recordsOf(two.events).map((r) => Buffer.from(r.Data!))).toEqual([...gap, ...live]);

    // An idle subscription still reports where it stands; continuing from there finds the next record.
    const idle = await collect(await subscribe(arn, { Type: 'LATEST' }), (e) => e.length >= 1);
    expect(idle.events[0]!.Records).toEqual([]);
    const idleContinuation = idle.events[0]!.ContinuationSequenceNumber!;
    expect(idleContinuation).toBe(recordsOf(two.events).at(-1)!.SequenceNumber);
    const later = payloads(60, 3);
    await put(stream, later);
    const three = await collect(await subscribe(arn, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: idleContinuation }), countRecords(3));
    expect(recordsOf(three.events).map((r) => Buffer.from(r.Data!))).toEqual(later);
  });

  it('starts AT_SEQUENCE_NUMBER and AT_TIMESTAMP where asked', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    const data = payloads(0, 10);
    await put(stream, data);
    const all = recordsOf((await collect(await subscribe(arn, { Type: 'TRIM_HORIZON' }), countRecords(10))).events);
    const at = await collect(await subscribe(arn, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: all[4]!.SequenceNumber }), countRecords(6));
    expect(recordsOf(at.events).map((r) => Buffer.from(r.Data!))).toEqual(data.slice(4));
    const since = await collect(await subscribe(arn, { Type: 'AT_TIMESTAMP', Timestamp: new Date(0) }), countRecords(10));
    expect(recordsOf(since.events).map((r) => Buffer.from(r.Data!))).toEqual(data);
  });

  it('ends a closed shard with its child shards after its last record', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    const before = payloads(0, 8);
    await put(stream, before);
    const events = await subscribe(arn, { Type: 'TRIM_HORIZON' });
    const reading = collect(events, () => false);
    await kinesis.send(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
    const { events: got, ended } = await reading;
    expect(ended).toBe(true);
    expect(recordsOf(got).map((r) => Buffer.from(r.Data!))).toEqual(before);
    const last = got.at(-1)!;
    expect(last.ContinuationSequenceNumber).toBeUndefined();
    expect(last.ChildShards?.map((c) => c.ShardId).sort()).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    expect(last.ChildShards?.every((c) => c.ParentShards?.includes(SHARD))).toBe(true);
    // Subscribing to the closed shard again replays it and ends the same way.
    const replay = await collect(await subscribe(arn, { Type: 'TRIM_HORIZON' }), () => false);
    expect(replay.ended).toBe(true);
    expect(recordsOf(replay.events)).toHaveLength(8);
    expect(replay.events.at(-1)!.ChildShards).toHaveLength(2);
  });

  it('a stream deleted while subscribed ends the subscription with ResourceNotFoundException', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    const events = await subscribe(arn, { Type: 'LATEST' });
    // Settled at once: the failure comes while DeleteStream is still being awaited.
    const outcome = collect(events, () => false).then(
      () => 'ended without an error',
      (err: unknown) => err,
    );
    // A stream with consumers is deleted only on purpose, as in Kinesis.
    await expect(kinesis.send(new DeleteStreamCommand({ StreamName: stream }))).rejects.toBeInstanceOf(ResourceInUseException);
    await kinesis.send(new DeleteStreamCommand({ StreamName: stream, EnforceConsumerDeletion: true }));
    expect(await outcome).toBeInstanceOf(ResourceNotFoundException);
  });

  it('a consumer deregistered while subscribed has its subscription ended with ResourceNotFoundException', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    const events = await subscribe(arn, { Type: 'LATEST' });
    const outcome = collect(events, () => false).then(
      () => 'ended without an error',
      (err: unknown) => err,
    );
    await kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: arn }));
    expect(await outcome).toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses an unknown consumer, shard or sequence number before the stream starts', async () => {
    const stream = await createStream();
    const arn = await register(stream);
    await expect(subscribe(`${arnOf(stream)}/consumer/nobody:1`, { Type: 'LATEST' })).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(subscribe(arn, { Type: 'LATEST' }, 'shardId-000000000009')).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(subscribe(arn, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: '12' })).rejects.toThrow(/sequence number/);
  });
});

describe('SubscribeToShard lifetime', () => {
  it('ends the subscription after its lifetime; the client subscribes again', async () => {
    await using short = await startTestServer({ subscribeToShard: { lifetimeMs: 1000, heartbeatMs: 200 } });
    const client = short.kinesis();
    const stream = uniqueName();
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    const arn = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'app' }))).Consumer!.ConsumerARN!;
    const out = await client.send(new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } }));
    const { events, ended } = await collect(out.EventStream!, () => false);
    expect(ended).toBe(true);
    // It was alive until then: idle events came, each with where to continue.
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.ContinuationSequenceNumber !== undefined)).toBe(true);
  });

  it('answers a CBOR request (the Java SDK) with CBOR event payloads: byte-string data, tag-1 epoch ms', async () => {
    await using short = await startTestServer({ subscribeToShard: { lifetimeMs: 1000, heartbeatMs: 200 } });
    const client = short.kinesis();
    const stream = uniqueName();
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    const arn = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arnOf(stream), ConsumerName: 'kcl' }))).Consumer!.ConsumerARN!;
    const data = payloads(0, 5);
    await client.send(new PutRecordsCommand({ StreamName: stream, Records: data.map((Data, i) => ({ Data, PartitionKey: `k${i}` })) }));

    // The whole answer, read once the subscription's lifetime ended it.
    const res = await sendJavaCbor(short.url, 'SubscribeToShard', { ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/vnd.amazon.eventstream');
    const messages: Array<ReturnType<typeof codec.decode>> = [];
    for (let at = 0; at < res.body.length; ) {
      const length = res.body.readUInt32BE(at);
      messages.push(codec.decode(res.body.subarray(at, at + length)));
      at += length;
    }
    const type = (m: ReturnType<typeof codec.decode>, name: string) => m.headers[name]?.value;
    expect(messages.map((m) => type(m, ':content-type'))).toEqual(messages.map(() => 'application/x-amz-cbor-1.1'));
    expect(type(messages[0]!, ':event-type')).toBe('initial-response');
    const events = messages.slice(1).map((m) => {
      expect(type(m, ':event-type')).toBe('SubscribeToShardEvent');
      return cbor.Decoder.decodeFirstSync(m.body, { tags: { 1: (v: unknown) => ({ tag1: v }) } }) as { Records: Array<Record<string, unknown>>; ContinuationSequenceNumber: string };
    });
    const records = events.flatMap((e) => e.Records);
    expect(records.map((r) => r.Data)).toEqual(data);
    expect(records.every((r) => Number.isInteger((r.ApproximateArrivalTimestamp as { tag1: unknown }).tag1))).toBe(true);
    expect(events.at(-1)!.ContinuationSequenceNumber).toBe(records.at(-1)!.SequenceNumber);
  });
});

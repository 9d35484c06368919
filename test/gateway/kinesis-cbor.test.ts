/**
 * The Kinesis API over CBOR, the AWS SDK for Java's default wire format: requests are written byte for byte as
 * the Java SDK writes them (see test/support/java-cbor.ts) and responses are read at the byte level, checking
 * what the Java SDK's reader expects (blobs as byte strings, timestamps as integer epoch milliseconds).
 */
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import cbor from 'cbor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../bench/lib/rng.ts';
import { JavaInstant, javaCbor, sendJavaCbor, type JavaCborResponse } from '../support/java-cbor.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;
let kinesis: KinesisClient;

beforeAll(async () => {
  server = await startTestServer();
  kinesis = server.kinesis();
});
afterAll(() => server.close());

/** A tag-1 value as it appeared on the wire, kept apart from a plain number. */
class Tag1 {
  constructor(readonly value: unknown) {}
}

/** Decodes a response keeping tags visible: tag 1 becomes a Tag1, not a Date. */
function decode(res: JavaCborResponse): Record<string, any> {
  return cbor.Decoder.decodeFirstSync(res.body, { tags: { 1: (v: unknown) => new Tag1(v) } }) as Record<string, any>;
}

async function call(operation: string, payload: unknown): Promise<Record<string, any>> {
  const res = await sendJavaCbor(server.url, operation, payload);
  expect(res.contentType).toBe('application/x-amz-cbor-1.1');
  const body = decode(res);
  if (res.status !== 200) throw new Error(`${operation} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

/** The instant of a timestamp as the Java SDK reads it: tag 1 (or none) around an integer of epoch milliseconds. */
function javaInstant(value: unknown): number {
  expect(value).toBeInstanceOf(Tag1);
  const ms = (value as Tag1).value;
  expect(Number.isInteger(ms)).toBe(true);
  return ms as number;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('Kinesis over CBOR (as the AWS SDK for Java sends it)', () => {
  it('writes requests the way Jackson does: indefinite-length maps and lists, tag 1 around epoch ms', () => {
    const bytes = javaCbor({ A: [Buffer.from([1, 2])], T: new JavaInstant(1_700_000_000_123) });
    expect(bytes.toString('hex')).toBe(
      'bf' + '6141' + '9f' + '420102' + 'ff' + '6154' + 'c1' + '1b' + (1_700_000_000_123).toString(16).padStart(16, '0') + 'ff',
    );
    // The library the server uses reads them.
    expect(cbor.Decoder.decodeFirstSync(bytes, { tags: { 1: (v: unknown) => v } })).toEqual({ A: [Buffer.from([1, 2])], T: 1_700_000_000_123 });
  });

  it('creates and describes a stream; StreamCreationTimestamp is epoch ms under tag 1', async () => {
    const name = uniqueName();
    const before = Date.now();
    expect(await call('CreateStream', { StreamName: name, ShardCount: 2, Tags: { owner: 'ops' } })).toEqual({});
    const after = Date.now();

    const { StreamDescription: d } = await call('DescribeStream', { StreamName: name });
    expect(d.StreamStatus).toBe('ACTIVE');
    expect(d.Shards).toHaveLength(2);
    const created = javaInstant(d.StreamCreationTimestamp);
    expect(created).toBeGreaterThanOrEqual(before - 1);
    expect(created).toBeLessThanOrEqual(after + 1);

    const { StreamDescriptionSummary: s } = await call('DescribeStreamSummary', { StreamName: name });
    expect(javaInstant(s.StreamCreationTimestamp)).toBe(created);
    expect(s.OpenShardCount).toBe(2);

    const listed = await call('ListStreams', {});
    const summary = (listed.StreamSummaries as Array<Record<string, unknown>>).find((x) => x.StreamName === name);
    expect(javaInstant(summary?.StreamCreationTimestamp)).toBe(created);

    expect(await call('ListTagsForStream', { StreamName: name })).toEqual({ Tags: [{ Key: 'owner', Value: 'ops' }], HasMoreTags: false });
    expect((await call('DescribeLimits', {})).OpenShardCount).toBeGreaterThanOrEqual(2);

    const shards = await call('ListShards', { StreamName: name });
    expect((shards.Shards as Array<{ ShardId: string }>).map((x) => x.ShardId)).toEqual(d.Shards.map((x: { ShardId: string }) => x.ShardId));
  });

  it('puts binary records as byte strings and reads them back byte for byte, with integer ms arrival times', async () => {
    const name = uniqueName();
    await call('CreateStream', { StreamName: name, ShardCount: 1 });
    const shardId = 'shardId-000000000000';
    const before = Date.now();
    const one = await call('PutRecord', { StreamName: name, Data: ALL_BYTES, PartitionKey: 'k0' });
    expect(one.ShardId).toBe(shardId);
    const many = await call('PutRecords', {
      StreamName: name,
      Records: [
        { Data: Buffer.from([0xff, 0xfe, 0x00]), PartitionKey: 'k1' },
        { Data: Buffer.alloc(0), PartitionKey: 'k2', ExplicitHashKey: '1' },
      ],
    });
    const after = Date.now();
    expect(many.FailedRecordCount).toBe(0);
    expect(many.Records).toHaveLength(2);

    const { ShardIterator } = await call('GetShardIterator', { StreamName: name, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
    const page = await call('GetRecords', { ShardIterator, Limit: 10 });
    const records = page.Records as Array<Record<string, unknown>>;
    expect(records.map((r) => r.PartitionKey)).toEqual(['k0', 'k1', 'k2']);
    expect(records.map((r) => r.Data)).toEqual([ALL_BYTES, Buffer.from([0xff, 0xfe, 0x00]), Buffer.alloc(0)]);
    for (const r of records) {
      expect(Buffer.isBuffer(r.Data)).toBe(true);
      const arrived = javaInstant(r.ApproximateArrivalTimestamp);
      expect(arrived).toBeGreaterThanOrEqual(before - 1);
      expect(arrived).toBeLessThanOrEqual(after + 1);
    }
    expect(records[0]!.SequenceNumber).toBe(one.SequenceNumber);
    expect(typeof page.NextShardIterator).toBe('string');
    expect(page.MillisBehindLatest).toBe(0);

    // The same records read over JSON by the JavaScript SDK: the same bytes, the same instants.
    const json = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    expect(json.Records?.map((r) => Buffer.from(r.Data!))).toEqual([ALL_BYTES, Buffer.from([0xff, 0xfe, 0x00]), Buffer.alloc(0)]);
    expect(json.Records?.map((r) => r.ApproximateArrivalTimestamp?.getTime())).toEqual(records.map((r) => javaInstant(r.ApproximateArrivalTimestamp)));
  });

  it('reads a GetRecords page of several MiB whole', async () => {
    const name = uniqueName();
    await call('CreateStream', { StreamName: name, ShardCount: 1 });
    const big = Array.from({ length: 4 }, (_, i) => ({ Data: Buffer.alloc(900 * 1024, i + 1), PartitionKey: `k${i}` }));
    expect((await call('PutRecords', { StreamName: name, Records: big })).FailedRecordCount).toBe(0);
    const { ShardIterator } = await call('GetShardIterator', { StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' });
    const page = await call('GetRecords', { ShardIterator });
    const read = page.Records as Array<{ Data: Buffer }>;
    expect(read).toHaveLength(big.length);
    // Compared with Buffer.equals: a deep comparison of MiB-sized values is slow.
    expect(read.map((r, i) => Buffer.isBuffer(r.Data) && r.Data.equals(big[i]!.Data))).toEqual(big.map(() => true));
  });

  it('reads AT_TIMESTAMP from a tag-1 epoch-ms Timestamp, the same position the JSON API finds', async () => {
    const name = uniqueName();
    await call('CreateStream', { StreamName: name, ShardCount: 1 });
    const shardId = 'shardId-000000000000';
    await call('PutRecord', { StreamName: name, Data: Buffer.from('first'), PartitionKey: 'k' });
    const arrivals: number[] = [];
    do {
      await call('PutRecord', { StreamName: name, Data: Buffer.from('later'), PartitionKey: 'k' });
      const { ShardIterator } = await call('GetShardIterator', { StreamName: name, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
      const page = await call('GetRecords', { ShardIterator });
      arrivals.splice(0, arrivals.length, ...(page.Records as Array<Record<string, unknown>>).map((r) => javaInstant(r.ApproximateArrivalTimestamp)));
      // Until a record arrives in a later millisecond than the first one.
    } while (arrivals[arrivals.length - 1] === arrivals[0]);
    const at = arrivals[arrivals.length - 1]!;

    const { ShardIterator } = await call('GetShardIterator', {
      StreamName: name,
      ShardId: shardId,
      ShardIteratorType: 'AT_TIMESTAMP',
      Timestamp: new JavaInstant(at),
    });
    const page = await call('GetRecords', { ShardIterator });
    const read = page.Records as Array<Record<string, unknown>>;
    expect(read.length).toBeGreaterThan(0);
    expect(read.every((r) => javaInstant(r.ApproximateArrivalTimestamp) >= at)).toBe(true);
    expect(javaInstant(read[0]!.ApproximateArrivalTimestamp)).toBe(at);

    const viaJson = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(at) }),
    );
    const jsonPage = await kinesis.send(new GetRecordsCommand({ ShardIterator: viaJson.ShardIterator }));
    expect(jsonPage.Records?.map((r) => r.SequenceNumber)).toEqual(read.map((r) => r.SequenceNumber));
  });

  it('answers errors in CBOR with __type, message and the x-amzn-ErrorType header', async () => {
    const missing = await sendJavaCbor(server.url, 'DescribeStream', { StreamName: 'no-such-stream' });
    expect(missing.status).toBe(400);
    expect(missing.contentType).toBe('application/x-amz-cbor-1.1');
    expect(missing.errorType).toBe('ResourceNotFoundException');
    const body = decode(missing);
    expect(body.__type).toBe('ResourceNotFoundException');
    expect(body.message).toContain('no-such-stream');

    // Bytes that are not CBOR (a truncated map).
    const garbled = await sendJavaCbor(server.url, 'DescribeStream', Buffer.from([0xbf, 0x6a, 0x53]));
    expect(garbled.status).toBe(400);
    expect(garbled.contentType).toBe('application/x-amz-cbor-1.1');
    expect(decode(garbled).__type).toBe('SerializationException');

    // A CBOR value that is not a map of text keys.
    const notMap = await sendJavaCbor(server.url, 'ListStreams', javaCbor([1, 2]));
    expect(decode(notMap).__type).toBe('SerializationException');

    // A field of the wrong CBOR type: Data as an integer.
    const name = uniqueName();
    await call('CreateStream', { StreamName: name });
    const wrongType = await sendJavaCbor(server.url, 'PutRecord', { StreamName: name, Data: 7, PartitionKey: 'k' });
    expect(decode(wrongType).__type).toBe('SerializationException');

    // A tag the API never uses (tag 32, a URI) is not interpreted: Data refuses it.
    const tagged = await sendJavaCbor(server.url, 'PutRecord', Buffer.concat([javaCbor({ StreamName: name, PartitionKey: 'k' }).subarray(0, -1), javaCbor('Data'), Buffer.from([0xd8, 0x20]), javaCbor('http://x'), Buffer.from([0xff])]));
    expect(decode(tagged).__type).toBe('SerializationException');

    const unknown = await sendJavaCbor(server.url, 'NoSuchOperation', {});
    expect(unknown.contentType).toBe('application/x-amz-cbor-1.1');
    expect(decode(unknown).__type).toBe('UnknownOperationException');
  });

  it('answers damaged CBOR requests with a CBOR error of the caller\'s kind, never an internal failure', async () => {
    const name = uniqueName();
    await call('CreateStream', { StreamName: name, ShardCount: 1 });
    const valid = javaCbor({
      StreamName: name,
      Records: [
        { Data: Buffer.from('{"plate":"ZH1"}'), PartitionKey: 'k1' },
        { Data: Buffer.from([1, 2, 3]), PartitionKey: 'k2', ExplicitHashKey: '7' },
      ],
    });
    const rng = createRng(15);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const body = Buffer.from(valid);
      // Change a few bytes, and sometimes cut the body short.
      for (let n = rng.int(1, 3); n > 0; n--) {
        const at = rng.int(0, body.length - 1);
        body[at] = rng.int(0, 255);
      }
      const damaged = rng.next() < 0.3 ? body.subarray(0, rng.int(0, body.length - 1)) : body;
      const res = await sendJavaCbor(server.url, 'PutRecords', damaged);
      expect(res.contentType).toBe('application/x-amz-cbor-1.1');
      const answer = decode(res);
      if (res.status === 200) {
        expect(answer.FailedRecordCount).toBe(0);
        seen.add('ok');
      } else {
        expect(res.status).toBe(400);
        expect(['SerializationException', 'ValidationException', 'InvalidArgumentException', 'ResourceNotFoundException']).toContain(answer.__type);
        seen.add(answer.__type as string);
      }
    }
    // The damage reached more than one kind of answer.
    expect(seen.size).toBeGreaterThan(2);
  });
});

import {
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  InvalidArgumentException,
  ListShardsCommand,
  ListStreamsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateShardCountCommand,
  SplitShardCommand,
  MergeShardsCommand,
  UpdateStreamModeCommand,
  ValidationException,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;
let kinesis: KinesisClient;

beforeAll(async () => {
  server = await startTestServer();
  kinesis = server.kinesis();
});
afterAll(() => server.close());

async function createStream(shards = 1): Promise<string> {
  const name = uniqueName();
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

async function readAll(stream: string, shardId: string, type: 'TRIM_HORIZON' = 'TRIM_HORIZON'): Promise<_Record[]> {
  const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: type }));
  const out: _Record[] = [];
  let iterator = ShardIterator;
  for (let i = 0; iterator && i < 20; i++) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    out.push(...(page.Records ?? []));
    if ((page.Records ?? []).length === 0) break;
    iterator = page.NextShardIterator;
  }
  return out;
}

const text = (r: _Record) => Buffer.from(r.Data!).toString();
const MAX = (1n << 128n) - 1n;

describe('Kinesis streams API (HTTP/2 via the AWS SDK)', () => {
  it('creates, describes, lists and deletes streams', async () => {
    const name = await createStream(3);
    const { StreamDescription: d } = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
    expect(d?.StreamStatus).toBe('ACTIVE');
    expect(d?.Shards).toHaveLength(3);
    expect(d?.StreamCreationTimestamp).toBeInstanceOf(Date);
    expect(d?.StreamARN).toBe(`arn:aws:kinesis:us-east-1:000000000000:stream/${name}`);

    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamARN: d?.StreamARN }));
    expect(summary.StreamDescriptionSummary?.OpenShardCount).toBe(3);

    const listed = await kinesis.send(new ListStreamsCommand({}));
    expect(listed.StreamNames).toContain(name);

    await kinesis.send(new DeleteStreamCommand({ StreamName: name }));
    await expect(kinesis.send(new DescribeStreamCommand({ StreamName: name }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses a second stream of the same name with ResourceInUseException', async () => {
    const name = await createStream();
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }))).rejects.toBeInstanceOf(ResourceInUseException);
  });

  it('pages ListStreams and ListShards with NextToken', async () => {
    const name = await createStream(3);
    const first = await kinesis.send(new ListShardsCommand({ StreamName: name, MaxResults: 2 }));
    expect(first.Shards).toHaveLength(2);
    expect(first.NextToken).toBeTruthy();
    const second = await kinesis.send(new ListShardsCommand({ NextToken: first.NextToken, MaxResults: 2 }));
    expect(second.Shards).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
    const ids = [...first.Shards!, ...second.Shards!].map((s) => s.ShardId);
    expect(new Set(ids).size).toBe(3);

    await createStream();
    const page = await kinesis.send(new ListStreamsCommand({ Limit: 1 }));
    expect(page.StreamNames).toHaveLength(1);
    expect(page.HasMoreStreams).toBe(true);
    const rest = await kinesis.send(new ListStreamsCommand({ NextToken: page.NextToken }));
    expect(rest.StreamNames).not.toContain(page.StreamNames![0]);
  });

  it('raises ResourceNotFoundException for unknown streams and shards', async () => {
    await expect(kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'no-such-stream' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      kinesis.send(new PutRecordCommand({ StreamName: 'no-such-stream', PartitionKey: 'k', Data: Buffer.from('x') })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    const name = await createStream();
    await expect(
      kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000099', ShardIteratorType: 'TRIM_HORIZON' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('changes retention with Increase/DecreaseStreamRetentionPeriod and refuses the wrong direction', async () => {
    const name = await createStream();
    await kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 48 }));
    let summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(summary.StreamDescriptionSummary?.RetentionPeriodHours).toBe(48);
    await kinesis.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 30 }));
    summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(summary.StreamDescriptionSummary?.RetentionPeriodHours).toBe(30);
    await expect(
      kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 24 })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(
      kinesis.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 100 })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
  });
});

describe('Kinesis records API', () => {
  it('puts records and reads them back from every shard with TRIM_HORIZON', async () => {
    const name = await createStream(2);
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: name,
        Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `plate-${i}`, Data: Buffer.from(`toll ${i}`) })),
      }),
    );
    expect(put.FailedRecordCount).toBe(0);
    expect(put.Records).toHaveLength(20);
    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    const read: string[] = [];
    for (const shard of Shards!) read.push(...(await readAll(name, shard.ShardId!)).map(text));
    expect(read.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `toll ${i}`).sort());
    // Records of one partition key keep their put order within their shard.
    expect(new Set(put.Records!.map((r) => r.ShardId)).size).toBe(2);
  });

  it('reads from AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP and LATEST', async () => {
    const name = await createStream(1);
    const shardId = 'shardId-000000000000';
    const seqs: string[] = [];
    for (const word of ['a', 'b', 'c']) {
      const r = await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from(word) }));
      expect(r.ShardId).toBe(shardId);
      seqs.push(r.SequenceNumber!);
    }
    const readFrom = async (input: Record<string, unknown>) => {
      const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId, ...input } as never));
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      return (page.Records ?? []).map(text);
    };
    expect(await readFrom({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: seqs[1] })).toEqual(['b', 'c']);
    expect(await readFrom({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: seqs[1] })).toEqual(['c']);
    expect(await readFrom({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() - 60_000) })).toEqual(['a', 'b', 'c']);

    const { ShardIterator: latest } = await kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shardId, ShardIteratorType: 'LATEST' }));
    await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('d') }));
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: latest }));
    expect(page.Records?.map(text)).toEqual(['d']);
    expect(page.Records?.[0]?.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
    expect(page.NextShardIterator).toBeTruthy();
    expect(page.MillisBehindLatest).toBe(0);
  });

  it('honours GetRecords Limit and continues with NextShardIterator', async () => {
    const name = await createStream(1);
    await kinesis.send(
      new PutRecordsCommand({ StreamName: name, Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(String(i)) })) }),
    );
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const first = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 2 }));
    expect(first.Records?.map(text)).toEqual(['0', '1']);
    const second = await kinesis.send(new GetRecordsCommand({ ShardIterator: first.NextShardIterator, Limit: 10 }));
    expect(second.Records?.map(text)).toEqual(['2', '3', '4']);
  });

  it('routes by ExplicitHashKey and rejects an invalid one', async () => {
    const name = await createStream(2);
    const high = await kinesis.send(
      new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: (2n ** 128n - 1n).toString(), Data: Buffer.from('x') }),
    );
    const low = await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: '0', Data: Buffer.from('x') }));
    expect(high.ShardId).not.toBe(low.ShardId);
    await expect(
      kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: (2n ** 128n).toString(), Data: Buffer.from('x') })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(
      kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: '12ab', Data: Buffer.from('x') })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
  });

  it('enforces Kinesis limits with typed errors', async () => {
    const name = await createStream();
    const big = Buffer.alloc(1024 * 1024, 1);
    await expect(kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: big }))).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
    await expect(
      kinesis.send(new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'k', Data: big }] })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    const many = Array.from({ length: 501 }, () => ({ PartitionKey: 'k', Data: Buffer.from('x') }));
    await expect(kinesis.send(new PutRecordsCommand({ StreamName: name, Records: many }))).rejects.toBeInstanceOf(ValidationException);
    const heavy = Array.from({ length: 6 }, () => ({ PartitionKey: 'k', Data: Buffer.alloc(1000 * 1024, 2) }));
    await expect(kinesis.send(new PutRecordsCommand({ StreamName: name, Records: heavy }))).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(
      kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'p'.repeat(257), Data: Buffer.from('x') })),
    ).rejects.toBeInstanceOf(ValidationException);
    await expect(kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: '', Data: Buffer.from('x') }))).rejects.toBeInstanceOf(
      ValidationException,
    );
    // A record exactly at the limit (data plus key) is accepted.
    const exact = await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024 - 1, 3) }));
    expect(exact.SequenceNumber).toBeTruthy();
  });

  it('rejects forged and altered iterators with InvalidArgumentException', async () => {
    const name = await createStream();
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const altered = ShardIterator!.slice(0, 10) + (ShardIterator![10] === 'A' ? 'B' : 'A') + ShardIterator!.slice(11);
    for (const bad of ['garbage', altered, 'a.b', `${ShardIterator}x`]) {
      await expect(kinesis.send(new GetRecordsCommand({ ShardIterator: bad }))).rejects.toBeInstanceOf(InvalidArgumentException);
    }
  });

  it('expires iterators after five minutes with ExpiredIteratorException', async () => {
    const name = await createStream();
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
    );
    // An iterator from another gateway sharing the secret but with a clock 6 minutes behind.
    await using old = await startTestServer({ iteratorSecret: 'shared', now: () => Date.now() - 6 * 60_000 });
    await using fresh = await startTestServer({ iteratorSecret: 'shared' });
    await old.log.createStream(name);
    await fresh.log.createStream(name);
    const oldIterator = await old
      .kinesis()
      .send(new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
    await expect(fresh.kinesis().send(new GetRecordsCommand({ ShardIterator: oldIterator.ShardIterator }))).rejects.toBeInstanceOf(
      ExpiredIteratorException,
    );
    // The iterator of the first server is still fresh there.
    await expect(kinesis.send(new GetRecordsCommand({ ShardIterator }))).resolves.toBeTruthy();
  });

  it('reshards with UpdateShardCount: parents are read to their end, then children', async () => {
    const name = await createStream(1);
    for (const word of ['p1', 'p2']) await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: word, Data: Buffer.from(word) }));
    const update = await kinesis.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
    expect(update.CurrentShardCount).toBe(1);
    expect(update.TargetShardCount).toBe(2);
    const children = Array.from({ length: 10 }, (_, i) => ({ PartitionKey: `c${i}`, Data: Buffer.from(`c${i}`) }));
    await kinesis.send(new PutRecordsCommand({ StreamName: name, Records: children }));

    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
    );
    let page = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    const parentRecords = [...(page.Records ?? [])];
    while (page.NextShardIterator) {
      page = await kinesis.send(new GetRecordsCommand({ ShardIterator: page.NextShardIterator }));
      parentRecords.push(...(page.Records ?? []));
    }
    expect(parentRecords.map(text)).toEqual(['p1', 'p2']);
    expect(page.ChildShards).toHaveLength(2);
    for (const child of page.ChildShards!) expect(child.ParentShards).toEqual(['shardId-000000000000']);

    const childRecords: string[] = [];
    for (const child of page.ChildShards!) childRecords.push(...(await readAll(name, child.ShardId!)).map(text));
    expect(childRecords.sort()).toEqual(children.map((c) => c.PartitionKey).sort());

    const open = await kinesis.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } }));
    expect(open.Shards?.map((s) => s.ShardId).sort()).toEqual(page.ChildShards!.map((c) => c.ShardId).sort());
    const described = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
    const parent = described.StreamDescription?.Shards?.find((s) => s.ShardId === 'shardId-000000000000');
    expect(parent?.SequenceNumberRange?.EndingSequenceNumber).toBeTruthy();
  });

  /** Reads a shard to its end through GetRecords; returns its records and the last page's ChildShards. */
  async function readToEnd(stream: string, shardId: string) {
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    let page = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    const records = [...(page.Records ?? [])];
    for (let i = 0; page.NextShardIterator && i < 20; i++) {
      page = await kinesis.send(new GetRecordsCommand({ ShardIterator: page.NextShardIterator }));
      records.push(...(page.Records ?? []));
    }
    return { records: records.map(text), next: page.NextShardIterator, childShards: page.ChildShards };
  }

  it('splits with SplitShard and merges with MergeShards: hash keys land on their side, parents are read before children', async () => {
    const name = await createStream(1);
    const key = 1n << 127n;
    const put = (hashKey: bigint, data: string) => ({ PartitionKey: 'p', ExplicitHashKey: hashKey.toString(), Data: Buffer.from(data) });
    await kinesis.send(new PutRecordsCommand({ StreamName: name, Records: [put(key - 1n, 'before-low'), put(key, 'before-high')] }));

    expect(await kinesis.send(new SplitShardCommand({ StreamName: name, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: key.toString() }))).toBeTruthy();
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(summary.StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
    expect(summary.StreamDescriptionSummary?.OpenShardCount).toBe(2);
    const listed = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    expect(listed.Shards?.map((s) => [s.ShardId, s.ParentShardId, s.AdjacentParentShardId, s.HashKeyRange?.StartingHashKey, s.HashKeyRange?.EndingHashKey])).toEqual([
      ['shardId-000000000000', undefined, undefined, '0', MAX.toString()],
      ['shardId-000000000001', 'shardId-000000000000', undefined, '0', (key - 1n).toString()],
      ['shardId-000000000002', 'shardId-000000000000', undefined, key.toString(), MAX.toString()],
    ]);
    expect(listed.Shards?.[0]?.SequenceNumberRange?.EndingSequenceNumber).toBeTruthy();

    const after = await kinesis.send(new PutRecordsCommand({ StreamName: name, Records: [put(0n, 'low-0'), put(key - 1n, 'low-1'), put(key, 'high-0'), put(MAX, 'high-1')] }));
    expect(after.Records?.map((r) => r.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000002']);

    // A reader finishes the parent, which then names both children.
    const parent = await readToEnd(name, 'shardId-000000000000');
    expect(parent.records).toEqual(['before-low', 'before-high']);
    expect(parent.next).toBeUndefined();
    expect(parent.childShards?.map((c) => [c.ShardId, c.ParentShards, c.HashKeyRange?.StartingHashKey])).toEqual([
      ['shardId-000000000001', ['shardId-000000000000'], '0'],
      ['shardId-000000000002', ['shardId-000000000000'], key.toString()],
    ]);
    expect((await readToEnd(name, 'shardId-000000000001')).records).toEqual(['low-0', 'low-1']);

    await kinesis.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' }));
    const open = await kinesis.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } }));
    expect(open.Shards?.map((s) => [s.ShardId, s.ParentShardId, s.AdjacentParentShardId, s.HashKeyRange?.StartingHashKey, s.HashKeyRange?.EndingHashKey])).toEqual([
      ['shardId-000000000003', 'shardId-000000000001', 'shardId-000000000002', '0', MAX.toString()],
    ]);
    const merged = await kinesis.send(new PutRecordsCommand({ StreamName: name, Records: [put(0n, 'm-0'), put(MAX, 'm-1')] }));
    expect(merged.Records?.map((r) => r.ShardId)).toEqual(['shardId-000000000003', 'shardId-000000000003']);
    const high = await readToEnd(name, 'shardId-000000000002');
    expect(high.records).toEqual(['high-0', 'high-1']);
    expect(high.childShards?.map((c) => [c.ShardId, c.ParentShards])).toEqual([['shardId-000000000003', ['shardId-000000000001', 'shardId-000000000002']]]);
    expect((await readToEnd(name, 'shardId-000000000003')).records).toEqual(['m-0', 'm-1']);
  });

  it('refuses SplitShard and MergeShards with the errors AWS gives', async () => {
    const name = await createStream(3);
    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    const [s0, s1, s2] = Shards!;
    const split = (shard: string, key: string) => kinesis.send(new SplitShardCommand({ StreamName: name, ShardToSplit: shard, NewStartingHashKey: key }));
    const merge = (a: string, b: string) => kinesis.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: a, AdjacentShardToMerge: b }));
    await expect(split(s0!.ShardId!, s0!.HashKeyRange!.StartingHashKey!)).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(split(s0!.ShardId!, s1!.HashKeyRange!.StartingHashKey!)).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(split(s0!.ShardId!, '0123')).rejects.toBeInstanceOf(ValidationException);
    await expect(split('shardId-000000000099', '5')).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(kinesis.send(new SplitShardCommand({ StreamName: uniqueName(), ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '5' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(merge(s0!.ShardId!, s2!.ShardId!)).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(merge(s0!.ShardId!, 'shardId-000000000099')).rejects.toBeInstanceOf(ResourceNotFoundException);

    // Short shard ids are accepted, as elsewhere; a shard split once cannot be split or merged again.
    await split('1', (BigInt(s1!.HashKeyRange!.StartingHashKey!) + 1n).toString());
    await expect(split(s1!.ShardId!, (BigInt(s1!.HashKeyRange!.StartingHashKey!) + 2n).toString())).rejects.toBeInstanceOf(ResourceInUseException);
    await expect(merge(s0!.ShardId!, s1!.ShardId!)).rejects.toBeInstanceOf(ResourceInUseException);

    // An on-demand stream's shards are not its owner's to split or merge.
    const { StreamDescription } = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
    await kinesis.send(new UpdateStreamModeCommand({ StreamARN: StreamDescription!.StreamARN, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    await expect(split(s2!.ShardId!, (BigInt(s2!.HashKeyRange!.StartingHashKey!) + 1n).toString())).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(merge('3', '4')).rejects.toBeInstanceOf(InvalidArgumentException);
  });
});

describe('Kinesis edge cases, answered as AWS answers them', () => {
  it('hands out an iterator at an empty shard\'s StartingSequenceNumber (AT and AFTER) that reads the first record put', async () => {
    const name = await createStream(1);
    const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
    const start = Shards![0]!.SequenceNumberRange!.StartingSequenceNumber!;
    const iterators: string[] = [];
    for (const type of ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'] as const) {
      const got = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: type, StartingSequenceNumber: start }),
      );
      iterators.push(got.ShardIterator!);
    }
    // Before any record: an empty page and an iterator to continue with.
    const empty = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterators[0] }));
    expect(empty.Records).toEqual([]);
    await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('first') }));
    for (const iterator of [...iterators, empty.NextShardIterator!]) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
      expect(page.Records?.map(text)).toEqual(['first']);
    }
    // A sequence number the shard has not reached is still refused.
    const later = (BigInt(start) + 5n).toString();
    await expect(
      kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: later })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
  });

  it('accepts short shard ids (shardId-1, 1) wherever a shard id is given', async () => {
    const name = await createStream(3);
    await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('x'), ExplicitHashKey: (2n ** 127n).toString() }));
    for (const id of ['shardId-1', '1', 'shardId-000000000001']) {
      const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }));
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
      expect(page.Records?.map(text)).toEqual(['x']);
    }
    const after = await kinesis.send(new ListShardsCommand({ StreamName: name, ExclusiveStartShardId: '0' }));
    expect(after.Shards?.map((s) => s.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    const filtered = await kinesis.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: 'shardId-1' } }));
    expect(filtered.Shards?.map((s) => s.ShardId)).toEqual(['shardId-000000000002']);
    const described = await kinesis.send(new DescribeStreamCommand({ StreamName: name, ExclusiveStartShardId: '1' }));
    expect(described.StreamDescription?.Shards?.map((s) => s.ShardId)).toEqual(['shardId-000000000002']);
    await expect(
      kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: '7', ShardIteratorType: 'TRIM_HORIZON' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('accepts an iterator pasted with its JSON quotes', async () => {
    const name = await createStream(1);
    await kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('q') }));
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: name, ShardId: '0', ShardIteratorType: 'TRIM_HORIZON' }));
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: `"${ShardIterator}"` }));
    expect(page.Records?.map(text)).toEqual(['q']);
  });

  it('refuses data over 1 MiB with ValidationException, naming the field as AWS does', async () => {
    const name = await createStream(1);
    const over = Buffer.alloc(1024 * 1024 + 1, 7);
    const one = kinesis.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: over }));
    await expect(one).rejects.toBeInstanceOf(ValidationException);
    await expect(one).rejects.toThrow("Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576");
    const batch = kinesis.send(
      new PutRecordsCommand({ StreamName: name, Records: [{ PartitionKey: 'k', Data: Buffer.from('ok') }, { PartitionKey: 'k', Data: over }] }),
    );
    await expect(batch).rejects.toBeInstanceOf(ValidationException);
    await expect(batch).rejects.toThrow("Value at 'records.2.member.data'");
    // Nothing of the refused batch was stored.
    expect(await readAll(name, 'shardId-000000000000')).toEqual([]);
  });

  it('refuses retention below 24 hours with InvalidArgumentException, and below 1 with ValidationException', async () => {
    const name = await createStream(1);
    await kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 48 }));
    const short = kinesis.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 23 }));
    await expect(short).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(short).rejects.toThrow('Minimum allowed retention period is 24 hours');
    await expect(kinesis.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 0 }))).rejects.toBeInstanceOf(
      ValidationException,
    );
    await kinesis.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 24 }));
    expect((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.RetentionPeriodHours).toBe(24);
  });

  it('refuses an AT_TIMESTAMP iterator for a time in the future with InvalidArgumentException', async () => {
    const name = await createStream(1);
    const future = kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() + 3_600_000) }),
    );
    await expect(future).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(future).rejects.toThrow('is in the future');
    const past = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() - 1000) }),
    );
    expect(past.ShardIterator).toBeTruthy();
  });
});

describe('Kinesis partial failures', () => {
  it('reports per-record failures of PutRecords with ErrorCode and FailedRecordCount', async () => {
    // A log that refuses every second record, as a busy shard would.
    await using flaky = await startTestServer({
      wrapLog: (log) => ({
        ...log,
        createStream: log.createStream.bind(log),
        append: async (stream, records) => {
          const results = await log.append(stream, records.filter((_, i) => i % 2 === 0));
          let next = 0;
          return records.map((_, i) =>
            i % 2 === 0
              ? results[next++]!
              : { ok: false as const, errorCode: 'ProvisionedThroughputExceededException' as const, errorMessage: 'Rate exceeded for shard' },
          );
        },
      }),
    });
    const client = flaky.kinesis();
    await client.send(new CreateStreamCommand({ StreamName: 'flaky', ShardCount: 1 }));
    const put = await client.send(
      new PutRecordsCommand({ StreamName: 'flaky', Records: Array.from({ length: 4 }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(String(i)) })) }),
    );
    expect(put.FailedRecordCount).toBe(2);
    expect(put.Records?.[0]?.SequenceNumber).toBeTruthy();
    expect(put.Records?.[1]).toMatchObject({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' });
    expect(put.Records?.[1]?.SequenceNumber).toBeUndefined();
    expect(put.Records?.[2]?.ShardId).toBe('shardId-000000000000');
  });
});

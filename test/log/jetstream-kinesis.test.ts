/**
 * The Kinesis API through the AWS SDK on two gateways (two nodes) over one JetStream log on a 3-server
 * cluster: records put through one node are read, by every iterator type, through the other, and a reshard
 * on one is seen with its lineage on the other. The gateways share their iterator secret, as a cluster's
 * nodes must for an iterator from one to work on another.
 */
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  UpdateShardCountCommand,
  SplitShardCommand,
  MergeShardsCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSequenceNumbers, openJetStreamLog } from '../../src/log/index.ts';
import { startNatsCluster } from '../../bin/nats-cluster.ts';
import type { NatsCluster } from '../../bin/nats-cluster.ts';
import { startTestServer, uniqueName } from '../support/test-server.ts';
import type { TestServer } from '../support/test-server.ts';

let cluster: NatsCluster;
let nodes: TestServer[];
let a: KinesisClient;
let b: KinesisClient;

beforeAll(async () => {
  cluster = await startNatsCluster();
  const iteratorSecret = crypto.randomBytes(32);
  const prefix = `k${process.pid}`;
  nodes = [];
  for (const servers of [cluster.urls, [...cluster.urls].reverse()]) {
    nodes.push(await startTestServer({ iteratorSecret, openLog: () => openJetStreamLog({ servers, prefix, replicas: 3, requestTimeoutMs: 20_000 }) }));
  }
  a = nodes[0]!.kinesis();
  b = nodes[1]!.kinesis();
});
afterAll(async () => {
  for (const n of nodes ?? []) await n.close();
  await cluster?.close();
});

async function iterate(client: KinesisClient, stream: string, shardId: string, start: Omit<ConstructorParameters<typeof GetShardIteratorCommand>[0], 'StreamName' | 'ShardId'>): Promise<_Record[]> {
  const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ...start }));
  const out: _Record[] = [];
  let iterator = ShardIterator;
  for (let i = 0; iterator && i < 50; i++) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 40 }));
    out.push(...(page.Records ?? []));
    if ((page.Records ?? []).length === 0) break;
    iterator = page.NextShardIterator;
  }
  return out;
}

const text = (r: _Record) => Buffer.from(r.Data!).toString();

describe('Kinesis API on the JetStream log, two nodes', () => {
  it('reads through one node, with every iterator type, what was put through the other', async () => {
    const stream = uniqueName();
    await a.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
    const entries = Array.from({ length: 120 }, (_, i) => ({ PartitionKey: `plate-${i % 17}`, Data: Buffer.from(`r${i}`) }));
    const put = await a.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
    expect(put.FailedRecordCount).toBe(0);
    const { Shards } = await b.send(new ListShardsCommand({ StreamName: stream }));
    expect(Shards).toHaveLength(2);
    let total = 0;
    for (const shard of Shards!) {
      const mine = put.Records!.map((r, i) => ({ ...r, text: `r${i}` })).filter((r) => r.ShardId === shard.ShardId);
      const all = await iterate(b, stream, shard.ShardId!, { ShardIteratorType: 'TRIM_HORIZON' });
      expect(all.map(text)).toEqual(mine.map((r) => r.text));
      expect(all.map((r) => r.SequenceNumber)).toEqual(mine.map((r) => r.SequenceNumber));
      for (let i = 1; i < all.length; i++) expect(compareSequenceNumbers(all[i - 1]!.SequenceNumber!, all[i]!.SequenceNumber!)).toBe(-1);
      const k = Math.floor(mine.length / 2);
      const at = await iterate(b, stream, shard.ShardId!, { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: mine[k]!.SequenceNumber });
      expect(at.map(text)).toEqual(mine.slice(k).map((r) => r.text));
      const after = await iterate(b, stream, shard.ShardId!, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: mine[k]!.SequenceNumber });
      expect(after.map(text)).toEqual(mine.slice(k + 1).map((r) => r.text));
      const byTime = await iterate(b, stream, shard.ShardId!, { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(all[0]!.ApproximateArrivalTimestamp!.getTime()) });
      expect(byTime.map(text)).toEqual(mine.map((r) => r.text));
      total += all.length;
    }
    expect(total).toBe(120);

    // LATEST on node b, then a put on node a: the iterator picks it up.
    const { ShardIterator } = await b.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: Shards![0]!.ShardId, ShardIteratorType: 'LATEST' }));
    const empty = await b.send(new GetRecordsCommand({ ShardIterator }));
    expect(empty.Records).toEqual([]);
    const key = Array.from({ length: 100 }, (_, i) => `late-${i}`).find((k) => {
      const h = BigInt(`0x${crypto.createHash('md5').update(k).digest('hex')}`);
      return h <= BigInt(Shards![0]!.HashKeyRange!.EndingHashKey!);
    })!;
    await a.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: key, Data: Buffer.from('late') }] }));
    const late = await b.send(new GetRecordsCommand({ ShardIterator: empty.NextShardIterator }));
    expect(late.Records!.map(text)).toEqual(['late']);
  });

  it('shows a reshard made through one node, with its lineage, on the other', async () => {
    const stream = uniqueName();
    await a.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await a.send(new PutRecordsCommand({ StreamName: stream, Records: Array.from({ length: 10 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`before${i}`) })) }));
    await a.send(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: 2, ScalingType: 'UNIFORM_SCALING' }));
    const put = await b.send(new PutRecordsCommand({ StreamName: stream, Records: Array.from({ length: 10 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`after${i}`) })) }));
    expect(put.FailedRecordCount).toBe(0);
    const { Shards } = await b.send(new ListShardsCommand({ StreamName: stream }));
    expect(Shards!.map((s) => [s.ShardId, s.ParentShardId ?? null, Boolean(s.SequenceNumberRange?.EndingSequenceNumber)])).toEqual([
      ['shardId-000000000000', null, true],
      ['shardId-000000000001', 'shardId-000000000000', false],
      ['shardId-000000000002', 'shardId-000000000000', false],
    ]);
    expect((await iterate(b, stream, 'shardId-000000000000', { ShardIteratorType: 'TRIM_HORIZON' })).map(text)).toEqual(Array.from({ length: 10 }, (_, i) => `before${i}`));
    const children = [...(await iterate(b, stream, 'shardId-000000000001', { ShardIteratorType: 'TRIM_HORIZON' })), ...(await iterate(b, stream, 'shardId-000000000002', { ShardIteratorType: 'TRIM_HORIZON' }))];
    expect(children.map(text).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `after${i}`).sort());
  });

  it('splits a shard through one node and merges the children through the other; each sees the lineage', async () => {
    const stream = uniqueName();
    const max = (1n << 128n) - 1n;
    const key = 1n << 126n;
    const at = (hashKey: bigint, data: string) => ({ PartitionKey: 'p', ExplicitHashKey: hashKey.toString(), Data: Buffer.from(data) });
    await a.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await a.send(new PutRecordsCommand({ StreamName: stream, Records: [at(0n, 'before')] }));
    await a.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: key.toString() }));
    const split = await b.send(new PutRecordsCommand({ StreamName: stream, Records: [at(key - 1n, 'low'), at(key, 'high')] }));
    expect(split.Records!.map((r) => r.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    await b.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: 'shardId-000000000002', AdjacentShardToMerge: 'shardId-000000000001' }));
    const merged = await a.send(new PutRecordsCommand({ StreamName: stream, Records: [at(0n, 'm0'), at(max, 'm1')] }));
    expect(merged.Records!.map((r) => r.ShardId)).toEqual(['shardId-000000000003', 'shardId-000000000003']);
    const { Shards } = await a.send(new ListShardsCommand({ StreamName: stream }));
    expect(Shards!.map((s) => [s.ShardId, s.ParentShardId ?? null, s.AdjacentParentShardId ?? null, s.HashKeyRange!.StartingHashKey, Boolean(s.SequenceNumberRange?.EndingSequenceNumber)])).toEqual([
      ['shardId-000000000000', null, null, '0', true],
      ['shardId-000000000001', 'shardId-000000000000', null, '0', true],
      ['shardId-000000000002', 'shardId-000000000000', null, key.toString(), true],
      ['shardId-000000000003', 'shardId-000000000002', 'shardId-000000000001', '0', false],
    ]);
    const read = async (shardId: string) => (await iterate(b, stream, shardId, { ShardIteratorType: 'TRIM_HORIZON' })).map(text);
    expect([await read('shardId-000000000000'), await read('shardId-000000000001'), await read('shardId-000000000002'), await read('shardId-000000000003')]).toEqual([
      ['before'],
      ['low'],
      ['high'],
      ['m0', 'm1'],
    ]);
  });
});

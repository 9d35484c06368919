/**
 * The Firehose control plane through @aws-sdk/client-firehose: delivery streams are Tollstream's log streams,
 * their destinations the deliveries the server runs from them.
 */
import {
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  InvalidArgumentException,
  ListDeliveryStreamsCommand,
  PutRecordBatchCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type FirehoseClient,
} from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

const DELIVERED = uniqueName('tolls');
let server: TestServer;
let firehose: FirehoseClient;

beforeAll(async () => {
  // As the server wires it: one delivery reads DELIVERED into the warehouse.
  server = await startTestServer({ deliveries: () => [{ name: 'warehouse', stream: DELIVERED, destination: 'warehouse:toll_transactions' }] });
  firehose = server.firehose();
});
afterAll(() => server.close());

async function records(stream: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of (await server.log.describeStream(stream)).shards) {
    out.push(...(await server.log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' })).records.map((r) => Buffer.from(r.data).toString()));
  }
  return out.sort();
}

describe('Firehose control plane', () => {
  it('creates a DirectPut delivery stream that PutRecordBatch feeds, describes, lists and deletes it', async () => {
    const name = uniqueName('fh');
    const created = await firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name, Tags: [{ Key: 'team', Value: 'tolls' }] }));
    expect(created.DeliveryStreamARN).toBe(`arn:aws:firehose:us-east-1:000000000000:deliverystream/${name}`);
    expect((await server.log.describeStream(name)).tags).toEqual({ team: 'tolls' });

    const described = (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).DeliveryStreamDescription!;
    expect(described).toMatchObject({
      DeliveryStreamName: name,
      DeliveryStreamARN: created.DeliveryStreamARN,
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: 'DirectPut',
      Destinations: [],
      HasMoreDestinations: false,
    });
    expect(described.CreateTimestamp).toBeInstanceOf(Date);

    const batch = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: ['a', 'b', 'c'].map((s) => ({ Data: Buffer.from(s) })) }));
    expect(batch.FailedPutCount).toBe(0);
    expect(await records(name)).toEqual(['a', 'b', 'c']);

    // Paged one name at a time, the new stream is listed exactly once.
    const seen: string[] = [];
    let start: string | undefined;
    for (;;) {
      const page = await firehose.send(new ListDeliveryStreamsCommand({ Limit: 1, ...(start ? { ExclusiveStartDeliveryStreamName: start } : {}) }));
      seen.push(...page.DeliveryStreamNames!);
      if (!page.HasMoreDeliveryStreams) break;
      start = page.DeliveryStreamNames!.at(-1);
    }
    expect(seen.filter((n) => n === name)).toHaveLength(1);
    expect(seen).toEqual([...seen].sort());
    expect((await firehose.send(new ListDeliveryStreamsCommand({ DeliveryStreamType: 'KinesisStreamAsSource' }))).DeliveryStreamNames).toEqual([]);

    await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: name }));
    await expect(firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: [{ Data: Buffer.from('x') }] }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: name }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses what it cannot serve, and creates nothing then', async () => {
    const name = uniqueName('fh');
    const s3 = {
      RoleARN: 'arn:aws:iam::000000000000:role/firehose',
      BucketARN: 'arn:aws:s3:::tolls',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 },
    };
    await expect(firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name, ExtendedS3DestinationConfiguration: s3 }))).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name, S3DestinationConfiguration: s3 }))).rejects.toThrow(/delivery\.\*/);
    await expect(
      firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: name,
          DeliveryStreamType: 'KinesisStreamAsSource',
          KinesisStreamSourceConfiguration: { KinesisStreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`, RoleARN: s3.RoleARN },
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name, DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' } }))).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
    await expect(firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).rejects.toBeInstanceOf(ResourceNotFoundException);

    await firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name }));
    await expect(firehose.send(new CreateDeliveryStreamCommand({ DeliveryStreamName: name }))).rejects.toBeInstanceOf(ResourceInUseException);
  });

  it('shows the configured delivery of a stream as its destination, and will not delete what it feeds', async () => {
    await server.log.createStream(DELIVERED);
    const described = (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: DELIVERED }))).DeliveryStreamDescription!;
    expect(described.Destinations).toEqual([{ DestinationId: 'warehouse' }]);
    await expect(firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: DELIVERED }))).rejects.toBeInstanceOf(ResourceInUseException);
    expect((await server.log.describeStream(DELIVERED)).name).toBe(DELIVERED);
  });
});

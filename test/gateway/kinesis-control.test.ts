/**
 * The Kinesis control-plane operations infrastructure tools call (Terraform, CloudFormation, the console
 * scripts): tagging, limits, enhanced monitoring and encryption, through the AWS SDK.
 */
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DescribeLimitsCommand,
  DescribeStreamCommand,
  DescribeStreamSummaryCommand,
  LimitExceededException,
  ListStreamsCommand,
  DisableEnhancedMonitoringCommand,
  EnableEnhancedMonitoringCommand,
  InvalidArgumentException,
  ListTagsForResourceCommand,
  ListTagsForStreamCommand,
  RemoveTagsFromStreamCommand,
  ResourceNotFoundException,
  StartStreamEncryptionCommand,
  StopStreamEncryptionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateShardCountCommand,
  UpdateStreamModeCommand,
  ValidationException,
  type KinesisClient,
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

const arnOf = (name: string) => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;

describe('Kinesis tagging', () => {
  it('keeps tags given at CreateStream and changes them with Add/RemoveTagsToStream', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1, Tags: { owner: 'ops', env: 'test' } }));
    let listed = await kinesis.send(new ListTagsForStreamCommand({ StreamName: name }));
    expect(listed.Tags).toEqual([
      { Key: 'env', Value: 'test' },
      { Key: 'owner', Value: 'ops' },
    ]);
    expect(listed.HasMoreTags).toBe(false);

    await kinesis.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { owner: 'tolls', cost: '' } }));
    await kinesis.send(new RemoveTagsFromStreamCommand({ StreamARN: arnOf(name), TagKeys: ['env', 'never-set'] }));
    listed = await kinesis.send(new ListTagsForStreamCommand({ StreamName: name }));
    expect(listed.Tags).toEqual([
      { Key: 'cost', Value: '' },
      { Key: 'owner', Value: 'tolls' },
    ]);
    // The log holds them with the stream.
    expect((await server.log.describeStream(name)).tags).toEqual({ cost: '', owner: 'tolls' });
  });

  it('pages ListTagsForStream with Limit and ExclusiveStartTagKey', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1, Tags: { a: '1', b: '2', c: '3' } }));
    const first = await kinesis.send(new ListTagsForStreamCommand({ StreamName: name, Limit: 2 }));
    expect(first.Tags?.map((t) => t.Key)).toEqual(['a', 'b']);
    expect(first.HasMoreTags).toBe(true);
    const rest = await kinesis.send(new ListTagsForStreamCommand({ StreamName: name, Limit: 2, ExclusiveStartTagKey: 'b' }));
    expect(rest.Tags?.map((t) => t.Key)).toEqual(['c']);
    expect(rest.HasMoreTags).toBe(false);
  });

  it('tags by ARN with TagResource, UntagResource and ListTagsForResource', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    expect((await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: arnOf(name) }))).Tags).toEqual([]);
    await kinesis.send(new TagResourceCommand({ ResourceARN: arnOf(name), Tags: { team: 'tolls', tier: 'gold' } }));
    await kinesis.send(new UntagResourceCommand({ ResourceARN: arnOf(name), TagKeys: ['tier'] }));
    expect((await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: arnOf(name) }))).Tags).toEqual([{ Key: 'team', Value: 'tolls' }]);
    // The stream-named listing sees the same tags.
    expect((await kinesis.send(new ListTagsForStreamCommand({ StreamName: name }))).Tags).toEqual([{ Key: 'team', Value: 'tolls' }]);

    await expect(kinesis.send(new TagResourceCommand({ ResourceARN: arnOf('no-such-stream'), Tags: { a: 'b' } }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(kinesis.send(new TagResourceCommand({ ResourceARN: 'arn:aws:s3:::bucket', Tags: { a: 'b' } }))).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
  });

  it('refuses more than 10 tags per call, more than 50 per stream, and over-long keys or values', async () => {
    const name = uniqueName();
    const tags = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, 'v']));
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1, Tags: tags(0, 45) }));
    await expect(kinesis.send(new AddTagsToStreamCommand({ StreamName: name, Tags: tags(100, 11) }))).rejects.toBeInstanceOf(ValidationException);
    await kinesis.send(new AddTagsToStreamCommand({ StreamName: name, Tags: tags(100, 5) }));
    await expect(kinesis.send(new AddTagsToStreamCommand({ StreamName: name, Tags: tags(200, 1) }))).rejects.toBeInstanceOf(InvalidArgumentException);
    expect((await kinesis.send(new ListTagsForStreamCommand({ StreamName: name }))).Tags).toHaveLength(50);
    await expect(kinesis.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { ['k'.repeat(129)]: 'v' } }))).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(kinesis.send(new AddTagsToStreamCommand({ StreamName: name, Tags: { k0: 'v'.repeat(257) } }))).rejects.toBeInstanceOf(ValidationException);
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: uniqueName(), ShardCount: 1, Tags: tags(0, 51) }))).rejects.toBeInstanceOf(
      ValidationException,
    );
  });
});

describe('Kinesis limits, monitoring and encryption', () => {
  it('describes limits: the open shards across streams, the per-stream shard limit, the on-demand streams', async () => {
    await using own = await startTestServer();
    const client = own.kinesis();
    await client.send(new CreateStreamCommand({ StreamName: 'a', ShardCount: 2 }));
    await client.send(new CreateStreamCommand({ StreamName: 'b', ShardCount: 3 }));
    expect(await client.send(new DescribeLimitsCommand({}))).toMatchObject({ ShardLimit: 1024, OpenShardCount: 5, OnDemandStreamCount: 0, OnDemandStreamCountLimit: 50 });
    await client.send(new CreateStreamCommand({ StreamName: 'c' }));
    expect(await client.send(new DescribeLimitsCommand({}))).toMatchObject({ OpenShardCount: 9, OnDemandStreamCount: 1, OnDemandStreamCountLimit: 50 });
  });

  it('refuses EnableEnhancedMonitoring with the reason and accepts DisableEnhancedMonitoring, leaving none enabled', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const refused = kinesis.send(new EnableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ['IncomingBytes'] }));
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(refused).rejects.toThrow(/tollstream_records_in_total/);
    const disabled = await kinesis.send(new DisableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ['ALL'] }));
    expect(disabled).toMatchObject({ StreamName: name, CurrentShardLevelMetrics: [], DesiredShardLevelMetrics: [] });
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(summary.StreamDescriptionSummary?.EnhancedMonitoring).toEqual([{ ShardLevelMetrics: [] }]);
    await expect(
      kinesis.send(new EnableEnhancedMonitoringCommand({ StreamName: 'no-such-stream', ShardLevelMetrics: ['ALL'] })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      kinesis.send(new DisableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ['Bogus' as 'ALL'] })),
    ).rejects.toBeInstanceOf(ValidationException);
  });

  it('refuses StartStreamEncryption (no KMS here) and accepts StopStreamEncryption; the stream stays unencrypted', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
    const start = kinesis.send(new StartStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    await expect(start).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(start).rejects.toThrow(/no AWS KMS/);
    await kinesis.send(new StopStreamEncryptionCommand({ StreamName: name, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    expect(summary.StreamDescriptionSummary?.EncryptionType).toBe('NONE');
    await expect(
      kinesis.send(new StopStreamEncryptionCommand({ StreamName: 'no-such-stream', EncryptionType: 'KMS', KeyId: 'k' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('Kinesis stream modes', () => {
  const modeOf = async (name: string) => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamModeDetails?.StreamMode;

  it('CreateStream without ShardCount makes an on-demand stream of 4 shards, shown as such everywhere', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name }));
    const summary = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!;
    expect(summary.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    expect(summary.OpenShardCount).toBe(4);
    expect((await kinesis.send(new DescribeStreamCommand({ StreamName: name }))).StreamDescription?.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    const listed = (await kinesis.send(new ListStreamsCommand({}))).StreamSummaries?.find((s) => s.StreamName === name);
    expect(listed?.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
    // The same with the mode spelled out; a provisioned stream needs its count, an on-demand one refuses it.
    const explicit = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: explicit, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    expect(await modeOf(explicit)).toBe('ON_DEMAND');
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: uniqueName(), ShardCount: 2, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }))).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(kinesis.send(new CreateStreamCommand({ StreamName: uniqueName(), StreamModeDetails: { StreamMode: 'PROVISIONED' } }))).rejects.toBeInstanceOf(InvalidArgumentException);
    const provisioned = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: provisioned, ShardCount: 2 }));
    expect(await modeOf(provisioned)).toBe('PROVISIONED');
  });

  it('UpdateStreamMode switches a stream both ways and keeps its shards; on-demand streams refuse UpdateShardCount', async () => {
    const name = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    await kinesis.send(new UpdateStreamModeCommand({ StreamARN: arnOf(name), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    expect(await modeOf(name)).toBe('ON_DEMAND');
    expect((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.OpenShardCount).toBe(2);
    await expect(kinesis.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }))).rejects.toBeInstanceOf(InvalidArgumentException);
    await kinesis.send(new UpdateStreamModeCommand({ StreamARN: arnOf(name), StreamModeDetails: { StreamMode: 'PROVISIONED' } }));
    expect(await modeOf(name)).toBe('PROVISIONED');
    await kinesis.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }));
    await expect(kinesis.send(new UpdateStreamModeCommand({ StreamARN: arnOf(uniqueName('absent')), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(kinesis.send(new UpdateStreamModeCommand({ StreamARN: arnOf(name), StreamModeDetails: { StreamMode: 'ELASTIC' as never } }))).rejects.toBeInstanceOf(ValidationException);
  });

  it('allows at most 50 on-demand streams', async () => {
    await using own = await startTestServer();
    const client = own.kinesis();
    for (let i = 0; i < 50; i++) await client.send(new CreateStreamCommand({ StreamName: `od-${i}` }));
    await expect(client.send(new CreateStreamCommand({ StreamName: 'od-50' }))).rejects.toBeInstanceOf(LimitExceededException);
    await client.send(new CreateStreamCommand({ StreamName: 'p', ShardCount: 1 }));
    await expect(client.send(new UpdateStreamModeCommand({ StreamARN: arnOf('p'), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }))).rejects.toBeInstanceOf(LimitExceededException);
    // Switching one that already is on-demand is no new one.
    await client.send(new UpdateStreamModeCommand({ StreamARN: arnOf('od-0'), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
  });
});

import { InvalidArgumentException, PutRecordBatchCommand, PutRecordCommand, ResourceNotFoundException } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../src/log/index.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function storedRecords(stream: string): Promise<StoredRecord[]> {
  const d = await server.log.describeStream(stream);
  const out: StoredRecord[] = [];
  for (const shard of d.shards) out.push(...(await server.log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' })).records);
  return out;
}

describe('Firehose API (HTTP/1.1 via the AWS SDK)', () => {
  it('delivers PutRecordBatch into the log stream of the same name', async () => {
    const name = uniqueName('delivery');
    await server.log.createStream(name, { shardCount: 2 });
    const firehose = server.firehose();
    const batch = await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: name,
        Records: Array.from({ length: 50 }, (_, i) => ({ Data: Buffer.from(JSON.stringify({ plate: `P${i}` })) })),
      }),
    );
    expect(batch.FailedPutCount).toBe(0);
    expect(batch.Encrypted).toBe(false);
    expect(batch.RequestResponses).toHaveLength(50);
    expect(new Set(batch.RequestResponses!.map((r) => r.RecordId)).size).toBe(50);

    const single = await firehose.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: Buffer.from('{"plate":"last"}') } }));
    expect(single.RecordId).toBeTruthy();
    expect(single.Encrypted).toBe(false);

    const stored = await storedRecords(name);
    expect(stored).toHaveLength(51);
    const plates = stored.map((r) => (JSON.parse(Buffer.from(r.data).toString()) as { plate: string }).plate);
    expect(plates).toContain('P0');
    expect(plates).toContain('last');
    // Random partition keys spread the records over both shards.
    const shards = new Set(batch.RequestResponses!.map((r) => r.RecordId!.split(':')[0]));
    expect(shards.size).toBe(2);
  });

  it('raises ResourceNotFoundException for a delivery stream without a log stream', async () => {
    const firehose = server.firehose();
    await expect(
      firehose.send(new PutRecordCommand({ DeliveryStreamName: 'no-such-delivery', Record: { Data: Buffer.from('x') } })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('enforces Firehose limits with InvalidArgumentException', async () => {
    const name = uniqueName('delivery');
    await server.log.createStream(name);
    const firehose = server.firehose();
    await expect(
      firehose.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: Buffer.alloc(1000 * 1024 + 1) } })),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    const heavy = Array.from({ length: 5 }, () => ({ Data: Buffer.alloc(1000 * 1024) }));
    await expect(firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: heavy }))).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
    expect(await storedRecords(name)).toHaveLength(0);
  });
});

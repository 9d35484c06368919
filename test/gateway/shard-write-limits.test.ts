/**
 * `kinesis.shardWriteLimits`: each shard takes 1,000 records and 1 MiB per second through the Kinesis API, as in
 * AWS; records beyond fail alone with ProvisionedThroughputExceededException. The gateway's clock is a variable
 * here, so a burst is a burst however slow the machine, and a producer's backoff is the clock moving on.
 */
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand, PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { startTestServer, uniqueName } from '../support/test-server.ts';

function clock() {
  let t = Date.UTC(2026, 11, 6, 12, 0, 0);
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const entries = (from: number, count: number, partitionKey = 'plate-1'): PutRecordsRequestEntry[] =>
  Array.from({ length: count }, (_, i) => ({ PartitionKey: partitionKey, Data: Buffer.from(`{"transaction_id":${from + i}}`) }));

/** Sends the records in PutRecords of 500; returns the failed ones and every response's FailedRecordCount. */
async function putAll(kinesis: KinesisClient, stream: string, records: readonly PutRecordsRequestEntry[]): Promise<{ failed: PutRecordsRequestEntry[]; failedCounts: number[]; errorCodes: Set<string> }> {
  const failed: PutRecordsRequestEntry[] = [];
  const failedCounts: number[] = [];
  const errorCodes = new Set<string>();
  for (let i = 0; i < records.length; i += 500) {
    const batch = records.slice(i, i + 500);
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: batch }));
    failedCounts.push(out.FailedRecordCount ?? 0);
    out.Records!.forEach((r, j) => {
      if (r.ErrorCode) {
        failed.push(batch[j]!);
        errorCodes.add(r.ErrorCode);
      }
    });
  }
  return { failed, failedCounts, errorCodes };
}

async function readShard(kinesis: KinesisClient, stream: string, shardId = 'shardId-000000000000'): Promise<string[]> {
  let { ShardIterator: iterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  const data: string[] = [];
  for (;;) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    for (const r of out.Records ?? []) data.push(Buffer.from(r.Data!).toString('utf8'));
    if ((out.Records ?? []).length === 0) return data;
    iterator = out.NextShardIterator;
  }
}

describe('per-shard write limits', () => {
  it('throttle a burst over 1,000 records to one shard; retrying the failed records stores each exactly once', async () => {
    const time = clock();
    await using server = await startTestServer({ shardWriteLimits: true, now: time.now });
    const kinesis = server.kinesis();
    const stream = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));

    const burst = await putAll(kinesis, stream, entries(0, 2500));
    expect(burst.failedCounts).toEqual([0, 0, 500, 500, 500]);
    expect([...burst.errorCodes]).toEqual(['ProvisionedThroughputExceededException']);

    // Half a second of backoff buys half a second of capacity.
    time.advance(500);
    let pending = burst.failed;
    const halfSecond = await putAll(kinesis, stream, pending);
    expect(pending.length - halfSecond.failed.length).toBe(500);
    pending = halfSecond.failed;
    let rounds = 0;
    while (pending.length > 0 && rounds++ < 10) {
      time.advance(1000);
      pending = (await putAll(kinesis, stream, pending)).failed;
    }
    expect(pending).toEqual([]);

    const stored = await readShard(kinesis, stream);
    expect(stored).toHaveLength(2500);
    expect(new Set(stored).size).toBe(2500);
    expect(new Set(stored)).toEqual(new Set(entries(0, 2500).map((e) => Buffer.from(e.Data!).toString('utf8'))));
  });

  it('apply per shard: two shards take 1,000 records each in the same second', async () => {
    const time = clock();
    await using server = await startTestServer({ shardWriteLimits: true, now: time.now });
    const kinesis = server.kinesis();
    const stream = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
    const toShard = (hashKey: string) => entries(0, 1000).map((e) => ({ ...e, ExplicitHashKey: hashKey }));
    const first = await putAll(kinesis, stream, toShard('0'));
    const second = await putAll(kinesis, stream, toShard('340282366920938463463374607431768211455'));
    expect([...first.failedCounts, ...second.failedCounts]).toEqual([0, 0, 0, 0]);
    const more = await putAll(kinesis, stream, toShard('0').slice(0, 1));
    expect(more.failedCounts).toEqual([1]);
  });

  it('refuse a PutRecord beyond 1 MiB in a second with ProvisionedThroughputExceededException', async () => {
    const time = clock();
    await using server = await startTestServer({ shardWriteLimits: true, now: time.now });
    const kinesis = server.kinesis();
    const stream = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    const data = Buffer.alloc(100 * 1024, 7);
    // Ten records of 100 KiB (and a 1-byte key) fit in 1 MiB; the eleventh does not.
    for (let i = 0; i < 10; i++) await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: data }));
    await expect(kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: data }))).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
    time.advance(100);
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: data }));
    expect(await readShard(kinesis, stream)).toHaveLength(11);
  });

  it('are off by default: the same burst is stored whole', async () => {
    const time = clock();
    await using server = await startTestServer({ now: time.now });
    const kinesis = server.kinesis();
    const stream = uniqueName();
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    const burst = await putAll(kinesis, stream, entries(0, 2500));
    expect(burst.failedCounts).toEqual([0, 0, 0, 0, 0]);
    expect(await readShard(kinesis, stream)).toHaveLength(2500);
  });
});

/**
 * APPROXIMATE_ARRIVAL_TIME in a live query is the time the log stored the record: the ApproximateArrivalTimestamp
 * a Kinesis consumer gets for it from GetRecords, record by record, over two shards read together (where ROWTIME,
 * raised to the latest arrival read so far, may be later than it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { QueryManager } from '../../src/queries/index.ts';
import { startTestServer, uniqueName } from '../support/test-server.ts';
import { waitFor } from '../support/wait.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const SQL = `
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" ("id" VARCHAR(8), "tag" VARCHAR(64));
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" VARCHAR(8), "arrived" TIMESTAMP, "read_at" TIMESTAMP);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "id", "SOURCE_SQL_STREAM_001".APPROXIMATE_ARRIVAL_TIME, ROWTIME
  FROM "SOURCE_SQL_STREAM_001"
  WHERE APPROXIMATE_ARRIVAL_TIME IS NOT NULL;`;

async function readStream(kinesis: KinesisClient, stream: string): Promise<_Record[]> {
  const out: _Record[] = [];
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of Shards ?? []) {
    let { ShardIterator: iterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
      out.push(...(page.Records ?? []));
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

const json = (r: _Record) => JSON.parse(Buffer.from(r.Data!).toString('utf8')) as Record<string, unknown>;

describe('APPROXIMATE_ARRIVAL_TIME in a live query', () => {
  it("equals each record's ApproximateArrivalTimestamp from GetRecords", async () => {
    const server = await startTestServer();
    cleanups.push(() => server.close());
    const kinesis = server.kinesis();
    const input = uniqueName('arrivals');
    await kinesis.send(new CreateStreamCommand({ StreamName: input, ShardCount: 2 }));
    const dir = await mkdtemp(path.join(tmpdir(), 'tollstream-arrival-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const manager = new QueryManager({ log: server.log, dir, checkpointIntervalMs: 200 });
    cleanups.push(() => manager.close());
    await manager.start();

    // Batches put apart in time, over both shards; a `tag` that is an object makes the source parse that
    // record whole instead of reading its fields from the bytes, so both ways of decoding are covered.
    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const entries = Array.from({ length: 5 }, (_, i) => {
        const id = `r${batch}-${i}`;
        ids.push(id);
        const tag = i === 2 ? { nested: batch } : `t${i}`;
        return { Data: Buffer.from(JSON.stringify({ id, tag })), PartitionKey: `k${batch * 5 + i}` };
      });
      const put = await kinesis.send(new PutRecordsCommand({ StreamName: input, Records: entries }));
      expect(put.FailedRecordCount).toBe(0);
      if (batch === 1) {
        await manager.createQuery({ name: 'arrivals', sql: SQL, input, outputs: { DESTINATION_SQL_STREAM: `${input}-out` } });
      }
      await new Promise((r) => setTimeout(r, 20));
    }

    const stored = await readStream(kinesis, input);
    expect(stored.map((r) => json(r).id).sort()).toEqual([...ids].sort());
    const arrival = new Map(stored.map((r) => [json(r).id as string, r.ApproximateArrivalTimestamp!.getTime()]));
    expect(new Set(arrival.values()).size).toBeGreaterThan(1);

    const out = await waitFor('every record in the output stream', async () => {
      const rows = (await readStream(kinesis, `${input}-out`).catch(() => [])).map(json);
      return rows.length >= ids.length && rows;
    });
    expect(out.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const row of out) {
      expect({ id: row.id, arrived: Date.parse(row.arrived as string) }).toEqual({ id: row.id, arrived: arrival.get(row.id as string) });
      expect(Date.parse(row.read_at as string)).toBeGreaterThanOrEqual(Date.parse(row.arrived as string));
    }
  });
});

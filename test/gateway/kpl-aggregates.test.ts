/**
 * KPL aggregated records end to end, through a running server: put with the AWS SDK's PutRecords, returned
 * unchanged by GetRecords (the KCL de-aggregates itself), and seen as user records, each once, by a continuous
 * query, the shipped validation function, the warehouse delivery and the tail, across a restart. A malformed
 * aggregate ends in the query's error stream and the warehouse's delivery errors, named as such.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { serverSentEvents } from '../../src/cli/commands/tail.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { StreamLog } from '../../src/log/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import type { TollTransaction } from '../../src/simulator/index.ts';
import { transactions } from '../delivery/helpers.ts';
import { aggregateWithBadDigest, encodeAggregate } from '../support/kpl-aggregate.ts';
import { waitUntil } from '../support/wait.ts';

const SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(64), customer_id VARCHAR(32), amount_cents BIGINT) WITH ('stream' = 'toll_transactions');
CREATE TABLE kpl_copy (transaction_id VARCHAR(64), customer_id VARCHAR(32), amount_cents BIGINT) WITH ('stream' = 'kpl_copy');
INSERT INTO kpl_copy SELECT transaction_id, customer_id, amount_cents FROM tolls;
`;

/** Kinesis Data Analytics style: the input's columns are inferred from the stream's first records. */
const KDA_SQL = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("transaction_id" VARCHAR(64));
CREATE OR REPLACE PUMP "COPY_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "transaction_id" FROM "SOURCE_SQL_STREAM_001";
`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(dataDir: string): Promise<RunningServer> {
  const config: TollstreamConfig = { ...DEFAULT_CONFIG, dataDir, host: '127.0.0.1', port: 0, logging: { level: 'silent', format: 'json' } };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

function kinesis(url: string): KinesisClient {
  const client = new KinesisClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  cleanups.push(() => client.destroy());
  return client;
}

/** Aggregates of 10 tolls each, every user record keyed by its customer, the way a KPL producer would send them. */
function aggregatesOf(txs: readonly TollTransaction[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < txs.length; i += 10) out.push(encodeAggregate(txs.slice(i, i + 10).map((t) => ({ partitionKey: t.customer_id, data: JSON.stringify(t) }))));
  return out;
}

async function put(client: KinesisClient, records: { key: string; data: Uint8Array }[]): Promise<void> {
  const out = await client.send(new PutRecordsCommand({ StreamName: 'toll_transactions', Records: records.map((r) => ({ PartitionKey: r.key, Data: r.data })) }));
  expect(out.FailedRecordCount).toBe(0);
}

/** Every record of the stream as GetRecords returns it, by partition key. */
async function getRecords(client: KinesisClient): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const shards = (await client.send(new ListShardsCommand({ StreamName: 'toll_transactions' }))).Shards ?? [];
  for (const shard of shards) {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: 'toll_transactions', ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const r of page.Records ?? []) out.set(r.PartitionKey!, r.Data!);
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

async function streamJson(log: StreamLog, stream: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let desc;
  try {
    desc = await log.describeStream(stream);
  } catch {
    return rows;
  }
  for (const shard of desc.shards) {
    for (let from: Parameters<StreamLog['read']>[2] | null = { type: 'TRIM_HORIZON' }; from; ) {
      const r = await log.read(stream, shard.shardId, from);
      for (const rec of r.records) rows.push(JSON.parse(Buffer.from(rec.data).toString('utf8')));
      from = r.records.length > 0 ? r.next : null;
    }
  }
  return rows;
}

async function warehouse(url: string, sql: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/v1/warehouse/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) });
  if (res.status !== 200) return [];
  return ((await res.json()) as { rows: unknown[][] }).rows;
}

const ids = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.transaction_id)).sort();
/** The valid tolls, without the heartbeats the spend query's window closer appends to the same stream. */
const tolls = (rows: Record<string, unknown>[]) => rows.filter((r) => r.heartbeat !== true);

describe('KPL aggregated records through the server', () => {
  it('are returned as stored by GetRecords and seen as user records, each once, by a query, a function, the warehouse and the tail', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-kpl-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const txs = transactions(60, 11);
    const aggregates = aggregatesOf(txs);
    const malformed = aggregateWithBadDigest([{ partitionKey: 'lost', data: JSON.stringify({ ...txs[0], transaction_id: 'never-delivered' }) }]);

    let server = await start(dataDir);
    const created = await fetch(`${server.url}/v1/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'kplcopy', sql: SQL }) });
    expect(created.status).toBe(201);
    let client = kinesis(server.url);
    await put(client, [...aggregates.slice(0, 3).map((data, i) => ({ key: `agg-${i}`, data })), { key: 'agg-bad', data: malformed }]);

    // (1) GetRecords: the aggregates byte for byte, the malformed one too.
    const stored = await getRecords(client);
    for (let i = 0; i < 3; i++) expect(Buffer.from(stored.get(`agg-${i}`)!).equals(Buffer.from(aggregates[i]!))).toBe(true);
    expect(Buffer.from(stored.get('agg-bad')!).equals(Buffer.from(malformed))).toBe(true);

    // A query with an undeclared input infers its columns from the user records (the stream holds only aggregates).
    const kda = await fetch(`${server.url}/v1/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kplkda', sql: KDA_SQL, input: 'toll_transactions', outputs: { DESTINATION_SQL_STREAM: 'kda_copy' } }),
    });
    expect(kda.status).toBe(201);

    const first = ids(txs.slice(0, 30) as unknown as Record<string, unknown>[]);
    expect(ids(await waitUntil('the inferred query copy of 30 user records', () => streamJson(server.log, 'kda_copy'), (rows) => rows.length >= 30))).toEqual(first);
    await waitUntil('the query copy of 30 user records', () => streamJson(server.log, 'kpl_copy'), (rows) => rows.length >= 30);
    await waitUntil('30 valid tolls from the validation function', () => streamJson(server.log, 'toll_transactions_valid'), (rows) => tolls(rows).length >= 30);
    await waitUntil('30 warehouse rows', () => warehouse(server.url, 'SELECT count(*) FROM toll_transactions'), (rows) => Number(rows[0]?.[0]) >= 30);

    // The tail: one event per user record with its own partition key and sub-sequence number; the bad one named.
    const abort = new AbortController();
    const res = await fetch(`${server.url}/v1/streams/toll_transactions/tail?from=TRIM_HORIZON`, { signal: abort.signal });
    const events: Record<string, any>[] = [];
    for await (const e of serverSentEvents(res.body!)) {
      if (e.type === 'record') events.push(JSON.parse(e.data));
      if (events.length === 31) break;
    }
    abort.abort();
    const users = events.filter((e) => e.error === undefined);
    expect(users.map((e) => e.data.transaction_id).sort()).toEqual(first);
    for (const e of users) expect(e.partitionKey).toBe(e.data.customer_id);
    expect(users.map((e) => e.subSequenceNumber).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((n) => [n, n, n]));
    expect(events.filter((e) => e.error !== undefined)).toEqual([expect.objectContaining({ partitionKey: 'agg-bad', error: expect.stringMatching(/^malformed KPL aggregated record: .*MD5/) })]);

    // Restart, then the rest of the aggregates.
    await server.close();
    server = await start(dataDir);
    client = kinesis(server.url);
    await put(client, aggregates.slice(3).map((data, i) => ({ key: `agg-${i + 3}`, data })));

    const all = ids(txs as unknown as Record<string, unknown>[]);
    // (2) the continuous query, (3) the shipped validation function, (4) the warehouse: every user record exactly once.
    const copy = await waitUntil('the query copy of 60 user records', () => streamJson(server.log, 'kpl_copy'), (rows) => rows.length >= 60);
    const valid = tolls(await waitUntil('60 valid tolls', () => streamJson(server.log, 'toll_transactions_valid'), (rows) => tolls(rows).length >= 60));
    const loaded = await waitUntil('60 warehouse rows', () => warehouse(server.url, 'SELECT transaction_id FROM toll_transactions'), (rows) => rows.length >= 60);
    expect(ids(copy)).toEqual(all);
    expect(ids(valid)).toEqual(all);
    expect(loaded.map((r) => String(r[0])).sort()).toEqual(all);

    const errors = await waitUntil('the query error row', () => streamJson(server.log, 'kplcopy_errors'), (rows) => rows.some((r) => r.ERROR_NAME === 'MALFORMED_KPL_AGGREGATE'));
    expect(errors.filter((r) => r.ERROR_NAME === 'MALFORMED_KPL_AGGREGATE')).toHaveLength(1);
    const deliveryErrors = await warehouse(server.url, "SELECT error_code, error_message FROM _delivery_errors WHERE error_code = 'kpl-aggregate-malformed'");
    expect(deliveryErrors).toHaveLength(1);
    expect(String(deliveryErrors[0]![1])).toMatch(/MD5/);
  });
});

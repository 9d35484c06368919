/**
 * The benchmarks' load generator (bench/lib/loadgen): its Kinesis requests pass the server's SigV4 check over
 * HTTP/2, and what it reports as acknowledged and unique is what the stream holds, each record a valid toll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateTransaction } from '../../src/apps/abc-tolls/schema.ts';
import { createAuthenticator } from '../../src/gateway/index.ts';
import { kinesisBody, stampBody, DUPLICATE_LAG, type PoolRecord } from '../../bench/lib/loadgen/bodies.ts';
import { simulatorPool, startLoadGenerator, type LoadGenerator } from '../../bench/lib/loadgen/client.ts';
import { readAll } from '../queries/support.ts';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from '../support/test-server.ts';

const POOL = simulatorPool({ seed: 7, customers: 500, count: 4000 });

describe('stamping a PutRecords body', () => {
  it('writes a new id and event time into every record and leaves the rest as built', () => {
    const records: PoolRecord[] = POOL.slice(0, 300).map((r, i) => ({ ...r, duplicate: i % 50 === 49, eventOffsetMs: i % 7 === 0 ? 12_345 : 0 }));
    const body = kinesisBody('tolls', records, 'lgtest-');
    const ids = { next: 5000, first: 100 };
    const now = Date.UTC(2026, 11, 6, 23, 59, 59, 987);
    const retries = stampBody(body, ids, now);
    expect(retries).toBe(6);
    expect(ids.next).toBe(5300);
    const parsed = JSON.parse(body.bytes.toString('utf8')) as { StreamName: string; Records: { Data: string; PartitionKey: string }[] };
    expect(parsed.StreamName).toBe('tolls');
    expect(parsed.Records).toHaveLength(300);
    parsed.Records.forEach((entry, i) => {
      const tx = JSON.parse(Buffer.from(entry.Data, 'base64').toString('utf8')) as Record<string, unknown>;
      const own = 5000 + i;
      const id = records[i]!.duplicate ? own - DUPLICATE_LAG : own;
      expect(tx.transaction_id).toBe(`lgtest-${String(id).padStart(12, '0')}`);
      expect(tx.event_time).toBe(new Date(now - records[i]!.eventOffsetMs).toISOString());
      const { transaction_id: _a, event_time: _b, ...rest } = records[i]!.transaction;
      expect(tx).toMatchObject(rest);
      expect(entry.PartitionKey).toBe(records[i]!.transaction.customer_id);
      expect(validateTransaction(tx).ok).toBe(true);
    });
  });
});

describe('the load generator process against a gateway that verifies signatures', () => {
  let server: TestServer;
  let loadgen: LoadGenerator;
  beforeAll(async () => {
    server = await startTestServer({ authenticator: createAuthenticator({ accessKeys: [TEST_CREDENTIALS], apiKeys: [] }) });
    for (const name of ['k', 'n']) await server.log.createStream(name, { shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 3600 } });
    loadgen = await startLoadGenerator();
    // Bodies of 500 tolls (about 170 KB): the gateway parses them from their bytes (src/core/json/parse.ts).
    await loadgen.prepare({ name: 'k', kind: 'kinesis', stream: 'k', records: POOL, batch: 500, unique: true });
    await loadgen.prepare({ name: 'n', kind: 'native', stream: 'n', records: POOL, batch: 100, unique: true });
  });
  afterAll(async () => {
    await loadgen?.close();
    await server?.close();
  });

  it('stores what it reports: signed PutRecords over HTTP/2, unique ids, valid tolls', async () => {
    const credentials = { ...TEST_CREDENTIALS, region: 'eu-central-1' };
    const result = await loadgen.run({ name: 'k', url: server.url, rate: 4000, durationMs: 1500, concurrency: 4, connections: 2, credentials });
    expect(result.requests).toBeGreaterThanOrEqual(4);
    expect(result.failedRequests).toBe(0);
    expect(result.failedRecords).toBe(0);
    expect(result.records).toBe(result.sentRecords);
    expect(result.records).toBeGreaterThanOrEqual(2000);
    const stored = await readAll(server.log, 'k');
    // Retries are dropped by the stream's dedupe: it holds exactly the unique records reported.
    expect(stored).toHaveLength(result.uniqueRecords);
    expect(new Set(stored.map((r) => r.transaction_id)).size).toBe(stored.length);
    for (const r of stored) expect(validateTransaction(r)).toMatchObject({ ok: true });
    expect(result.cpuSeconds).toBeGreaterThan(0);
  });

  it('is refused when it signs with a wrong secret', async () => {
    const credentials = { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret', region: 'us-east-1' };
    const result = await loadgen.run({ name: 'k', url: server.url, rate: 5000, durationMs: 400, concurrency: 1, connections: 1, credentials });
    expect(result.records).toBe(0);
    expect(result.failedRequests).toBeGreaterThan(0);
    expect(result.firstError).toMatch(/HTTP 403.*signature/i);
  });

  it('native NDJSON over HTTP/1.1: the stream holds the unique records reported', async () => {
    const result = await loadgen.run({ name: 'n', url: server.url, rate: 4000, durationMs: 1500, concurrency: 4, connections: 2 });
    expect(result.failedRequests).toBe(0);
    expect(result.records).toBe(result.sentRecords);
    const stored = await readAll(server.log, 'n');
    expect(stored).toHaveLength(result.uniqueRecords);
    expect(new Set(stored.map((r) => r.transaction_id)).size).toBe(stored.length);
  });

  it('sends to loopback addresses only', async () => {
    await expect(loadgen.run({ name: 'n', url: 'http://192.0.2.1:4566', durationMs: 100, concurrency: 1, connections: 1 })).rejects.toThrow(/loopback/);
  });
});

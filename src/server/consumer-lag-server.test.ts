/**
 * Consumer lag in records on a running server, for the consumers other than functions: the warehouse and lake
 * deliveries count the records they have not yet committed into their destination (read and buffered ones
 * included), a continuous query the records after its last stored checkpoint, per shard, in `/metrics` with
 * `kind="delivery"` / `kind="query"`, and in the metrics history the console charts. Their lag in time
 * (`tollstream_consumer_lag_seconds`) grows while records wait and is 0 once nothing is behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../config/index.ts';
import { createLogger } from '../core/logger.ts';
import { startServer, type RunningServer } from './index.ts';
import { tollDataApp } from '../../test/support/toll-data-app.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(dataDir: string, overrides: Partial<TollstreamConfig> = {}): TollstreamConfig {
  return {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    logging: { level: 'silent', format: 'json' },
    streams: [{ name: 'toll_transactions', shardCount: 2 }],
    ...overrides,
  };
}

async function start(cfg: TollstreamConfig): Promise<RunningServer> {
  const server = await startServer(cfg, { logger: createLogger({ level: 'silent' }), apps: [tollDataApp] });
  cleanups.push(() => server.close());
  return server;
}

function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-lag-server-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Appends `n` tolls with distinct customers; returns how many landed in each shard. */
async function appendTolls(server: RunningServer, n: number, tag: string): Promise<Map<string, number>> {
  const now = Date.now();
  const records = Array.from({ length: n }, (_, i) => ({
    partitionKey: `${tag}-${i}`,
    data: new TextEncoder().encode(JSON.stringify({
      transaction_id: `${tag}-${i}`, customer_id: `C${String(i).padStart(7, '0')}`, tag_id: 'TAG-1', plate: 'ABC-1234', plaza_id: 'P01', lane: 1,
      vehicle_class: 2, amount_cents: 250, currency: 'USD', event_time: new Date(now).toISOString(),
    })),
  }));
  const perShard = new Map<string, number>();
  for (const r of await server.log.append('toll_transactions', records)) {
    if (!r.ok) throw new Error(r.errorMessage);
    perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + 1);
  }
  return perShard;
}

/** The records behind per shard of one consumer of one kind, as a scrape of /metrics shows them. */
async function lagByShard(server: RunningServer, kind: string, consumer: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tollstream_consumer_lag_records\{consumer="([^"]*)",stream="toll_transactions",shard="([^"]*)",kind="([^"]*)"\} (\S+)$/gm)) {
    if (m[1] === consumer && m[3] === kind) out.set(m[2]!, Number(m[4]));
  }
  return out;
}

/** The seconds behind per shard of one consumer of one kind (`tollstream_consumer_lag_seconds`). */
async function secondsByShard(server: RunningServer, kind: string, consumer: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tollstream_consumer_lag_seconds\{consumer="([^"]*)",stream="toll_transactions",shard="([^"]*)",kind="([^"]*)"\} (\S+)$/gm)) {
    if (m[1] === consumer && m[3] === kind) out.set(m[2]!, Number(m[4]));
  }
  return out;
}

/** Two scrapes 200 ms apart: every shard behind on the first, and further behind on the second. */
async function expectGrowing(server: RunningServer, kind: string, consumer: string, shards: number): Promise<void> {
  const first = await secondsByShard(server, kind, consumer);
  expect(first.size).toBe(shards);
  for (const s of first.values()) expect(s).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 200));
  const later = await secondsByShard(server, kind, consumer);
  for (const [shard, s] of first) expect(later.get(shard)!).toBeGreaterThan(s);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bothZero = (m: Map<string, number>) => m.size === 2 && [...m.values()].every((v) => v === 0);

const QUERY_SQL = `
CREATE TABLE tolls (customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE big_tolls (customer_id VARCHAR(16), amount_cents BIGINT) WITH ('stream' = 'big_tolls');
INSERT INTO big_tolls SELECT customer_id, amount_cents FROM tolls WHERE amount_cents > 1000;
`;

describe('tollstream_consumer_lag_records for deliveries and queries', () => {
  it('counts the records a delivery has read but not committed, per shard, and 0 once they are in the warehouse and the lake', async () => {
    const dataDir = tempDataDir();
    // Batches wait up to 900 s: the records are read into the buffer and not written while the test looks.
    const slow = config(dataDir, {
      delivery: { ...DEFAULT_CONFIG.delivery, bufferIntervalSeconds: 900, bufferSizeMiB: 128 },
      lake: { ...DEFAULT_CONFIG.lake, enabled: true, maxWaitSeconds: 900 },
      queries: { ...DEFAULT_CONFIG.queries, enabled: false },
    });
    const first = await start(slow);
    expect(first.deliveries.map((d) => d.name).sort()).toEqual(['lake', 'warehouse']);
    expect(await lagByShard(first, 'delivery', 'warehouse')).toEqual(new Map([['shardId-000000000000', 0], ['shardId-000000000001', 0]]));

    const appended = await appendTolls(first, 60, 'a');
    expect(appended.size).toBe(2);
    await until(async () => first.deliveries.every((d) => d.stats().bufferedRecords === 60), 'the deliveries to buffer the records');
    expect(await lagByShard(first, 'delivery', 'warehouse')).toEqual(appended);
    expect(await lagByShard(first, 'delivery', 'lake')).toEqual(appended);
    // Buffered and not committed, the records grow older: the lag in time grows on both shards.
    await expectGrowing(first, 'delivery', 'warehouse', 2);
    await expectGrowing(first, 'delivery', 'lake', 2);

    // Stopping writes what is buffered; after a restart with short batches nothing is behind.
    await first.close();
    const second = await start({ ...slow, delivery: DEFAULT_CONFIG.delivery, lake: { ...slow.lake, maxWaitSeconds: 1 } });
    await until(async () => bothZero(await lagByShard(second, 'delivery', 'warehouse')) && bothZero(await lagByShard(second, 'delivery', 'lake')), 'the deliveries to be caught up');
    // Caught up after the restart: nothing behind, 0 s.
    expect(await secondsByShard(second, 'delivery', 'warehouse')).toEqual(new Map([['shardId-000000000000', 0], ['shardId-000000000001', 0]]));
    expect(await secondsByShard(second, 'delivery', 'lake')).toEqual(new Map([['shardId-000000000000', 0], ['shardId-000000000001', 0]]));
    const more = await appendTolls(second, 30, 'b');
    await until(async () => bothZero(await lagByShard(second, 'delivery', 'warehouse')), 'the new records delivered');
    const rows = await second.warehouse!.query('SELECT count(*) AS n FROM toll_transactions');
    expect(Number(rows.rows[0]![0])).toBe(90);
    expect([...more.values()].reduce((a, b) => a + b, 0)).toBe(30);
  });

  it('counts the records after a stopped query\'s last checkpoint, per shard, kept in the history, and 0 after it resumes', async () => {
    const dataDir = tempDataDir();
    const server = await start(config(dataDir, {
      warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
      metrics: { ...DEFAULT_CONFIG.metrics, historyIntervalSeconds: 1 },
    }));
    const created = await fetch(`${server.url}/v1/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'big-tolls', sql: QUERY_SQL }) });
    expect(created.status).toBeLessThan(300);
    await appendTolls(server, 20, 'a');
    await until(async () => bothZero(await lagByShard(server, 'query', 'big-tolls')), 'the query to checkpoint past the first records');

    expect((await fetch(`${server.url}/v1/queries/big-tolls/stop`, { method: 'POST' })).status).toBe(200);
    const appended = await appendTolls(server, 45, 'b');
    expect(appended.size).toBe(2);
    expect(await lagByShard(server, 'query', 'big-tolls')).toEqual(appended);
    await expectGrowing(server, 'query', 'big-tolls', 2);

    // The history the console charts keeps the same values per consumer and shard.
    await until(async () => {
      const history = await (await fetch(`${server.url}/v1/metrics/history?since=5m&names=tollstream_consumer_lag_records,tollstream_consumer_lag_seconds`)).json() as { points: Array<{ values: Record<string, number> }> };
      const last = history.points.at(-1)?.values ?? {};
      return [...appended].every(([shard, n]) => last[`tollstream_consumer_lag_records{consumer="big-tolls",shard="${shard}"}`] === n && last[`tollstream_consumer_lag_seconds{kind="query",consumer="big-tolls",shard="${shard}"}`]! > 0);
    }, 'a history sample with the lag');

    expect((await fetch(`${server.url}/v1/queries/big-tolls/resume`, { method: 'POST' })).status).toBe(200);
    await until(async () => bothZero(await lagByShard(server, 'query', 'big-tolls')), 'the resumed query to catch up');
    expect(await secondsByShard(server, 'query', 'big-tolls')).toEqual(new Map([['shardId-000000000000', 0], ['shardId-000000000001', 0]]));
  });
});

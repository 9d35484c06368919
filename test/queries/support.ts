/** Shared pieces of the continuous-query tests: traffic, appends, reading an output stream, the reference run. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EmbeddedStreamLog, StreamLog } from '../../src/log/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { TrafficGenerator } from '../../src/simulator/index.ts';
import { runQuery } from '../../src/sql/index.ts';
import { waitFor as waitUntil } from '../support/wait.ts';

export const START = Date.parse('2026-03-02T08:00:00.000Z');
export const FLUSH_CUSTOMER = '~flush';
export const DELAY_MS = 5000;

/** Per-customer spend per 10-second tumbling window, event time with a 5 s watermark delay (Flink style). */
export const SPEND_SQL = `
CREATE TABLE tolls (
  transaction_id VARCHAR(40), customer_id VARCHAR(16), plaza_id VARCHAR(16), amount_cents BIGINT,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('stream' = 'toll_transactions');

CREATE TABLE customer_spend (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT
) WITH ('stream' = 'customer_spend');

INSERT INTO customer_spend
SELECT window_start, window_end, customer_id, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, customer_id;
`;

/**
 * Every toll with its customer's trips and spend over the minute before it (event time): an OVER window, whose
 * operator saves the partitions rows joined and the rows held or released since its previous checkpoint.
 */
export const RECENT_SPEND_SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE recent_spend (transaction_id VARCHAR(40), customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT) WITH ('stream' = 'recent_spend');
INSERT INTO recent_spend SELECT transaction_id, customer_id, COUNT(*) OVER w, SUM(amount_cents) OVER w FROM tolls
WINDOW w AS (PARTITION BY customer_id ORDER BY event_time RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW);`;

/**
 * Every toll with the same customer's tolls of the 2 seconds after it, or padded with NULL when there is none:
 * an interval (LEFT) join, whose operator saves the chunks of rows, or the keys, that changed since its previous
 * checkpoint, with the matches it noted.
 */
export const LATER_TOLLS_SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE later_tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), later_id VARCHAR(40)) WITH ('stream' = 'later_tolls');
INSERT INTO later_tolls SELECT a.transaction_id, a.customer_id, b.transaction_id FROM tolls a LEFT JOIN tolls b
  ON a.customer_id = b.customer_id AND b.event_time BETWEEN a.event_time AND a.event_time + INTERVAL '2' SECOND
  AND a.transaction_id <> b.transaction_id;`;

/** Tolls counted per customer: a GROUP BY without a window, so one update row per toll (versions checkpointed). */
export const COUNT_SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE key_counts (customer_id VARCHAR(16), trips BIGINT) WITH ('stream' = 'key_counts');
INSERT INTO key_counts SELECT customer_id, COUNT(*) FROM tolls GROUP BY customer_id;`;

/** Tolls joined with a stream-backed reference table of stations (`station_reference`, keyed by plaza_id) into `named_tolls`. */
export const NAMED_TOLLS_SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(40), plaza_id VARCHAR(16)) WITH ('stream' = 'toll_transactions');
CREATE TABLE stations (plaza_id VARCHAR(16), name VARCHAR(32)) WITH ('stream' = 'station_reference', 'kind' = 'table', 'key' = 'plaza_id');
CREATE TABLE named (transaction_id VARCHAR(40), plaza VARCHAR(32)) WITH ('stream' = 'named_tolls');
INSERT INTO named SELECT t.transaction_id, s.name FROM tolls t LEFT JOIN stations s ON t.plaza_id = s.plaza_id;`;

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function openLog(dir: string): Promise<EmbeddedStreamLog> {
  return openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval' });
}

/**
 * Simulator traffic with bounded out-of-orderness (2 s, below the 5 s watermark delay) and no late rows or
 * producer retries, so the live run and the file run see no late row whatever the batching.
 */
export function traffic(count: number, seed = 7): Record<string, unknown>[] {
  const gen = new TrafficGenerator({
    seed, customers: 40, plazas: 4, startTime: START, eventsPerSecond: 40, dailyProfile: false,
    outOfOrderShare: 0.1, outOfOrderMaxMs: 2000, lateShare: 0, duplicateShare: 0,
  });
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) out.push({ ...gen.next().transaction });
  return out;
}

/** Records far ahead in event time, one per shard, so the watermark of every shard passes all real windows. */
export async function flushRecords(log: StreamLog, stream: string, after: number): Promise<{ record: Record<string, unknown>; explicitHashKey: string }[]> {
  const desc = await log.describeStream(stream);
  return desc.shards
    .filter((s) => s.endingSequenceNumber === undefined)
    .map((s, i) => ({
      record: { transaction_id: `flush-${i}`, customer_id: FLUSH_CUSTOMER, plaza_id: 'P0', amount_cents: 0, event_time: new Date(after + 60_000).toISOString() },
      explicitHashKey: s.hashKeyRange.startingHashKey,
    }));
}

export async function appendTolls(log: StreamLog, stream: string, records: readonly Record<string, unknown>[], batch = 200): Promise<void> {
  for (let i = 0; i < records.length; i += batch) {
    const chunk = records.slice(i, i + batch).map((r) => ({
      data: Buffer.from(JSON.stringify(r)),
      partitionKey: String(r.customer_id),
      idempotencyKey: String(r.transaction_id),
    }));
    const results = await log.append(stream, chunk);
    if (results.some((r) => !r.ok)) throw new Error('append failed');
  }
}

export async function appendFlush(log: StreamLog, stream: string, after: number): Promise<Record<string, unknown>[]> {
  const flush = await flushRecords(log, stream, after);
  await log.append(stream, flush.map((f) => ({ data: Buffer.from(JSON.stringify(f.record)), partitionKey: FLUSH_CUSTOMER, explicitHashKey: f.explicitHashKey })));
  return flush.map((f) => f.record);
}

/** Every record of a stream, shard by shard, JSON-decoded. */
export async function readAll(log: StreamLog, stream: string): Promise<Record<string, unknown>[]> {
  const desc = await log.describeStream(stream);
  const out: Record<string, unknown>[] = [];
  for (const shard of desc.shards) {
    let from: Parameters<StreamLog['read']>[2] | null = { type: 'TRIM_HORIZON' };
    for (;;) {
      const r = await log.read(stream, shard.shardId, from!, { maxRecords: 10_000 });
      for (const rec of r.records) out.push(JSON.parse(Buffer.from(rec.data).toString('utf8')) as Record<string, unknown>);
      if (r.records.length === 0 || r.next === null) break;
      from = r.next;
    }
  }
  return out;
}

export function canonical(rows: readonly Record<string, unknown>[]): string[] {
  return rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b))))).sort();
}

/** What the file runner computes over the same records with the same SQL (the sentinel windows left out). */
export async function reference(sql: string, input: string, records: readonly Record<string, unknown>[], output: string): Promise<string[]> {
  async function* source() {
    yield records;
  }
  const result = await runQuery({ sql, inputs: { [input]: source() } });
  return canonical(result.streams[output]!.filter((r) => r.customer_id !== FLUSH_CUSTOMER));
}

/** Polls until `check` holds (bounded). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(what, check, { timeoutMs });
}

/**
 * Helpers for the warehouse API tests: a real server (startServer) in a temp data dir on a random port,
 * generated toll traffic sent through the native records endpoint, and polling of the query endpoint.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS, type ShippedConfigOverrides } from '../../src/apps/index.ts';
import { TrafficGenerator, type GeneratedRecord } from '../../src/simulator/index.ts';

/** A Thursday, 06:00 UTC: event times of the generated traffic start here. */
export const T0 = Date.parse('2026-11-26T06:00:00.000Z');

export function tempDataDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tollstream-warehouse-api-${label}-`));
}

export function serverConfig(dataDir: string, overrides: ShippedConfigOverrides = {}): TollstreamConfig {
  return { ...DEFAULT_CONFIG, dataDir, host: '127.0.0.1', port: 0, logging: { level: 'silent', format: 'json' }, ...overrides };
}

export function start(config: TollstreamConfig): Promise<RunningServer> {
  return startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
}

/**
 * `count` generated records, producer retries (same transaction_id sent twice) included as the generator
 * makes them: the stream's dedupe must drop those, so the warehouse holds each transaction once.
 */
export function traffic(count: number, seed: number, startTime = T0): GeneratedRecord[] {
  const generator = new TrafficGenerator({ seed, startTime, customers: 200, plazas: 5, eventsPerSecond: 2 });
  return Array.from({ length: count }, () => generator.next());
}

/** Sends records as NDJSON through the native API, 500 per request, partitioned by customer. */
export async function send(url: string, records: readonly GeneratedRecord[], headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const body = records
      .slice(i, i + 500)
      .map((r) => JSON.stringify(r.transaction))
      .join('\n');
    const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...headers },
      body,
    });
    const answer = (await res.json()) as { failedRecordCount: number };
    if (res.status !== 200 || answer.failedRecordCount !== 0) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
  }
}

export interface QueryAnswer {
  readonly columns: ReadonlyArray<{ name: string; type: string }>;
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null>>;
  readonly freshnessSeconds: number | null;
}

export async function query(url: string, sql: string, params?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/v1/warehouse/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(params === undefined ? { sql } : { sql, params }),
  });
  return { status: res.status, body: await res.json() };
}

/** Polls the query endpoint until the warehouse holds `rows` toll transactions (or 20 s pass). */
export async function waitForRows(url: string, rows: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let held = -1;
  while (Date.now() < deadline) {
    const { status, body } = await query(url, 'SELECT count(*) AS n FROM toll_transactions');
    if (status === 200) held = (body as QueryAnswer).rows[0]![0] as number;
    if (held === rows) return;
    if (held > rows) throw new Error(`the warehouse holds ${held} rows, more than the ${rows} expected`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the warehouse holds ${held} rows after 20 s, expected ${rows}`);
}

/** The distinct transactions among generated records (what the warehouse must hold). */
export function distinct(records: readonly GeneratedRecord[]): GeneratedRecord['transaction'][] {
  return records.filter((r) => !r.duplicate).map((r) => r.transaction);
}

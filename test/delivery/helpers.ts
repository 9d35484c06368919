/** Helpers for delivery tests: a real embedded log and a DuckDB warehouse in a temp dir, and generated traffic. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEmbeddedLog, type StreamLog } from '../../src/log/index.ts';
import { TOLL_TRANSACTIONS, TrafficGenerator, type TollTransaction } from '../../src/simulator/index.ts';
import { openDuckDBWarehouse, type Warehouse } from '../../src/warehouse/index.ts';
import { waitFor } from '../support/wait.ts';

export const T0 = Date.parse('2026-11-26T06:00:00.000Z');

export async function tempDir(prefix = 'tollstream-delivery-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export function openLog(dir: string): Promise<StreamLog> {
  return openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'always' });
}

export async function openWarehouse(dir: string): Promise<Warehouse> {
  const warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb'), threads: 1 });
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  return warehouse;
}

/** `count` distinct transactions (the generator's producer retries left out), seeded. */
export function transactions(count: number, seed = 7, startTime = T0): TollTransaction[] {
  const generator = new TrafficGenerator({ seed, startTime, customers: 500, plazas: 8, eventsPerSecond: 50 });
  const out: TollTransaction[] = [];
  while (out.length < count) {
    const g = generator.next();
    if (!g.duplicate) out.push(g.transaction);
  }
  return out;
}

const encoder = new TextEncoder();

/** Appends raw payloads in chunks, checking every record was stored. */
export async function appendRaw(log: StreamLog, stream: string, payloads: readonly (string | Uint8Array)[], key = (i: number) => `k${i}`): Promise<void> {
  for (let i = 0; i < payloads.length; i += 500) {
    const chunk = payloads.slice(i, i + 500).map((p, j) => ({ data: typeof p === 'string' ? encoder.encode(p) : p, partitionKey: key(i + j) }));
    const results = await log.append(stream, chunk);
    const failed = results.find((r) => !r.ok);
    if (failed) throw new Error(`append failed: ${JSON.stringify(failed)}`);
  }
}

export function appendTransactions(log: StreamLog, stream: string, txs: readonly TollTransaction[]): Promise<void> {
  return appendRaw(log, stream, txs.map((t) => JSON.stringify(t)), (i) => txs[i]!.customer_id);
}

/** Polls `check` until it returns true, or fails with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  await waitFor(what, check, { timeoutMs });
}

export async function scalar(warehouse: Warehouse, sql: string): Promise<unknown> {
  return (await warehouse.query(sql)).rows[0]?.[0];
}

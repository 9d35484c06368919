/**
 * The lake's file size on a running server: `lake.targetFileMiB` is the amount of records a lake batch gathers
 * before it is written, so with tolls trickling in, each batch written before the stop holds at least that much
 * (one file per partition), where the warehouse's buffering would cut a batch every second.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, lakeDir, type TollstreamConfig } from '../config/index.ts';
import type { App } from '../app-contract/index.ts';
import { createLogger } from '../core/logger.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';
import { startServer, type RunningServer } from './index.ts';

const MiB = 1024 * 1024;
const PLAZAS = ['P01', 'P02', 'P03', 'P04'];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const idOf = (i: number) => `T${String(i).padStart(8, '0')}`;

function toll(i: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    transaction_id: idOf(i), customer_id: `C${String(i % 997).padStart(7, '0')}`, tag_id: `TAG-${i % 997}`, plate: 'ABC-1234',
    plaza_id: PLAZAS[i % PLAZAS.length], lane: 1 + (i % 6), vehicle_class: 2, amount_cents: 250 + (i % 400), currency: 'USD',
    event_time: new Date(Date.parse('2026-12-07T10:00:00.000Z') + i * 100).toISOString(),
  }));
}

/** Every lake file with the transaction ids it holds, read with DuckDB as an analyst would. */
async function lakeFiles(dir: string): Promise<Map<string, string[]>> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = path.join(dir, 'toll_transactions', '*=*', '**', '*.parquet').replaceAll("'", "''");
    const rows = (await conn.runAndReadAll(`SELECT filename, transaction_id FROM read_parquet('${glob}', filename = true)`)).getRowsJS() as Array<[string, string]>;
    const files = new Map<string, string[]>();
    for (const [file, id] of rows) files.set(file, [...(files.get(file) ?? []), id]);
    return files;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The files by the batch that wrote them: a batch's files share the shard's sequence range in their names. */
function byBatch(files: Map<string, string[]>): Map<string, string[]> {
  const batches = new Map<string, string[]>();
  for (const [file, ids] of files) {
    const batch = path.basename(file, '.parquet');
    batches.set(batch, [...(batches.get(batch) ?? []), ...ids]);
  }
  return batches;
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the Parquet lake on a running server', () => {
  it('writes a batch once lake.targetFileMiB of tolls have gathered, not a small file per second, and every toll once', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-lake-size-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const config: TollstreamConfig = {
      ...DEFAULT_CONFIG,
      dataDir,
      port: 0,
      host: '127.0.0.1',
      logging: { level: 'silent', format: 'json' },
      // One shard, so a batch's files are named by one sequence range.
      streams: [{ name: 'toll_transactions', shardCount: 1 }],
      warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
      queries: { ...DEFAULT_CONFIG.queries, enabled: false },
      // Only the size cuts a batch while the test runs: the wait is 15 minutes and compaction merges nothing meanwhile.
      lake: { ...DEFAULT_CONFIG.lake, enabled: true, targetFileMiB: 1, maxWaitSeconds: 900, compactionIntervalSeconds: 86_400 },
    };
    // The delivery loads the table an app declares under delivery.stream's name; this one declares the toll table only.
    const tolls: App = { name: 'tolls', enabled: () => false, warehouseTables: [TOLL_TRANSACTIONS], prepare: () => ({ start: async () => undefined }) };
    let server: RunningServer | undefined = await startServer(config, { apps: [tolls], logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => server?.close());
    const lake = server.deliveries.find((d) => d.name === 'lake')!;
    expect(lake).toBeDefined();

    // About 2.6 MiB of tolls in 65 appends, paced so they arrive over several seconds as live traffic does.
    const total = 13_000;
    const sizes = new Map<string, number>();
    for (let start = 0; start < total; start += 200) {
      const records = Array.from({ length: 200 }, (_, j) => ({ partitionKey: `k${start + j}`, data: toll(start + j) }));
      for (const [j, r] of records.entries()) sizes.set(idOf(start + j), r.data.length);
      for (const result of await server.log.append('toll_transactions', records)) expect(result.ok).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
    }
    const bytesOf = (ids: readonly string[]) => ids.reduce((sum, id) => sum + sizes.get(id)!, 0);
    expect(sizes.size).toBe(total);
    expect(bytesOf([...sizes.keys()])).toBeGreaterThan(2.5 * MiB);

    // Everything is read; what is left in the buffer is less than a file's worth, and nothing is being written.
    await until('the lake to hold every full batch', () => {
      const s = lake.stats();
      return s.recordsRead === total && s.rowsDelivered + s.bufferedRecords === total && s.bufferedBytes < MiB;
    });
    const written = await lakeFiles(lakeDir(config));
    const batches = byBatch(written);
    expect(batches.size).toBeGreaterThan(0);
    expect([...written.values()].flat().length).toBe(lake.stats().rowsDelivered);
    for (const [batch, ids] of batches) {
      expect(bytesOf(ids), `batch ${batch} holds ${ids.length} tolls`).toBeGreaterThanOrEqual(MiB);
    }
    // One file per plaza and batch, each of hundreds of tolls.
    expect(written.size).toBeLessThanOrEqual(batches.size * PLAZAS.length);
    for (const [file, ids] of written) expect(ids.length, file).toBeGreaterThan(100);

    // The stop writes the rest as one last batch; every toll is in the lake once.
    await server.close();
    server = undefined;
    const all = await lakeFiles(lakeDir(config));
    const ids = [...all.values()].flat();
    expect(ids.length).toBe(total);
    expect(new Set(ids).size).toBe(total);
    expect(byBatch(all).size).toBe(batches.size + 1);
  }, 120_000);
});

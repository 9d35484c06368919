import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { describeWarehouseConformance } from './conformance.ts';
import type { DamagedWarehouse } from './duckdb-file.ts';
import { openDuckDBWarehouse } from './duckdb.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';

describeWarehouseConformance('DuckDB', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-warehouse-'));
  return {
    open: (options = {}) => openDuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb'), threads: 1, ...options }),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
});

describe('a damaged DuckDB warehouse file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-warehouse-damage-'));
    file = path.join(dir, 'warehouse.duckdb');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  /** A warehouse holding `rows` toll transactions (plates unique, so their blocks hold real data), then closed. */
  async function filled(rows: number): Promise<void> {
    const warehouse = await openDuckDBWarehouse({ path: file, threads: 1 });
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    const batch = Array.from({ length: rows }, (_, i) => ({
      transaction_id: `tx-${i}`,
      customer_id: null,
      tag_id: null,
      plate: `plate-${i}-${'x'.repeat(i % 40)}`,
      plaza_id: 'P01',
      lane: 1,
      vehicle_class: 2,
      amount_cents: 100 + i,
      currency: 'USD',
      event_time: 1_780_000_000_000 + i,
      arrival_time: 1_780_000_000_000 + i,
      shard_id: 'shardId-000000000000',
      sequence_number: String(i + 1).padStart(24, '0'),
    }));
    await warehouse.loadBatch({ table: 'toll_transactions', rows: batch, source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': String(rows).padStart(24, '0') } } });
    await warehouse.close();
  }

  it('refuses a file cut short, naming it, unless asked to rebuild; then moves it aside and starts empty', async () => {
    await filled(50_000);
    const { size } = await fs.stat(file);
    await fs.truncate(file, Math.floor(size / 2));

    await expect(openDuckDBWarehouse({ path: file, threads: 1 })).rejects.toSatisfy(
      (err) => isTollstreamError(err, 'WAREHOUSE_CORRUPT') && err.message.includes(file) && err.context.path === file,
    );

    const events: DamagedWarehouse[] = [];
    const rebuilt = await openDuckDBWarehouse({ path: file, threads: 1, rebuildDamaged: (e) => events.push(e) });
    try {
      await rebuilt.ensureSchema([TOLL_TRANSACTIONS]);
      expect(events).toHaveLength(1);
      expect(events[0]!.path).toBe(file);
      expect(events[0]!.movedTo).toHaveLength(1);
      expect(events[0]!.movedTo[0]).toMatch(/warehouse\.duckdb\.damaged-\d{4}-\d\d-\d\dT/);
      expect((await fs.stat(events[0]!.movedTo[0]!)).size).toBe(Math.floor(size / 2));
      expect((await rebuilt.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[0]]);
      expect(await rebuilt.positions('toll_transactions', 'toll_transactions')).toEqual({});
    } finally {
      await rebuilt.close();
    }
  });

  it('answers a checksum failure met by a query as WAREHOUSE_CORRUPT, and the next open rebuilds', async () => {
    await filled(50_000);
    // The data blocks of the columns the query reads, from DuckDB's own storage map.
    const probe = await openDuckDBWarehouse({ path: file, threads: 1 });
    let blockSize: number;
    let blocks: number[];
    try {
      const size = await probe.query('SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()');
      blockSize = Number(size.rows[0]![0]);
      const info = await probe.query(
        "SELECT DISTINCT block_id FROM pragma_storage_info('toll_transactions') WHERE persistent AND block_id >= 0 AND column_name IN ('plate', 'amount_cents', 'sequence_number')",
      );
      blocks = info.rows.map(([id]) => Number(id));
    } finally {
      await probe.close();
    }
    expect(blocks.length).toBeGreaterThan(0);

    // Open first, then damage every one of those blocks on disk: whatever the open itself read stays in DuckDB's
    // buffers, the rest is met only by the query.
    const warehouse = await openDuckDBWarehouse({ path: file, threads: 1 });
    try {
      const handle = await fs.open(file, 'r+');
      try {
        for (const block of blocks) {
          // Three 4 KiB header blocks come first; a block's checksum is its first 8 bytes.
          const offset = 3 * 4096 + block * blockSize + 4096;
          const run = Buffer.alloc(256);
          await handle.read(run, 0, run.length, offset);
          for (let i = 0; i < run.length; i++) run[i] = run[i]! ^ 0xff;
          await handle.write(run, 0, run.length, offset);
        }
      } finally {
        await handle.close();
      }
      await expect(warehouse.query("SELECT sum(hash(plate)), sum(amount_cents), max(sequence_number) FROM toll_transactions")).rejects.toSatisfy(
        (err) => isTollstreamError(err, 'WAREHOUSE_CORRUPT') && err.kind === 'internal',
      );
    } finally {
      await warehouse.close();
    }
    await expect(fs.stat(`${file}.damaged`)).resolves.toBeTruthy();
    const events: DamagedWarehouse[] = [];
    const rebuilt = await openDuckDBWarehouse({ path: file, threads: 1, rebuildDamaged: (e) => events.push(e) });
    await rebuilt.close();
    expect(events.map((e) => e.reason)).toEqual([expect.stringMatching(/marked damaged while running/)]);
    await expect(fs.stat(`${file}.damaged`)).rejects.toThrow();
  });
});

describe('a DuckDB warehouse created before failed records could be sent again', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-warehouse-old-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('gains the redriven_at column at start, keeping its error rows listed', async () => {
    const file = path.join(dir, 'warehouse.duckdb');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const old = await DuckDBInstance.create(file);
    const conn = await old.connect();
    await conn.run(`CREATE TABLE _delivery_errors (stream VARCHAR NOT NULL, table_name VARCHAR NOT NULL, shard_id VARCHAR NOT NULL, sequence_number VARCHAR NOT NULL,
      error_type VARCHAR NOT NULL, error_code VARCHAR NOT NULL, error_message VARCHAR NOT NULL, raw_data_base64 VARCHAR NOT NULL, arrival_time TIMESTAMP NOT NULL, failed_at TIMESTAMP NOT NULL)`);
    await conn.run(`INSERT INTO _delivery_errors VALUES ('s', 'toll_transactions', 'a', '1', 'format-conversion-failed', 'invalid-json', 'no', 'eA==', TIMESTAMP '2026-11-26 10:00:00', TIMESTAMP '2026-11-26 10:00:01')`);
    conn.closeSync();
    old.closeSync();
    const warehouse = await openDuckDBWarehouse({ path: file, threads: 1 });
    try {
      await warehouse.ensureSchema();
      expect(await warehouse.deliveryErrors()).toMatchObject([{ stream: 's', shardId: 'a', sequenceNumber: '1', errorCode: 'invalid-json', redrivenAt: null }]);
    } finally {
      await warehouse.close();
    }
  });
});

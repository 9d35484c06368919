/**
 * The PostgreSQL JDBC driver against the BI port: Metabase and DBeaver connect with it, and it binds numbers in
 * binary and asks for binary results once a statement runs often, where `pg` and psql use text.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDBWarehouse, QuerySlots, type Warehouse } from '../warehouse/index.ts';
import { startPgWireServer, type PgWireServer } from './index.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';

const run = promisify(execFile);
/** Debian's libpostgresql-jdbc-java (installed by .ci/run with a JDK). */
const DRIVER = '/usr/share/java/postgresql.jar';
const CLIENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/support/JdbcClient.java');
const PASSWORD = 'jdbc test password';

describe('the PostgreSQL JDBC driver on the BI port', () => {
  let dir: string;
  let warehouse: Warehouse;
  let server: PgWireServer;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tollstream-jdbc-'));
    warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb'), threads: 1 });
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      transaction_id: `tx-${i}`,
      customer_id: null,
      tag_id: null,
      plate: null,
      plaza_id: `P0${i % 5}`,
      lane: 1,
      vehicle_class: 2,
      amount_cents: 100 + i,
      currency: 'USD',
      event_time: Date.UTC(2026, 10, 26, 10) + i,
      arrival_time: Date.UTC(2026, 10, 26, 10) + i,
      shard_id: 'shardId-000000000000',
      sequence_number: String(i + 1),
    }));
    await warehouse.loadBatch({ table: 'toll_transactions', rows, source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': '1000' } } });
    server = await startPgWireServer({ warehouse, user: 'metabase', password: PASSWORD, slots: new QuerySlots({ perCaller: 2, total: 8 }), maxResultRows: 1000 }, 0, '127.0.0.1');
  });

  afterAll(async () => {
    await server?.close();
    await warehouse?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('signs in, lists tables and columns, binds binary parameters, reads binary results past prepareThreshold, and is refused a write', { timeout: 120_000 }, async () => {
    expect(fs.existsSync(DRIVER), `${DRIVER} is missing: apt-get install libpostgresql-jdbc-java default-jdk-headless (.ci/run does)`).toBe(true);
    const { stdout } = await run('java', ['-cp', DRIVER, CLIENT, String(server.port), 'metabase', PASSWORD], { timeout: 100_000 });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('version 15.0');
    expect(lines[1]).toBe('tables _delivery_errors _delivery_positions toll_transactions');
    expect(lines[2]).toBe(
      'columns transaction_id:varchar customer_id:varchar tag_id:varchar plate:varchar plaza_id:varchar lane:int4 vehicle_class:int2 amount_cents:int8 currency:varchar event_time:timestamp arrival_time:timestamp shard_id:varchar sequence_number:varchar',
    );
    lines.splice(1, 2);
    // P03 with amount >= 1000: i = 903, 908, ..., 998 -> 20 rows, sum of 100 + i.
    const cents = Array.from({ length: 20 }, (_, k) => 100 + 903 + 5 * k).reduce((a, b) => a + b, 0);
    expect(lines.slice(1, 8)).toEqual(Array.from({ length: 7 }, () => `count 20 ${cents}`));
    // The same values in text (the first runs) and in binary (after the driver prepared the statement on the server).
    expect(lines.slice(8, 15)).toEqual(Array.from({ length: 7 }, (_, i) => `types 42 9007199254740993 7 1.5 t 2026-11-26 2026-11-26 10:00:00.123 123.45 -0.001 Zürich ${i + 1}`));
    expect(lines[15]).toBe('write refused 25006');
  });
});

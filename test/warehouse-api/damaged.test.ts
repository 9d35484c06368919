/**
 * A damaged `warehouse.duckdb` under a real server: a file cut short no longer stops the start; it is moved
 * aside, said so in the log, and the warehouse is rebuilt from the log with every transaction exactly once.
 * A checksum failure met by a query is the server's fault: 500 with the code `WAREHOUSE_CORRUPT`.
 */
import { spawnSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { isTollstreamError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { openDuckDBWarehouse, type DamagedWarehouse } from '../../src/warehouse/index.ts';
import { distinct, query, send, serverConfig, tempDataDir, traffic, waitForRows, type QueryAnswer } from './helpers.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { TOLL_TRANSACTIONS, tollTransactionsStream } from '../../src/simulator/index.ts';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function config(dataDir: string): TollstreamConfig {
  // The apps are off, so the toll stream they declare is declared here.
  return serverConfig(dataDir, { streams: [tollTransactionsStream()], ...spendAlertsConfig({ enabled: false }), ...stationAlertsConfig({ enabled: false }) });
}

async function startLogged(dataDir: string, lines: string[]): Promise<RunningServer> {
  server = await startServer(config(dataDir), { apps: SHIPPED_APPS, logger: createLogger({ level: 'info', write: (line) => lines.push(line) }) });
  return server;
}

/** Where a data block of `column` of toll_transactions starts in the file (DuckDB's 12 KiB header, then blocks). */
async function dataBlockOffset(file: string, column: string): Promise<number> {
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  try {
    const found = await conn.runAndReadAll(
      "SELECT max(block_id), (SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()) FROM pragma_storage_info('toll_transactions') WHERE column_name = $column AND persistent AND block_id IS NOT NULL",
      { column },
    );
    const [block, blockSize] = found.getRowsJS()[0]!;
    return 3 * 4096 + Number(block) * Number(blockSize);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('a damaged write-ahead log', () => {
  it('moves aside a warehouse whose write-ahead log fails its checksum, with the log, and rebuilds', async () => {
    const dir = tempDataDir('wal');
    const file = path.join(dir, 'warehouse.duckdb');
    const child = spawnSync(process.execPath, ['bin/run-ts.mjs', 'test/warehouse-api/wal-child.ts', file, '5'], { encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    const wal = `${file}.wal`;
    const size = fs.statSync(wal).size;
    expect(size).toBeGreaterThan(100_000);
    const fd = fs.openSync(wal, 'r+');
    fs.writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, Math.floor(size / 2));
    fs.closeSync(fd);

    await expect(openDuckDBWarehouse({ path: file, threads: 1 })).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_CORRUPT') && err.message.includes(file));
    const events: DamagedWarehouse[] = [];
    const rebuilt = await openDuckDBWarehouse({ path: file, threads: 1, rebuildDamaged: (e) => events.push(e) });
    try {
      await rebuilt.ensureSchema([TOLL_TRANSACTIONS]);
      expect(events).toHaveLength(1);
      expect(events[0]!.reason).toMatch(/WAL/);
      expect(events[0]!.movedTo.map((f) => path.basename(f).replace(/damaged-.*/, 'damaged-'))).toEqual(['warehouse.duckdb.damaged-', 'warehouse.duckdb.wal.damaged-']);
      expect((await rebuilt.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[0]]);
    } finally {
      await rebuilt.close();
    }
  });
});

describe('a damaged warehouse file under the server', () => {
  it('rebuilds a warehouse file cut short from the log, saying so, with each transaction exactly once', async () => {
    const dataDir = tempDataDir('damaged');
    const records = traffic(3000, 41);
    const expected = distinct(records).length;
    const first = await startLogged(dataDir, []);
    await send(first.url, records);
    await waitForRows(first.url, expected);
    await first.close();
    server = undefined;

    const file = path.join(dataDir, 'warehouse.duckdb');
    const size = fs.statSync(file).size;
    fs.truncateSync(file, Math.floor(size / 2));

    const lines: string[] = [];
    const second = await startLogged(dataDir, lines);
    const rebuilt = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.msg === 'string' && l.msg.includes('warehouse file is damaged'));
    expect(rebuilt).toMatchObject({ level: 'error', file, reason: expect.stringMatching(/cut short|Could not read enough bytes/) });
    const movedTo = (rebuilt!.movedTo as string[])[0]!;
    expect(path.basename(movedTo)).toMatch(/^warehouse\.duckdb\.damaged-/);
    expect(fs.statSync(movedTo).size).toBe(Math.floor(size / 2));

    await waitForRows(second.url, expected);
    const { status, body } = await query(second.url, 'SELECT count(*) AS n, count(DISTINCT transaction_id) AS d FROM toll_transactions');
    expect(status).toBe(200);
    expect((body as QueryAnswer).rows).toEqual([[expected, expected]]);
    // Delivery started again from the oldest record of each shard and now holds the end of each shard.
    const positions = await query(second.url, "SELECT shard_id, sequence_number FROM _delivery_positions WHERE stream = 'toll_transactions' ORDER BY shard_id");
    const ends = await query(second.url, 'SELECT shard_id, max(sequence_number) FROM toll_transactions GROUP BY shard_id ORDER BY shard_id');
    expect((positions.body as QueryAnswer).rows).toEqual((ends.body as QueryAnswer).rows);
  });

  it('finds a block failing its checksum at start, moves the file aside and rebuilds', async () => {
    const dataDir = tempDataDir('checksum');
    const records = traffic(20_000, 43);
    const expected = distinct(records).length;
    const first = await startLogged(dataDir, []);
    await send(first.url, records);
    await waitForRows(first.url, expected);
    await first.close();
    server = undefined;

    const file = path.join(dataDir, 'warehouse.duckdb');
    // Flip bytes inside a block holding plates, past the block's checksum.
    const at = await dataBlockOffset(file, 'plate');
    const fd = fs.openSync(file, 'r+');
    const bytes = Buffer.alloc(512);
    fs.readSync(fd, bytes, 0, bytes.length, at + 4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff;
    fs.writeSync(fd, bytes, 0, bytes.length, at + 4096);
    fs.closeSync(fd);

    const lines: string[] = [];
    const second = await startLogged(dataDir, lines);
    const rebuilt = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.msg === 'string' && l.msg.includes('warehouse file is damaged'));
    expect(rebuilt).toMatchObject({ level: 'error', file, reason: expect.stringMatching(/does not match stored checksum/) });
    await waitForRows(second.url, expected);
    const { body } = await query(second.url, 'SELECT count(*), count(DISTINCT transaction_id) FROM toll_transactions');
    expect((body as QueryAnswer).rows).toEqual([[expected, expected]]);
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryStream, openParquetLake, type ParquetLake } from '../../src/delivery/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';
import { appendRaw, appendTransactions, eventually, openLog, tempDir, transactions } from './helpers.ts';

const STREAM = 'toll_transactions';

/** Reads the lake back with DuckDB, as an analyst would. */
async function readLake(dir: string, sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = path.join(dir, 'toll_transactions', '*=*', '**', '*.parquet').replaceAll("'", "''");
    await conn.run(`CREATE VIEW lake AS SELECT * FROM read_parquet('${glob}', hive_partitioning = true, union_by_name = true)`);
    return (await conn.runAndReadAll(sql)).getRowsJS().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('delivery into a Parquet data lake', () => {
  let dir: string;
  let log: StreamLog;
  let lake: ParquetLake | undefined;

  beforeEach(async () => {
    dir = await tempDir('tollstream-lake-');
    log = await openLog(dir);
    await log.createStream(STREAM, { shardCount: 2 });
  });
  afterEach(async () => {
    await lake?.close();
    lake = undefined;
    await log.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function deliverAll(expected: number): Promise<void> {
    lake = await openParquetLake({ dir: path.join(dir, 'lake'), schema: TOLL_TRANSACTIONS });
    const d = new DeliveryStream({ name: 'lake', log, stream: STREAM, destination: lake, buffering: { intervalSeconds: 0.05 }, maxBatchRecords: 400 });
    await d.start();
    await eventually('the lake to hold every record', () => {
      const s = d.stats();
      return s.rowsDelivered + s.errors['format-conversion-failed'] >= expected;
    });
    await d.stop();
    await lake.close();
    lake = undefined;
  }

  it('writes partitioned files that hold every record once, across a restart', async () => {
    const txs = transactions(1500);
    await appendTransactions(log, STREAM, txs.slice(0, 1000));
    await deliverAll(1000);
    await appendTransactions(log, STREAM, txs.slice(1000));
    await deliverAll(500);

    const totals = await readLake(path.join(dir, 'lake'), 'SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents) FROM lake');
    expect(totals).toEqual([[1500, 1500, txs.reduce((s, t) => s + t.amount_cents, 0)]]);

    // Layout: plaza_id=.../dt=YYYY-MM-DD/hour=HH/<shard>-<first>-<last>.parquet, each row in its own partition.
    const t = txs[0]!;
    const partition = path.join(dir, 'lake', 'toll_transactions', `plaza_id=${t.plaza_id}`, `dt=${t.event_time.slice(0, 10)}`, `hour=${t.event_time.slice(11, 13)}`);
    const names = await fs.readdir(partition);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => /^shardId-\d+-\d+-\d+\.parquet$/.test(n))).toBe(true);
    const misplaced = await readLake(path.join(dir, 'lake'), "SELECT count(*) FROM lake WHERE dt::VARCHAR <> strftime(event_time, '%Y-%m-%d') OR hour::INTEGER <> hour(event_time)");
    expect(misplaced).toEqual([[0]]);

    // The manifests name every data file and add up to every row.
    lake = await openParquetLake({ dir: path.join(dir, 'lake'), schema: TOLL_TRANSACTIONS });
    const manifests = await lake.manifests();
    expect(manifests.flatMap((m) => m.files).reduce((n, f) => n + f.rows, 0)).toBe(1500);
    expect(manifests.map((m) => m.commit)).toEqual(manifests.map((_m, i) => i + 1));
  });

  it('deletes files of an interrupted batch on open, so a replay adds nothing twice', async () => {
    const txs = transactions(600);
    await appendTransactions(log, STREAM, txs);
    await deliverAll(600);
    // A batch cut short by a crash: its files were written but no manifest names them.
    const root = path.join(dir, 'lake', 'toll_transactions');
    const someDir = path.join(root, `plaza_id=${txs[0]!.plaza_id}`, `dt=${txs[0]!.event_time.slice(0, 10)}`, `hour=${txs[0]!.event_time.slice(11, 13)}`);
    const [existing] = await fs.readdir(someDir);
    await fs.copyFile(path.join(someDir, existing!), path.join(someDir, 'shardId-000000000000-999999999999999999999999-999999999999999999999999.parquet'));
    await fs.writeFile(path.join(root, '_manifest', '00000000000000000099.json.tmp'), '{');
    lake = await openParquetLake({ dir: path.join(dir, 'lake'), schema: TOLL_TRANSACTIONS });
    expect(await fs.readdir(someDir)).not.toContain('shardId-000000000000-999999999999999999999999-999999999999999999999999.parquet');
    expect(await fs.readdir(path.join(root, '_manifest'))).not.toContain('00000000000000000099.json.tmp');
    expect(await readLake(path.join(dir, 'lake'), 'SELECT count(*), count(DISTINCT transaction_id) FROM lake')).toEqual([[600, 600]]);
  });

  it('keeps failed records in error files listed by the manifest', async () => {
    await appendRaw(log, STREAM, ['not json', JSON.stringify(transactions(1)[0])]);
    await deliverAll(2);
    lake = await openParquetLake({ dir: path.join(dir, 'lake'), schema: TOLL_TRANSACTIONS });
    const errorFiles = (await lake.manifests()).flatMap((m) => m.files).filter((f) => f.kind === 'errors');
    expect(errorFiles.map((f) => f.rows)).toEqual([1]);
    const line = JSON.parse((await fs.readFile(path.join(dir, 'lake', 'toll_transactions', errorFiles[0]!.path), 'utf8')).trim());
    expect(line).toMatchObject({ error_type: 'format-conversion-failed', error_code: 'invalid-json', raw_data_base64: Buffer.from('not json').toString('base64') });
  });
  it('refuses a manifest with a flipped bit, naming it and deleting nothing; reads one written before checksums once', async () => {
    const txs = transactions(600);
    await appendTransactions(log, STREAM, txs);
    await deliverAll(600);
    const root = path.join(dir, 'lake', 'toll_transactions');
    const manifestDir = path.join(root, '_manifest');
    const last = path.join(manifestDir, (await fs.readdir(manifestDir)).sort().at(-1)!);
    const good = await fs.readFile(last);
    // A digit of a stored position becomes another digit: still valid JSON, a different resume point.
    const damaged = Buffer.from(good);
    const at = damaged.toString('latin1').search(/"positions": \{\s*"shardId-\d+": "\d+"/);
    const digit = damaged.indexOf('"', damaged.indexOf(': "', at + 14) + 3) - 3;
    expect(String.fromCharCode(damaged[digit]!)).toMatch(/\d/);
    damaged[digit] = damaged[digit]! ^ 0x01;
    await fs.writeFile(last, damaged);
    const filesBefore = (await fs.readdir(root, { recursive: true })).sort();
    await expect(openParquetLake({ dir: path.join(dir, 'lake'), schema: TOLL_TRANSACTIONS })).rejects.toMatchObject({ code: 'STATE_CORRUPT', context: { file: last }, message: expect.stringContaining('CRC32C mismatch') });
    expect((await fs.readdir(root, { recursive: true })).sort()).toEqual(filesBefore);

    // The layout before checksums (plain JSON) is read, and rewritten with a checksum.
    await fs.writeFile(last, good.subarray(good.indexOf(0x0a) + 1));
    lake = await openParquetLake({ dir: path.join(dir, 'lake'), schema: TOLL_TRANSACTIONS });
    expect((await lake.manifests()).flatMap((m) => m.files).reduce((n, f) => n + f.rows, 0)).toBe(600);
    expect((await fs.readFile(last, 'utf8')).startsWith('tollstream-state/1 lake-manifest v1 ')).toBe(true);
  });
});

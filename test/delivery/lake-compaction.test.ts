/**
 * Compaction of the Parquet lake: small files of a partition become one, a reader of the live file list never
 * sees a row twice or misses one (while compaction runs, and after a SIGKILL at any moment of it), and delivery
 * goes on after it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStream, openParquetLake, type ParquetLakeOptions } from '../../src/delivery/index.ts';
import { TOLL_TRANSACTIONS, type TollTransaction } from '../../src/simulator/index.ts';
import { appendTransactions, eventually, openLog, T0, tempDir, transactions } from './helpers.ts';

const STREAM = 'toll_transactions';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(ROOT, 'test/delivery/lake-compaction-child.ts');
const HOURS = 6;
const PER_HOUR = 400;
const KILLS = 6;

/** Compaction on demand only, 1 MiB files, any partition with two small files. */
const SMALL: Omit<ParquetLakeOptions, 'dir'> = { schema: TOLL_TRANSACTIONS, targetFileMiB: 1, compactionIntervalSeconds: 0, compactionMinFiles: 2, compactionQuietSeconds: 0 };

/** Totals of the files a reader outside the server finds in `_current.json`: rows, distinct ids, cents. */
async function readCurrent(lakeDir: string): Promise<{ files: string[]; totals: number[] }> {
  const table = path.join(lakeDir, STREAM);
  const current = JSON.parse(await fs.readFile(path.join(table, '_current.json'), 'utf8')) as { files: string[] };
  const list = current.files.map((f) => `'${path.join(table, f).replaceAll("'", "''")}'`).join(', ');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const rows = (await conn.runAndReadAll(`SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents) FROM read_parquet([${list}])`)).getRowsJS();
    return { files: current.files, totals: rows[0]!.map((v) => Number(v)) };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Every file under the table folder, but the manifests. */
async function filesOnDisk(lakeDir: string): Promise<string[]> {
  const table = path.join(lakeDir, STREAM);
  const all = (await fs.readdir(table, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  return all.map((e) => path.relative(table, path.join(e.parentPath, e.name))).filter((f) => !f.startsWith('_manifest')).sort();
}

describe('compaction of the Parquet lake', () => {
  let dir: string;
  let template: string;
  let txs: TollTransaction[];
  let expected: number[];

  beforeAll(async () => {
    dir = await tempDir('tollstream-lake-compaction-');
    // Tolls spread over six hours, delivered in batches of 60: many files of a few rows in each partition.
    // Each hour's tolls stay in their hour: the few the simulator sends late (an event time before the start)
    // would fall into the hour before, or the hour before the first, a partition of one small file that
    // compaction rightly leaves alone, and this test is about partitions of many.
    txs = Array.from({ length: HOURS }, (_, h) => transactions(PER_HOUR, 20 + h, T0 + h * 3_600_000).filter((t) => Date.parse(t.event_time) >= T0 + h * 3_600_000)).flat();
    expected = [txs.length, txs.length, txs.reduce((s, t) => s + t.amount_cents, 0)];
    const log = await openLog(dir);
    await log.createStream(STREAM, { shardCount: 2 });
    await appendTransactions(log, STREAM, txs);
    template = path.join(dir, 'template');
    const lake = await openParquetLake({ dir: template, ...SMALL });
    const delivery = new DeliveryStream({ name: 'lake', log, stream: STREAM, destination: lake, buffering: { intervalSeconds: 0.02 }, maxBatchRecords: 60 });
    await delivery.start();
    await eventually('every toll in the lake', () => delivery.stats().rowsDelivered >= txs.length);
    await delivery.stop();
    await lake.close();
    await log.close();
  }, 120_000);

  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('merges the small files of each partition into one, keeping every row once, and delivery goes on after it', async () => {
    const work = path.join(dir, 'merge');
    await fs.cp(template, work, { recursive: true });
    const before = await readCurrent(work);
    expect(before.totals).toEqual(expected);
    const partitions = new Set(before.files.map((f) => path.dirname(f)));
    expect(before.files.length).toBeGreaterThan(partitions.size * 4);

    const lake = await openParquetLake({ dir: work, ...SMALL, replacedGraceSeconds: 0 });
    const result = await lake.compact();
    expect(result.filesReplaced).toBe(before.files.length);
    expect(result.filesWritten).toBe(partitions.size);
    const after = await readCurrent(work);
    expect(after.totals).toEqual(expected);
    expect(after.files.map((f) => path.dirname(f)).sort()).toEqual([...partitions].sort());
    const { files } = await lake.snapshot();
    expect(files.filter((f) => f.kind === 'data').reduce((n, f) => n + f.rows, 0)).toBe(txs.length);
    // One snapshot manifest is left; the next pass deletes the replaced files (grace 0).
    expect(await fs.readdir(path.join(work, STREAM, '_manifest'))).toHaveLength(1);
    expect((await lake.compact()).filesDeleted).toBe(before.files.length);
    expect(await filesOnDisk(work)).toEqual(['_current.json', ...after.files].sort());

    // Delivery resumes from the snapshot's positions: new tolls land once, old ones are not read again.
    const more = transactions(300, 99, T0 + HOURS * 3_600_000);
    const log = await openLog(dir);
    await appendTransactions(log, STREAM, more);
    const delivery = new DeliveryStream({ name: 'lake', log, stream: STREAM, destination: lake, buffering: { intervalSeconds: 0.02 }, maxBatchRecords: 60 });
    await delivery.start();
    await eventually('the new tolls in the lake', () => delivery.stats().rowsDelivered >= more.length);
    await delivery.stop();
    await lake.close();
    await log.close();
    const total = await readCurrent(work);
    expect(total.totals).toEqual([expected[0]! + 300, expected[1]! + 300, expected[2]! + more.reduce((s, t) => s + t.amount_cents, 0)]);
  });

  it('never shows a reader of the live list a row twice or a row missing while it compacts', async () => {
    const work = path.join(dir, 'readers');
    await fs.cp(template, work, { recursive: true });
    const lake = await openParquetLake({ dir: work, ...SMALL });
    let done = false;
    const reads: number[][] = [];
    const reader = (async () => {
      while (!done) reads.push((await readCurrent(work)).totals);
    })();
    await lake.compact();
    done = true;
    await reader;
    await lake.close();
    expect(reads.length).toBeGreaterThan(0);
    for (const totals of reads) expect(totals).toEqual(expected);
    expect((await readCurrent(work)).files.every((f) => path.basename(f).startsWith('c'))).toBe(true);
  });

  it(`leaves the old files or the new ones after a SIGKILL at any moment of a compaction (${KILLS} kills)`, { timeout: 240_000 }, async () => {
    const outcomes = { old: 0, merged: 0 };
    const templateFiles = (await readCurrent(template)).files;

    /** Runs the compaction process on a copy of the template, killing it `killAfterMs` after it starts (never if undefined). */
    async function compactCopy(name: string, killAfterMs?: number): Promise<{ work: string; ms: number }> {
      const work = path.join(dir, name);
      await fs.cp(template, work, { recursive: true });
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), CHILD, work], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe('compacting');
      const started = Date.now();
      if (killAfterMs === undefined) {
        expect((await lines.next()).value).toMatch(/^compacted \d+ \d+$/);
      } else {
        await new Promise((r) => setTimeout(r, killAfterMs));
        child.kill('SIGKILL');
      }
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
      return { work, ms: Date.now() - started };
    }

    /** Opens the lake as the server would and checks it holds one state or the other, and nothing else on disk. */
    async function check(work: string): Promise<void> {
      const lake = await openParquetLake({ dir: work, ...SMALL });
      const live = (await lake.snapshot()).files.map((f) => f.path).sort();
      await lake.close();
      if (live.some((f) => path.basename(f).startsWith('c'))) {
        outcomes.merged++;
        expect(live.every((f) => path.basename(f).startsWith('c'))).toBe(true);
      } else {
        outcomes.old++;
        expect(live).toEqual([...templateFiles].sort());
      }
      expect((await readCurrent(work)).totals).toEqual(expected);
      expect(await filesOnDisk(work)).toEqual(['_current.json', ...live].sort());
    }

    // One pass to its end tells how long a pass takes here; the kills then land across it, and past its end.
    const whole = await compactCopy('kill-none');
    await check(whole.work);
    for (let kill = 0; kill < KILLS; kill++) {
      const { work } = await compactCopy(`kill-${kill}`, Math.round((whole.ms * (kill + 0.5)) / (KILLS - 1)));
      await check(work);
    }
    // Which state each kill left depends on where it landed; both are correct. Logged for the record.
    console.log(`lake compaction of ${templateFiles.length} files took ${whole.ms} ms; kills: ${outcomes.old} left the old files, ${outcomes.merged} the merged ones (one run not killed)`);
  });
});

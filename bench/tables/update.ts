/**
 * Atomic-add throughput of tables in batched transactions, as a stream function would run them: each batch
 * adds to per-customer monthly totals and moves the checkpoint in one transaction.
 *
 *   node bin/run-ts.mjs bench/tables/update.ts [--seconds 5] [--batch 500] [--customers 10000] [--synchronous full|normal]
 *     [--door sync|sqlite|postgres] [--url postgres://...]
 *
 * `--door sync` (the default) is `Tables`; `sqlite` the asynchronous door over it; `postgres` the asynchronous door
 * on PostgreSQL at `--url` (default: TOLLSTREAM_TEST_POSTGRES_URL), in a schema of its own that it drops after.
 * Bounded: stops after --seconds (max 30) or 5 million updates, whichever comes first, and removes its temp dir.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openPostgresTables, openTables, sqliteTableStore, type TableStore } from '../../src/tables/index.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '500' },
    customers: { type: 'string', default: '10000' },
    synchronous: { type: 'string', default: 'full' },
    door: { type: 'string', default: 'sync' },
    url: { type: 'string', default: process.env.TOLLSTREAM_TEST_POSTGRES_URL ?? '' },
  },
});
const seconds = Math.min(30, Number(values.seconds));
const batchSize = Number(values.batch);
const customers = Number(values.customers);
const synchronous = values.synchronous === 'normal' ? 'normal' : 'full';
const MAX_UPDATES = 5_000_000;
const door = values.door === 'sqlite' || values.door === 'postgres' ? values.door : 'sync';
if (door === 'postgres' && !values.url) throw new Error('--door postgres needs --url or TOLLSTREAM_TEST_POSTGRES_URL');
const schema = `bench_${randomBytes(6).toString('hex')}`;

const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-bench-tables-'));
const tables = openTables({ path: path.join(dir, 'tables.db'), synchronous });
let store: TableStore | undefined;
try {
  tables.createTable('monthly_spend', { sortKey: true });
  if (door === 'sqlite') store = sqliteTableStore(tables);
  if (door === 'postgres') {
    store = await openPostgresTables({ connectionString: values.url, schema });
    await store.createTable('monthly_spend', { sortKey: true });
  }
  let updates = 0;
  let batches = 0;
  let sequence = 0;
  const batchMs: number[] = [];
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline && updates < MAX_UPDATES) {
    const t0 = performance.now();
    const first = sequence;
    sequence += batchSize;
    const customerOf = (i: number) => `c-${((first + i) * 7919) % customers}`;
    const checkpoint = String(sequence).padStart(20, '0');
    if (store) {
      // Async: the batch is computed from `first`, so a transaction run again after a conflict does the same work.
      await store.transaction(async (tx) => {
        for (let i = 0; i < batchSize; i++) await tx.update('monthly_spend', { pk: customerOf(i), sk: '2026-11' }, { add: { total_cents: 125, count: 1 } });
        await tx.setCheckpoint('bench', 'toll_transactions', 'shard-0', checkpoint);
      });
    } else {
      tables.transaction((tx) => {
        for (let i = 0; i < batchSize; i++) tx.update('monthly_spend', { pk: customerOf(i), sk: '2026-11' }, { add: { total_cents: 125, count: 1 } });
        tx.setCheckpoint('bench', 'toll_transactions', 'shard-0', checkpoint);
      });
    }
    batchMs.push(performance.now() - t0);
    updates += batchSize;
    batches++;
  }
  const elapsed = (performance.now() - start) / 1000;
  // CPU time is less disturbed than wall time by other processes on a shared machine.
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  batchMs.sort((a, b) => a - b);
  const pct = (p: number) => (batchMs[Math.min(batchMs.length - 1, Math.floor(p * batchMs.length))] ?? 0).toFixed(2);
  console.log(
    JSON.stringify({
      door,
      synchronous,
      batchSize,
      customers,
      updates,
      batches,
      seconds: Number(elapsed.toFixed(2)),
      updatesPerSecond: Math.round(updates / elapsed),
      updatesPerCpuSecond: Math.round(updates / cpuSeconds),
      batchMsP50: Number(pct(0.5)),
      batchMsP99: Number(pct(0.99)),
    }),
  );
} finally {
  if (store) await store.close();
  else tables.close();
  rmSync(dir, { recursive: true, force: true });
  if (door === 'postgres') {
    const admin = new pg.Client({ connectionString: values.url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

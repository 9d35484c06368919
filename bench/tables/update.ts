/**
 * Atomic-add throughput of tables in batched transactions, as a stream function would run them: each batch
 * adds to per-customer monthly totals and moves the checkpoint in one transaction.
 *
 *   node bin/run-ts.mjs bench/tables/update.ts [--seconds 5] [--batch 500] [--customers 10000] [--synchronous full|normal]
 *
 * Bounded: stops after --seconds (max 30) or 5 million updates, whichever comes first, and removes its temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openTables } from '../../src/tables/index.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '500' },
    customers: { type: 'string', default: '10000' },
    synchronous: { type: 'string', default: 'full' },
  },
});
const seconds = Math.min(30, Number(values.seconds));
const batchSize = Number(values.batch);
const customers = Number(values.customers);
const synchronous = values.synchronous === 'normal' ? 'normal' : 'full';
const MAX_UPDATES = 5_000_000;

const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-bench-tables-'));
const tables = openTables({ path: path.join(dir, 'tables.db'), synchronous });
try {
  tables.createTable('monthly_spend', { sortKey: true });
  let updates = 0;
  let batches = 0;
  let sequence = 0;
  const batchMs: number[] = [];
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline && updates < MAX_UPDATES) {
    const t0 = performance.now();
    tables.transaction((tx) => {
      for (let i = 0; i < batchSize; i++) {
        const customer = `c-${(sequence * 7919) % customers}`;
        sequence++;
        tx.update('monthly_spend', { pk: customer, sk: '2026-11' }, { add: { total_cents: 125, count: 1 } });
      }
      tx.setCheckpoint('bench', 'toll_transactions', 'shard-0', String(sequence).padStart(20, '0'));
    });
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
  tables.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Loads batches into a DuckDB warehouse without a checkpoint, so they live only in its write-ahead log, then
 * kills itself with SIGKILL: `node bin/run-ts.mjs test/warehouse-api/wal-child.ts FILE BATCHES`.
 */
import { openDuckDBWarehouse } from '../../src/warehouse/index.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const [file, batches] = process.argv.slice(2);
const warehouse = await openDuckDBWarehouse({ path: file!, threads: 1 });
await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
const shard = 'shardId-000000000000';
for (let b = 0; b < Number(batches); b++) {
  const rows = Array.from({ length: 2000 }, (_, i) => {
    const n = b * 2000 + i;
    return {
      transaction_id: `tx-${n}`,
      customer_id: null,
      tag_id: null,
      plate: `plate-${n}`,
      plaza_id: 'P01',
      lane: 1,
      vehicle_class: 2,
      amount_cents: 100,
      currency: 'USD',
      event_time: 1_780_000_000_000 + n,
      arrival_time: 1_780_000_000_000 + n,
      shard_id: shard,
      sequence_number: String(n + 1).padStart(24, '0'),
    };
  });
  await warehouse.loadBatch({ table: 'toll_transactions', rows, source: { stream: 'toll_transactions', positions: { [shard]: String((b + 1) * 2000).padStart(24, '0') } } });
}
process.kill(process.pid, 'SIGKILL');

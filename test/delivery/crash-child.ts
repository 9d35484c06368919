/**
 * A delivery process for the crash test: delivers the log in `<dir>/log` into `<dir>/warehouse.duckdb`
 * until killed, or with `--until N` until N records are accounted for (rows plus error records).
 * Prints `ready` once delivery runs, `batch` after each delivered batch, and `done` when `--until` is reached.
 */
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import { openLog, openWarehouse } from './helpers.ts';

const [dir, flag, value] = process.argv.slice(2);
if (!dir) throw new Error('usage: crash-child.ts DIR [--until N]');
const until = flag === '--until' ? Number(value) : undefined;

const log = await openLog(dir);
const warehouse = await openWarehouse(dir);
const delivery = new DeliveryStream({
  name: 'crash',
  log,
  stream: 'toll_transactions',
  destination: warehouseDestination(warehouse, 'toll_transactions'),
  buffering: { intervalSeconds: 0.02 },
  readMaxRecords: 150,
  maxBatchRecords: 200,
});
await delivery.start();
process.stdout.write('ready\n');
let batches = 0;
const announcer = setInterval(() => {
  const now = delivery.stats().batchesDelivered;
  for (; batches < now; batches++) process.stdout.write('batch\n');
}, 5);

if (until !== undefined) {
  for (;;) {
    const result = await warehouse.query('SELECT (SELECT count(*) FROM toll_transactions) + (SELECT count(*) FROM _delivery_errors)');
    if (Number(result.rows[0]![0]) >= until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(announcer);
  await delivery.stop();
  await warehouse.close();
  await log.close();
  process.stdout.write('done\n');
}

/**
 * A process the crash test kills: it owns the log, appends the test traffic (again from the start after a
 * crash: the input stream's key dedupe drops what is already stored) and runs the query manager.
 * `node bin/run-ts.mjs test/queries/crash-child.ts DIR run|final COUNT`
 * `run` appends and then idles until killed; `final` also appends the watermark-advancing records, waits
 * until every window closed and its rows are stored, and exits 0.
 */
import { isTollstreamError } from '../../src/core/errors.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, DELAY_MS, openLog, SPEND_SQL, traffic, waitFor } from './support.ts';

const [dir, mode, countText] = process.argv.slice(2);
const records = traffic(Number(countText), 21);
const log = await openLog(dir!);
await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } }).catch((err: unknown) => {
  if (!isTollstreamError(err, 'STREAM_EXISTS')) throw err;
});
const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 100 });
await manager.start();
if (manager.listQueries().length === 0) await manager.createQuery({ name: 'spend', sql: SPEND_SQL });
process.stdout.write('ready\n');
for (let i = 0; i < records.length; i += 50) {
  await appendTolls(log, 'toll_transactions', records.slice(i, i + 50));
  await new Promise((r) => setTimeout(r, 10));
}
if (mode === 'final') {
  const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
  await appendFlush(log, 'toll_transactions', last);
  await waitFor(() => manager.watermarkOf('spend') >= last + 60_000 - DELAY_MS, 'the last window to close', 60_000);
  await manager.checkpointNow('spend');
  await manager.close();
  await log.close();
  process.stdout.write('done\n');
} else {
  process.stdout.write('appended\n');
  await new Promise(() => setInterval(() => {}, 1000));
}

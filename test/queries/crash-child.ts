/**
 * A process the crash test kills: it owns the log, appends the test traffic (again from the start after a
 * crash: the input stream's key dedupe drops what is already stored) and runs the query manager.
 * `node bin/run-ts.mjs test/queries/crash-child.ts DIR run|final COUNT THREADS` (THREADS: query threads, 0 for the main thread)
 * `run` appends and then idles until killed; `final` also appends the watermark-advancing records, waits
 * until every window closed and its rows are stored, and exits 0.
 */
import { isTollstreamError } from '../../src/core/errors.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, DELAY_MS, openLog, RECENT_SPEND_SQL, SPEND_SQL, traffic, waitFor } from './support.ts';

const [dir, mode, countText, threadsText] = process.argv.slice(2);
const records = traffic(Number(countText), 21);
const log = await openLog(dir!);
await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } }).catch((err: unknown) => {
  if (!isTollstreamError(err, 'STREAM_EXISTS')) throw err;
});
// Checkpoints far enough apart that a kill often lands after rows were written but before they were checkpointed.
const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 300, threads: Number(threadsText ?? 1) });
await manager.start();
if (manager.listQueries().length === 0) {
  await manager.createQuery({ name: 'spend', sql: SPEND_SQL });
  await manager.createQuery({ name: 'recent', sql: RECENT_SPEND_SQL });
}
process.stdout.write('ready\n');
// Rows re-emitted after a restart and dropped by the output stream's key dedupe (reported as they happen: this process may be killed).
let dropped = 0;
setInterval(() => {
  const now = log.stats().shards.filter((s) => s.stream === 'customer_spend').reduce((n, s) => n + s.duplicatesDropped, 0);
  if (now !== dropped) process.stdout.write(`dropped ${(dropped = now)}\n`);
}, 20).unref();
// Continue a little before what is stored (a killed append may have reached one shard only); dedupe drops the overlap.
const stored = (await log.describeStream('toll_transactions')).shards.length > 0 ? await countRecords() : 0;
for (let i = Math.max(0, stored - 100); i < records.length; i += 50) {
  await appendTolls(log, 'toll_transactions', records.slice(i, i + 50));
  await new Promise((r) => setTimeout(r, 20));
}

async function countRecords(): Promise<number> {
  let n = 0;
  for (const shard of (await log.describeStream('toll_transactions')).shards) {
    let from: Parameters<typeof log.read>[2] = { type: 'TRIM_HORIZON' };
    for (;;) {
      const r = await log.read('toll_transactions', shard.shardId, from, { maxRecords: 10_000 });
      n += r.records.length;
      if (r.records.length === 0 || r.next === null) break;
      from = r.next;
    }
  }
  return n;
}
if (mode === 'final') {
  const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
  await appendFlush(log, 'toll_transactions', last);
  await waitFor(() => manager.watermarkOf('spend') >= last + 60_000 - DELAY_MS, 'the last window to close', 60_000);
  await waitFor(() => manager.watermarkOf('recent') >= last + 60_000 - DELAY_MS, 'every toll of the OVER window emitted', 60_000);
  await manager.checkpointNow('spend');
  await manager.checkpointNow('recent');
  await manager.close();
  await log.close();
  process.stdout.write('done\n');
} else {
  process.stdout.write('appended\n');
  await new Promise(() => setInterval(() => {}, 1000));
}

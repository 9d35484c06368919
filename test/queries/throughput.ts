/**
 * Throughput of a live windowed query, from the log through the query to the output stream:
 * `node bin/run-ts.mjs test/queries/throughput.ts [RECORDS] [--live]`.
 * Default: RECORDS input records are in the log before the query starts (a backlog), and the clock runs
 * until every record is taken in and the last window's rows are durable in the output stream.
 * `--live`: the records are appended while the query runs (one appender, 500-record batches, in event-time order), and the
 * clock covers appends and query together. Bounded: it stops by itself.
 */
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, DELAY_MS, openLog, readAll, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const count = Number(process.argv[2] ?? 200_000);
const live = process.argv.includes('--live');
const { dir, cleanup } = await tempDir('queries-bench-');
const log = await openLog(dir);
try {
  await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
  const records = traffic(count, 99);
  const last = records.reduce((m, r) => Math.max(m, Date.parse(String(r.event_time))), 0);
  if (!live) {
    await appendTolls(log, 'toll_transactions', records, 500);
    await appendFlush(log, 'toll_transactions', last);
  }
  const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 1000 });
  await manager.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await manager.createQuery({ name: 'spend', sql: SPEND_SQL });
  if (live) {
    await appendTolls(log, 'toll_transactions', records, 500);
    await appendFlush(log, 'toll_transactions', last);
  }
  await waitFor(() => manager.watermarkOf('spend') >= last + 60_000 - DELAY_MS, 'the last window', 600_000);
  await manager.checkpointNow('spend');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const info = manager.info('spend');
  const out = (await readAll(log, 'customer_spend')).length;
  await manager.close();
  console.log(JSON.stringify({
    mode: live ? 'live appends' : 'backlog', records: count, seconds: Number(seconds.toFixed(2)),
    recordsPerSecond: Math.round(count / seconds), outputRows: out, lateRows: info.stats.lateRows,
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)), checkpoint: info.stats.lastCheckpoint,
  }));
} finally {
  await log.close();
  await cleanup();
}

/**
 * Throughput of a live windowed query, from the log through the query to the output stream:
 * `node bin/run-ts.mjs test/queries/throughput.ts [RECORDS] [--live] [--threads LIST]`.
 * Default: RECORDS input records are in the log before the query starts (a backlog), and the clock runs
 * until every record is taken in and the last window's rows are durable in the output stream.
 * `--live`: the records are appended while the query runs (one appender, 500-record batches, in event-time order), and the
 * clock covers appends and query together. Bounded: it stops by itself.
 * `--threads LIST`: the query manager's `threads` for each run, one run after the other in this process (default
 * `1,0`: operators on a query thread, then on the main thread), with the ratio of the first to the last.
 */
import { threadCpuSeconds } from '../../bench/lib/cpu-usage.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, DELAY_MS, openLog, readAll, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const args = process.argv.slice(2);
const threadsAt = args.indexOf('--threads');
const threadList = (threadsAt >= 0 ? args[threadsAt + 1]! : '1,0').split(',').map(Number);
const count = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--threads') ?? 200_000);
const live = args.includes('--live');
const records = traffic(count, 99);
const last = records.reduce((m, r) => Math.max(m, Date.parse(String(r.event_time))), 0);

async function measure(threads: number) {
  const { dir, cleanup } = await tempDir('queries-bench-');
  const log = await openLog(dir);
  try {
    await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
    if (!live) {
      await appendTolls(log, 'toll_transactions', records, 500);
      await appendFlush(log, 'toll_transactions', last);
    }
    const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 1000, threads });
    await manager.start();
    // A thread boots (and, from the sources, compiles the SQL engine) once for the process: a query on an empty
    // stream starts it, and its CPU is reported apart.
    const boot0 = process.cpuUsage();
    if (threads > 0) {
      await log.createStream('warm_up', { shardCount: 1 });
      await manager.createQuery({ name: 'warm-up', sql: SPEND_SQL.replace("'stream' = 'toll_transactions'", "'stream' = 'warm_up'").replace("'stream' = 'customer_spend'", "'stream' = 'warm_up_spend'") });
      await manager.dropQuery('warm-up');
    }
    const boot = process.cpuUsage(boot0);
    const cpu0 = process.cpuUsage();
    const main0 = threadCpuSeconds(process.pid, process.pid);
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
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const mainSeconds = threadCpuSeconds(process.pid, process.pid) - main0;
    const info = manager.info('spend');
    const out = (await readAll(log, 'customer_spend')).length;
    await manager.close();
    return {
      mode: live ? 'live appends' : 'backlog', threads, records: count, seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(count / seconds), outputRows: out, lateRows: info.stats.lateRows,
      cpuSeconds: Number(cpuSeconds.toFixed(2)), cpuUsPerRecord: Number(((cpuSeconds * 1e6) / count).toFixed(2)),
      mainThreadCpuSeconds: Number(mainSeconds.toFixed(2)), mainThreadShare: Number((mainSeconds / cpuSeconds).toFixed(2)),
      checkpoint: info.stats.lastCheckpoint, threadBootCpuSeconds: Number(((boot.user + boot.system) / 1e6).toFixed(2)),
    };
  } finally {
    await log.close();
    await cleanup();
  }
}

const results = [];
for (const threads of threadList) {
  const r = await measure(threads);
  console.log(JSON.stringify(r));
  results.push(r);
}
if (results.length > 1) {
  const [a, b] = [results[0]!, results.at(-1)!];
  console.log(JSON.stringify({
    ratio: `threads ${a.threads} / threads ${b.threads}`,
    recordsPerSecond: Number((a.recordsPerSecond / b.recordsPerSecond).toFixed(2)),
    cpuUsPerRecord: Number((a.cpuUsPerRecord / b.cpuUsPerRecord).toFixed(2)),
    mainThreadCpuSeconds: Number((a.mainThreadCpuSeconds / b.mainThreadCpuSeconds).toFixed(2)),
  }));
}

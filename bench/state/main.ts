/**
 * `npm run bench:state`: how the system scales with the state it keeps. For each customer count: a fresh data
 * directory seeded with that many customers (thresholds and month-to-date totals), `tollstream up` on it
 * (default pipeline), start-up time and idle RSS, paced traffic over every customer through the Kinesis API,
 * RSS and the drain until caught up, then a SIGKILL of the server during traffic and the time until it is
 * ready and caught up again, every acknowledged toll checked in the warehouse and the totals, and the bytes
 * on disk of the log, the warehouse and the tables. A baseline run with ~0 customers gives the memory a
 * customer of state adds.
 *
 * Flags: --customers LIST (100000,1000000,10000000), --rate N (tolls/s; 3000), --seconds N (traffic; 30),
 * --budget S (longest run of one size, seeding included; 360), --quick (100000 only, 10 s of traffic).
 * Loopback only; every process it starts is stopped at the end. See docs/benchmarks.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from '../lib/machine.ts';
import { REPO_ROOT } from '../../bin/processes.ts';
import { formatCount, formatTable } from '../lib/stats.ts';
import { describeRestart, runSize, type Lags, type SizeResult, type SizeSettings } from './size.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    customers: { type: 'string' },
    rate: { type: 'string', default: '3000' },
    seconds: { type: 'string' },
    budget: { type: 'string', default: '360' },
    quick: { type: 'boolean', default: false },
  },
});

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

const quick = flags.quick;
const sizes = (flags.customers ?? (quick ? '100000' : '100000,1000000,10000000')).split(',').map((c) => Math.min(100_000_000, positiveInt(c.trim(), '--customers')));
const rate = Math.min(50_000, positiveInt(flags.rate, '--rate'));
const trafficSeconds = Math.min(600, positiveInt(flags.seconds ?? (quick ? '10' : '30'), '--seconds'));
const budgetSeconds = Math.min(3600, positiveInt(flags.budget, '--budget'));
/** Customers of the baseline run: state close to none, against which each size's memory is compared. */
const BASELINE_CUSTOMERS = 1000;
const killAfterSeconds = Math.max(3, Math.round(trafficSeconds / 3));
const drainSeconds = quick ? 30 : 60;
/** What a size needs after seeding: two start-ups, the traffic, the kill phase, drains and checks (measured here: ~45 s besides the traffic). */
const reserveSeconds = 2 * trafficSeconds + 45;

const log = (line: string) => process.stderr.write(`[bench:state] ${line}\n`);
const machine = describeMachine();
const month = new Date().toISOString().slice(0, 7);
const settings = {
  quick,
  customers: sizes,
  baselineCustomers: BASELINE_CUSTOMERS,
  rate,
  trafficSeconds,
  killAfterSeconds,
  drainSeconds,
  budgetSeconds,
  reserveSeconds,
  producers: 4,
  batchSize: 500,
  concurrency: 8,
  pipeline: 'tollstream up defaults (fsync always, spend alerts through the SQL path, warehouse delivery into DuckDB)',
};
log(`${machine.cpuCount} x ${machine.cpuModel}, load average ${machine.loadAverage.join(' ')}`);
log(JSON.stringify(settings));

const workDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-state-'));
const results: SizeResult[] = [];
let baseline: SizeResult | undefined;
try {
  const common = (customers: number, kill: boolean): SizeSettings => ({
    customers,
    rate,
    trafficMs: trafficSeconds * 1000,
    killAfterMs: killAfterSeconds * 1000,
    budgetMs: budgetSeconds * 1000,
    reserveMs: reserveSeconds * 1000,
    drainMs: drainSeconds * 1000,
    kill,
    producers: settings.producers,
    batchSize: settings.batchSize,
    concurrency: settings.concurrency,
    month,
    workDir,
    log,
  });
  log(`baseline: ${BASELINE_CUSTOMERS.toLocaleString('en-US')} customers (memory only, no kill)`);
  baseline = await runSize(common(BASELINE_CUSTOMERS, false));
  await rm(path.join(workDir, `customers-${BASELINE_CUSTOMERS}`), { recursive: true, force: true });
  for (const customers of sizes) {
    log(`${customers.toLocaleString('en-US')} customers (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    const result = await runSize(common(customers, true));
    results.push(result);
    log(`  ${result.status} in ${result.seconds} s`);
    // A size's data directory can be gigabytes: gone before the next one is seeded.
    await rm(path.join(workDir, `customers-${customers}`), { recursive: true, force: true });
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}

/** The figures of one size, derived from its measurements (and the baseline's, for memory). */
function figures(r: SizeResult) {
  const tolls = r.check?.acknowledged ?? 0;
  const perMillion = (end: number | undefined, start: number | undefined) => (end === undefined || start === undefined || tolls === 0 ? Number.NaN : ((end - start) / tolls) * 1e6);
  const perCustomer = (at: number | undefined, base: number | undefined) => (at === undefined || base === undefined ? Number.NaN : (at - base) / r.customers);
  return {
    idleRssBytesPerCustomer: perCustomer(r.startup?.idleRssBytes, baseline?.startup?.idleRssBytes),
    afterTrafficRssBytesPerCustomer: perCustomer(r.traffic?.rssAfterDrainBytes, baseline?.traffic?.rssAfterDrainBytes),
    logBytesPerMillionTolls: perMillion(r.disk?.end.log.size, r.disk?.started.log.size),
    /** The stream the tolls are ingested into, alone; the rest of the log is the pipeline's derived streams. */
    ingestStreamBytesPerMillionTolls: perMillion(r.disk?.end.streams['toll_transactions']?.size, r.disk?.started.streams['toll_transactions']?.size ?? 0),
    warehouseBytesPerMillionTolls: perMillion(r.disk?.end.warehouse.size, r.disk?.started.warehouse.size),
    tablesBytesPerCustomer: r.disk ? r.disk.seeded.tables.size / r.customers : Number.NaN,
  };
}

console.log('');
for (const r of [...(baseline ? [baseline] : []), ...results]) {
  const label = r === baseline ? `baseline (${formatCount(r.customers)} customers)` : `${formatCount(r.customers)} customers`;
  console.log(`${label}: ${r.status}${r.reason ? ` (${r.reason.split('\n')[0]})` : ''}; seeding ${r.seed.seconds} s (${formatCount(r.seed.customersPerSecond)} customers/s), whole size ${r.seconds} s`);
  if (r.status === 'not run') continue;
  const f = figures(r);
  const rows: string[][] = [];
  if (r.startup) rows.push(['start-up to /health', `${formatCount(r.startup.readyMs)} ms`], ['idle RSS', `${mib(r.startup.idleRssBytes)} MiB`]);
  if (r.traffic) {
    rows.push(
      ['traffic', `${formatCount(r.traffic.acknowledged)} tolls acknowledged, ${formatCount(r.traffic.achievedRate)}/s, server ${r.traffic.serverCores.toFixed(2)} cores`],
      ['RSS end of traffic / after drain / peak', `${mib(r.traffic.rssAtEndBytes)} / ${mib(r.traffic.rssAfterDrainBytes)} / ${mib(r.traffic.rssPeakBytes)} MiB`],
      ['lags when the traffic stopped', lags(r.traffic.lagsAtEndMs)],
      ['all tolls in warehouse and totals', r.traffic.catchUpSeconds === null ? 'NOT within the drain' : `${r.traffic.catchUpSeconds} s after the traffic`],
    );
  }
  if (r !== baseline && baseline?.startup) {
    rows.push(['memory per customer, idle / after traffic', `${bytes(f.idleRssBytesPerCustomer)} / ${bytes(f.afterTrafficRssBytesPerCustomer)} (RSS minus the baseline's, over N)`]);
  }
  if (r.recovery) {
    rows.push(
      ['kill -9 after', `${r.recovery.killedAfterMs / 1000} s of traffic (${formatCount(r.recovery.acknowledgedAtKill)} tolls acknowledged by then)`],
      ['restart to /health', `${formatCount(r.recovery.readyMs)} ms (${describeRestart(r.recovery.steps)})`],
      ['restart to caught up', `${r.recovery.caughtUpMs === null ? 'NOT within the drain' : `${formatCount(r.recovery.caughtUpMs)} ms`} (${lags(r.recovery.lagsMs)})`],
      ['producer batches retried', formatCount(r.recovery.producerRetries)],
      ['RSS after the recovery', `${mib(r.recovery.rssAfterBytes)} MiB`],
    );
  }
  if (r.check) {
    const w = r.check.warehouse;
    const t = r.check.totals;
    rows.push(
      ['acknowledged tolls (unique)', formatCount(r.check.acknowledged)],
      ['warehouse rows (distinct ids)', `${formatCount(w.rows)} (${formatCount(w.distinctTransactions)})${w.rows === r.check.acknowledged && w.distinctTransactions === w.rows ? ' ok' : ' MISMATCH'}`],
      ['counted in totals', `${formatCount(t.counted)} over ${formatCount(t.customers)} customers${t.counted === r.check.acknowledged && t.customersDiffering === 0 ? ' ok' : ` MISMATCH (${t.customersDiffering} customers differ)`}`],
    );
  }
  if (r.disk) {
    const d = r.disk;
    rows.push(
      ['tables database seeded', `${mib(d.seeded.tables.size)} MiB, ${formatCount(f.tablesBytesPerCustomer)} B per customer`],
      ['log at start / end', `${mib(d.started.log.size)} / ${mib(d.end.log.size)} MiB: ${mib(f.logBytesPerMillionTolls)} MiB per million tolls (toll_transactions alone ${mib(f.ingestStreamBytesPerMillionTolls)})`],
      ['warehouse at start / end', `${mib(d.started.warehouse.size)} / ${mib(d.end.warehouse.size)} MiB: ${mib(f.warehouseBytesPerMillionTolls)} MiB per million tolls`],
    );
  }
  if (r.stopSeconds !== undefined) rows.push(['graceful stop', `${r.stopSeconds} s`]);
  console.log(formatTable(['figure', 'value'], rows));
  if (r.disk) {
    const streams = Object.entries(r.disk.end.streams).filter(([, b]) => b.size >= 1024 * 1024);
    console.log(`log by stream at the end (MiB, streams of 1 MiB or more): ${streams.map(([name, b]) => `${name} ${mib(b.size)}`).join(', ')}`);
  }
  console.log('');
}

const ran = results.filter((r) => r.status === 'ran');
if (ran.length > 0) {
  console.log('summary:');
  console.log(formatTable(
    ['customers', 'seed s', 'start-up ms', 'idle RSS MiB', 'B/customer idle', 'B/customer traffic', 'restart ms', 'caught up ms', 'log MiB/M tolls (ingest stream)', 'warehouse MiB/M tolls', 'tables B/customer', 'checks'],
    results.map((r) => {
      if (r.status !== 'ran') return [formatCount(r.customers), String(r.seed.seconds), r.status.toUpperCase(), '', '', '', '', '', '', '', '', ''];
      const f = figures(r);
      const ok = r.check && r.check.warehouse.rows === r.check.acknowledged && r.check.totals.counted === r.check.acknowledged && r.check.totals.customersDiffering === 0;
      return [
        formatCount(r.customers),
        String(r.seed.seconds),
        formatCount(r.startup?.readyMs ?? Number.NaN),
        String(mib(r.startup?.idleRssBytes ?? Number.NaN)),
        num(f.idleRssBytesPerCustomer),
        num(f.afterTrafficRssBytesPerCustomer),
        formatCount(r.recovery?.readyMs ?? Number.NaN),
        r.recovery?.caughtUpMs == null ? 'never' : formatCount(r.recovery.caughtUpMs),
        `${num(f.logBytesPerMillionTolls / 1024 / 1024)} (${num(f.ingestStreamBytesPerMillionTolls / 1024 / 1024)})`,
        num(f.warehouseBytesPerMillionTolls / 1024 / 1024, 1),
        num(f.tablesBytesPerCustomer),
        ok ? 'ok' : 'MISMATCH',
      ];
    }),
  ));
}
for (const r of results) if (r.status !== 'ran') console.log(`${formatCount(r.customers)} customers ${r.status}: ${r.reason?.split('\n')[0]}`);

const resultsDir = path.join(REPO_ROOT, 'bench/results');
await mkdir(resultsDir, { recursive: true });
const file = path.join(resultsDir, `state-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify({
  benchmark: 'state',
  date: new Date().toISOString(),
  machine,
  loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
  settings,
  baseline: baseline ?? null,
  sizes: results.map((r) => ({ ...r, figures: figures(r) })),
}, null, 2) + '\n');
log(`results written to ${path.relative(process.cwd(), file)}`);
if (!baseline || baseline.status === 'failed' || results.some((r) => r.status === 'failed')) process.exitCode = 1;

function lags(l: Lags): string {
  const v = (x: number | null) => (x === null ? 'n/a' : x.toLocaleString('en-US'));
  return `function age ${v(l.functionAge)} ms, delivery behind ${v(l.deliveryBehind)} ms, query lag ${v(l.query)} ms`;
}

function mib(b: number): string {
  return Number.isFinite(b) ? (b / 1024 / 1024).toFixed(b < 10 * 1024 * 1024 ? 1 : 0) : 'n/a';
}

function bytes(b: number): string {
  return Number.isFinite(b) ? `${Math.round(b).toLocaleString('en-US')} B` : 'n/a';
}

function num(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return 'n/a';
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

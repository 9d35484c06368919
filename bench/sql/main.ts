/**
 * `npm run bench:sql`: Nexmark-style throughput of the streaming SQL engine (runQuery over bounded inputs),
 * each query checked against DuckDB computing the same result in batch over the same events.
 *
 * Flags: --quick (200,000 events), --events N (default 1,000,000), --seed N, --rate EVENTS_PER_S (event
 * time), --only q1,q5, --no-ndjson (skip the NDJSON-file run), --cpu-prof (profile each measured run).
 * See docs/benchmarks.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { runQuery, type QueryInput } from '../../src/sql/index.ts';
import { summarizeCpuProfile, type ProfileSummary } from '../lib/cpu-profile.ts';
import { describeMachine } from '../lib/machine.ts';
import { REPO_ROOT } from '../../bin/processes.ts';
import { formatCount, round } from '../lib/stats.ts';
import { checkAgainst, sinkFor, type Sink } from './check.ts';
import { openReference } from './duckdb-reference.ts';
import { generateNexmark, inBatches, type NexmarkEvents } from './nexmark.ts';
import { QUERIES, type BenchQuery, type InputName } from './queries.ts';
import { formatReport, type QueryResult, type RunFigures } from './report.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    seed: { type: 'string', default: '20261126' },
    rate: { type: 'string', default: '10000' },
    only: { type: 'string' },
    'no-ndjson': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

const eventCount = positiveInt(flags.events ?? (flags.quick ? '200000' : '1000000'), '--events');
const seed = positiveInt(flags.seed, '--seed');
const rate = positiveInt(flags.rate, '--rate');
const only = flags.only?.split(',').map((s) => s.trim());
for (const name of only ?? []) if (!QUERIES.some((q) => q.name === name)) throw new Error(`unknown query '${name}'; queries are ${QUERIES.map((q) => q.name).join(', ')}`);
const queries = QUERIES.filter((q) => !only || only.includes(q.name));
const BATCH = 1000;

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

const log = (line: string) => process.stderr.write(`[bench:sql] ${line}\n`);

// A full collection between runs, so one query's garbage does not land on the next one's figures.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** The event-time cut of a query with `maxEvents` (events at or after it are left out), or null. */
function timeCut(q: BenchQuery, events: NexmarkEvents): number | null {
  if (q.maxEvents === undefined || q.maxEvents >= eventCount) return null;
  return events.firstTime + Math.ceil((q.maxEvents * 1000) / rate);
}

/** The reference SQL over the same cut of the events as our run. */
function referenceSql(q: BenchQuery, events: NexmarkEvents): string {
  const cut = timeCut(q, events);
  if (cut === null) return q.reference;
  return q.reference.replace(/\bFROM (bid|auction|person)\b/g, (_, table: string) => `FROM (SELECT * FROM ${table} WHERE dateTime < ${cut})`);
}

function inputsFor(q: BenchQuery, events: NexmarkEvents, limit = Infinity): { inputs: Record<string, QueryInput>; rowsIn: number } {
  const cut = timeCut(q, events);
  const lists: Record<InputName, readonly { dateTime: number }[]> = { bid: events.bids, auction: events.auctions, person: events.persons };
  const inputs: Record<string, QueryInput> = {};
  let rowsIn = 0;
  for (const name of q.inputs) {
    const all = cut === null ? lists[name] : lists[name].filter((e) => e.dateTime < cut);
    const rows = limit === Infinity ? all : all.slice(0, limit);
    inputs[name] = inBatches(rows as readonly Record<string, unknown>[], BATCH);
    rowsIn += rows.length;
  }
  return { inputs, rowsIn };
}

/** Runs the query once, measuring wall time, process CPU time (all threads, GC included) and peak memory. */
async function measure(q: BenchQuery, inputs: Record<string, QueryInput>, rowsIn: number, sink: Sink, profile: boolean): Promise<RunFigures & { profile?: ProfileSummary }> {
  collectGarbage();
  let peakRss = process.memoryUsage.rss();
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  const sampler = setInterval(sample, 25);
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await runQuery({ sql: q.sql, inputs, collect: false, onRow: sink.onRow });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const toUs = Number(process.hrtime.bigint() / 1000n);
  let summary: ProfileSummary | undefined;
  if (session) {
    const { profile: p } = await session.post('Profiler.stop');
    session.disconnect();
    const file = path.join(os.tmpdir(), `bench-sql-${q.name}-${process.pid}.cpuprofile`);
    await writeFile(file, JSON.stringify(p));
    // Only the run itself: stopping the profiler (serializing it through the inspector) is not the query's cost.
    summary = summarizeCpuProfile(file, { top: 15, repoRoot: REPO_ROOT, windows: [{ fromUs, toUs }] });
    log(`${q.name}: CPU profile kept at ${file}`);
  }
  clearInterval(sampler);
  sample();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const errorRows = result.metrics.rowsOut.error_stream ?? 0;
  return {
    rowsIn,
    rowsOut: result.metrics.rowsOut.result ?? 0,
    wallMs,
    cpuMs,
    eventsPerSecond: rowsIn / (wallMs / 1000),
    eventsPerCpuSecond: rowsIn / (cpuMs / 1000),
    peakRssBytes: peakRss,
    peakHeapUsedBytes: peakHeap,
    errorRows,
    ...(summary ? { profile: summary } : {}),
  };
}

/** The same bids as an NDJSON file (times as ISO text, as a producer would write them), through q1. */
async function measureNdjson(events: NexmarkEvents, q: BenchQuery): Promise<RunFigures & { fileBytes: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-sql-'));
  try {
    const file = path.join(dir, 'bid.ndjson');
    const out = createWriteStream(file);
    let bytes = 0;
    for (let i = 0; i < events.bids.length; i += BATCH) {
      const chunk = events.bids.slice(i, i + BATCH).map((b) => JSON.stringify({ ...b, dateTime: new Date(b.dateTime).toISOString() })).join('\n') + '\n';
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const figures = await measure(q, { bid: file }, events.bids.length, sinkFor(q), false);
    return { ...figures, fileBytes: bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const startedAt = new Date();
  log(`${machine.cpuCount} x ${machine.cpuModel}, node ${machine.nodeVersion}, load average ${machine.loadAverage.join(' ')}`);
  const g0 = performance.now();
  const events = generateNexmark({ events: eventCount, seed, eventsPerSecond: rate });
  const generateMs = performance.now() - g0;
  log(
    `generated ${formatCount(eventCount)} events (seed ${seed}, ${rate}/s of event time, ${round((events.lastTime - events.firstTime) / 1000, 1)} s): ` +
      `${formatCount(events.persons.length)} persons, ${formatCount(events.auctions.length)} auctions, ${formatCount(events.bids.length)} bids in ${Math.round(generateMs)} ms`,
  );
  collectGarbage();
  const baseline = { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed };

  const reference = await openReference();
  const results: QueryResult[] = [];
  let ndjson: (RunFigures & { fileBytes: number; query: string }) | null = null;
  let duckdbLoadMs = 0;
  try {
    duckdbLoadMs = await reference.load(events);
    log(`DuckDB: loaded the events through the Appender in ${Math.round(duckdbLoadMs)} ms`);
    for (const q of queries) {
      // Warm-up on the first 5% of the events, so the measured run is not the JIT's first sight of the code.
      const warm = inputsFor(q, events, Math.max(10_000, Math.floor(Math.min(eventCount, q.maxEvents ?? Infinity) / 20)));
      await runQuery({ sql: q.sql, inputs: warm.inputs, collect: false });
      const { inputs, rowsIn } = inputsFor(q, events);
      const sink = sinkFor(q);
      const figures = await measure(q, inputs, rowsIn, sink, flags['cpu-prof']);
      const { check, ms, rows } = await checkAgainst(q, referenceSql(q, events), sink, reference, figures.errorRows);
      const verdict = q.targetPerCore === null ? 'n/a' : figures.eventsPerCpuSecond >= q.targetPerCore ? 'PASS' : 'MISS';
      results.push({ name: q.name, title: q.title, deviation: q.deviation, targetPerCore: q.targetPerCore, flinkPerCore: q.flinkPerCore, verdict, duckdbMs: ms, duckdbRows: rows, check, ...figures });
      log(
        `${q.name}: ${formatCount(figures.rowsIn)} rows in ${Math.round(figures.wallMs)} ms wall / ${Math.round(figures.cpuMs)} ms CPU, ` +
          `${formatCount(figures.rowsOut)} out; DuckDB ${Math.round(ms)} ms; ${check.ok ? 'match' : 'MISMATCH: ' + check.detail}`,
      );
    }
    const ndjsonQuery = QUERIES.find((q) => q.name === 'q1')!;
    if (!flags['no-ndjson'] && (!only || only.includes('q1'))) {
      ndjson = { ...(await measureNdjson(events, ndjsonQuery)), query: ndjsonQuery.name };
      log(`q1 from NDJSON: ${Math.round(ndjson.wallMs)} ms wall / ${Math.round(ndjson.cpuMs)} ms CPU`);
    }
  } finally {
    reference.close();
  }

  const cutNotes = queries
    .filter((q) => timeCut(q, events) !== null)
    .map((q) => `${q.name} ran over the first ${formatCount(q.maxEvents!)} events only: too slow for the full count within the benchmark's time.`);
  process.stdout.write(formatReport({ eventCount, seed, batch: BATCH, machine, baseline, duckdbLoadMs, results, ndjson, notes: cutNotes }));

  const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `sql-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const failed = results.filter((r) => !r.check.ok);
  await writeFile(
    file,
    JSON.stringify(
      {
        benchmark: 'sql-nexmark',
        date: startedAt.toISOString(),
        machine,
        config: { events: eventCount, seed, eventsPerSecond: rate, batch: BATCH, quick: flags.quick, generateMs: Math.round(generateMs) },
        baseline,
        duckdbLoadMs: Math.round(duckdbLoadMs),
        queries: results,
        ndjson,
        failedChecks: failed.map((r) => r.name),
      },
      null,
      2,
    ) + '\n',
  );
  log(`results written to ${path.relative(REPO_ROOT, file)}`);
  if (failed.length) {
    log(`FAILED: results differ from DuckDB for ${failed.map((r) => r.name).join(', ')}`);
    process.exitCode = 1;
  }
}

await main();

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
import { REPO_ROOT } from '../lib/processes.ts';
import { formatCount, formatTable, round } from '../lib/stats.ts';
import { openReference, type Reference } from './duckdb-reference.ts';
import { generateNexmark, inBatches, type NexmarkEvents } from './nexmark.ts';
import { QUERIES, type BenchQuery, type InputName } from './queries.ts';

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

interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

interface RunFigures {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly eventsPerSecond: number;
  readonly eventsPerCpuSecond: number;
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly errorRows: number;
}

interface QueryResult extends RunFigures {
  readonly name: string;
  readonly title: string;
  readonly deviation: string;
  readonly targetPerCore: number | null;
  readonly flinkPerCore: number | null;
  readonly verdict: 'PASS' | 'MISS' | 'n/a';
  readonly duckdbMs: number;
  readonly duckdbRows: number;
  readonly check: CheckResult;
  readonly profile?: ProfileSummary;
}

/** Our output row, reduced to what the check compares. */
type Sink = { onRow: (stream: string, row: Record<string, unknown>) => void; keys: string[]; n: number; sums: Map<string, number> };

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;
const normalize = (v: unknown) => (typeof v === 'string' && ISO.test(v) ? Date.parse(v) : v);
const rowKey = (row: Record<string, unknown>, columns: readonly string[]) => JSON.stringify(columns.map((c) => normalize(row[c])));

function sinkFor(q: BenchQuery): Sink {
  const sink: Sink = { keys: [], n: 0, sums: new Map(), onRow: () => {} };
  const check = q.check;
  if (check.kind === 'rows') {
    sink.onRow = (stream, row) => {
      if (stream === 'result') sink.keys.push(rowKey(row, check.columns));
    };
  } else {
    const sums = check.sums.map(() => 0);
    sink.onRow = (stream, row) => {
      if (stream !== 'result') return;
      sink.n++;
      for (let i = 0; i < sums.length; i++) sums[i]! += row[check.sums[i]!] as number;
      check.sums.forEach((s, i) => sink.sums.set(s, sums[i]!));
    };
  }
  return sink;
}

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

async function checkAgainst(q: BenchQuery, sql: string, sink: Sink, reference: Reference, errorRows: number): Promise<{ check: CheckResult; ms: number; rows: number }> {
  const { rows, ms } = await reference.query(sql);
  const problems: string[] = [];
  if (errorRows > 0) problems.push(`${errorRows} error-stream rows`);
  if (q.check.kind === 'totals') {
    const expected = rows[0] ?? {};
    if (Number(expected.n) !== sink.n) problems.push(`count ${sink.n} vs DuckDB ${String(expected.n)}`);
    for (const s of q.check.sums) {
      const ours = sink.sums.get(s) ?? 0;
      const theirs = Number(expected[s]);
      const tolerance = q.check.relativeTolerance * Math.max(Math.abs(ours), Math.abs(theirs));
      if (!(Math.abs(ours - theirs) <= tolerance)) problems.push(`SUM(${s}) ${ours} vs DuckDB ${theirs}`);
    }
    const detail = problems.length ? problems.join('; ') : `count ${formatCount(sink.n)} and sums of ${q.check.sums.join(', ')} equal`;
    return { check: { ok: problems.length === 0, detail }, ms, rows: Number(expected.n) };
  }
  const columns = q.check.columns;
  const ours = [...sink.keys].sort();
  const theirs = rows.map((r) => rowKey(r, columns)).sort();
  if (ours.length !== theirs.length) problems.push(`${ours.length} rows vs DuckDB ${theirs.length}`);
  const theirSet = new Set(theirs);
  const ourSet = new Set(ours);
  const missing = theirs.filter((k) => !ourSet.has(k));
  const extra = ours.filter((k) => !theirSet.has(k));
  if (missing.length) problems.push(`${missing.length} DuckDB rows missing, e.g. ${missing[0]}`);
  if (extra.length) problems.push(`${extra.length} rows DuckDB does not have, e.g. ${extra[0]}`);
  if (!missing.length && !extra.length && ours.some((k, i) => k !== theirs[i])) problems.push('same rows, different multiplicities');
  if (theirs.length === 0) problems.push('empty result: nothing was compared');
  const detail = problems.length ? problems.join('; ') : `${formatCount(ours.length)} rows equal, row for row [${columns.join(', ')}]`;
  return { check: { ok: problems.length === 0, detail }, ms, rows: theirs.length };
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

const mb = (bytes: number) => `${Math.round(bytes / 1048576)}`;
const rateText = (r: number) => (r >= 1e6 ? `${round(r / 1e6, 2)}M` : `${formatCount(r / 1000)}k`);

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

  const table = formatTable(
    ['query', 'rows in', 'rows out', 'wall ev/s', 'ev/CPU-s', 'target/core', 'result', 'Flink/core', 'RSS MB', 'heap MB', 'DuckDB ms', 'vs DuckDB'],
    results.map((r) => [
      `${r.name} ${r.title}`,
      formatCount(r.rowsIn),
      formatCount(r.rowsOut),
      rateText(r.eventsPerSecond),
      rateText(r.eventsPerCpuSecond),
      r.targetPerCore === null ? '-' : `>= ${rateText(r.targetPerCore)}`,
      r.verdict === 'n/a' ? '-' : r.verdict,
      r.flinkPerCore === null ? '-' : rateText(r.flinkPerCore),
      mb(r.peakRssBytes),
      mb(r.peakHeapUsedBytes),
      formatCount(r.duckdbMs),
      r.check.ok ? 'match' : 'MISMATCH',
    ]),
  );
  const lines = [
    '',
    `Nexmark on the streaming SQL engine: ${formatCount(eventCount)} events (seed ${seed}), in-memory rows in arrays of ${BATCH}, one process`,
    `${machine.cpuCount} x ${machine.cpuModel}, ${mb(machine.memoryBytes)} MB, node ${machine.nodeVersion}, load average at start ${machine.loadAverage.join(' ')}`,
    '',
    table,
    '',
    `ev/CPU-s: input rows per second of this process's CPU time (all threads, GC included); the targets apply to it.`,
    `RSS/heap: peaks during the run; the events themselves hold ${mb(baseline.heapUsedBytes)} MB of heap (${mb(baseline.rssBytes)} MB RSS) before any query.`,
    `DuckDB: one thread, batch SQL over the same events (loaded through the Appender in ${formatCount(duckdbLoadMs)} ms, not counted).`,
  ];
  if (ndjson) {
    lines.push(
      `q1 from an NDJSON file (${mb(ndjson.fileBytes)} MB, ISO times): ${rateText(ndjson.eventsPerSecond)} ev/s wall, ${rateText(ndjson.eventsPerCpuSecond)} ev/CPU-s ` +
        `(in memory: ${rateText(results.find((r) => r.name === 'q1')?.eventsPerCpuSecond ?? Number.NaN)} ev/CPU-s): the cost of reading and parsing JSON text.`,
    );
  }
  for (const q of queries) {
    if (timeCut(q, events) !== null) lines.push(`${q.name} ran over the first ${formatCount(q.maxEvents!)} events only: too slow for the full count within the benchmark's time.`);
  }
  lines.push('', 'Checks against DuckDB:');
  for (const r of results) lines.push(`  ${r.name.padEnd(8)} ${r.check.ok ? 'match   ' : 'MISMATCH'} ${r.check.detail}`);
  lines.push('', 'Where the SQL differs from the Nexmark original:');
  for (const r of results) lines.push(`  ${r.name.padEnd(8)} ${r.deviation}`);
  for (const r of results) {
    if (!r.profile) continue;
    lines.push('', `CPU profile of ${r.name} (self time, ${r.profile.busyMs} ms busy):`);
    for (const f of r.profile.byFunction.slice(0, 12)) lines.push(`  ${String(f.percent).padStart(5)}%  ${f.name}`);
  }
  process.stdout.write(lines.join('\n') + '\n');

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

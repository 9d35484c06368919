/**
 * `npm run bench:checkpoint`: what query checkpoints cost on a query with a large state. Four query shapes
 * (--shape): `group`, a window aggregate that keeps one group per key open (a one-day TUMBLE, so no window
 * closes during the run), whose keyed state is saved as the groups that changed; `over`, an OVER window per
 * key (one day of rows per key, so none leaves during the run), whose keyed state is saved as the partitions
 * rows joined and the rows held or released since the previous checkpoint; `join`, an interval join of every
 * row with the later rows of its key whose value is above 90 (within a day, so no row leaves during the run),
 * saved as the chunks of rows or the keys that changed; `session`, a SESSION window per key (a one-hour gap,
 * so none closes during the run), saved as the keys whose sessions changed. The query is seeded with --keys distinct keys, then takes --rate rows/s over random keys for
 * --seconds while it checkpoints every second. Each phase runs on a fresh data directory; the phase without checkpoints (one every
 * 10 minutes, so none within the run) is the reference the checkpoint phases are compared with. Phases:
 * none, incremental (deltas, a full checkpoint every 10: the default), full (every checkpoint full).
 *
 * Reported per phase: checkpoints taken, bytes written per checkpoint (mean, max), checkpoint duration (barrier
 * to durable), the main thread's CPU and the whole process's CPU (every thread) over the steady part, the
 * main-thread CPU a checkpoint adds (over the reference phase, divided by the checkpoints), and the longest
 * event-loop stall (the time a row waits behind a checkpoint), and the resident memory at the end.
 *
 * Flags: --shape group|over|join|session (group), --keys N (300000), --rate N (rows/s; 5000), --seconds N (20), --quick
 * (100000 keys, 10 s), --phases LIST (every phase by default), --threads N (query threads; the server's default,
 * one per spare core, when not given; 0 runs the operators on the main thread). Local files only. See
 * docs/benchmarks.md.
 */
import { mainThreadCpuSeconds } from '../lib/cpu-usage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { QueryManagerOptions } from '../../src/queries/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { describeMachine } from '../lib/machine.ts';
import { createRng } from '../lib/rng.ts';
import { formatCount, formatTable, round, sleep } from '../lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string' },
    phases: { type: 'string' },
    quick: { type: 'boolean', default: false },
    shape: { type: 'string', default: 'group' },
    threads: { type: 'string' },
  },
});

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

const KEYS = Math.min(5_000_000, positiveInt(flags.keys ?? (flags.quick ? '100000' : '300000'), '--keys'));
const RATE = Math.min(100_000, positiveInt(flags.rate, '--rate'));
const SECONDS = Math.min(600, positiveInt(flags.seconds ?? (flags.quick ? '10' : '20'), '--seconds'));
const START = Date.parse('2026-03-02T08:00:00.000Z');

const SHAPES: Record<string, string> = {
  group: `
CREATE TABLE events (k VARCHAR(16), v BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND)
  WITH ('stream' = 'events');
CREATE TABLE totals (window_start TIMESTAMP(3), window_end TIMESTAMP(3), k VARCHAR(16), n BIGINT, total BIGINT)
  WITH ('stream' = 'totals');
INSERT INTO totals
SELECT window_start, window_end, k, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(event_time), INTERVAL '1' DAY))
GROUP BY window_start, window_end, k;
`,
  over: `
CREATE TABLE events (k VARCHAR(16), v BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND)
  WITH ('stream' = 'events');
CREATE TABLE running (k VARCHAR(16), v BIGINT, n BIGINT, total BIGINT) WITH ('stream' = 'running');
INSERT INTO running
SELECT k, v, COUNT(*) OVER w, SUM(v) OVER w
FROM events
WINDOW w AS (PARTITION BY k ORDER BY event_time RANGE BETWEEN INTERVAL '1' DAY PRECEDING AND CURRENT ROW);
`,
  join: `
CREATE TABLE events (k VARCHAR(16), v BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND)
  WITH ('stream' = 'events');
CREATE TABLE pairs (k VARCHAR(16), v BIGINT, later BIGINT) WITH ('stream' = 'pairs');
INSERT INTO pairs
SELECT a.k, a.v, b.v
FROM events a JOIN (SELECT k, v, event_time FROM events WHERE v > 90) b
  ON a.k = b.k AND b.event_time BETWEEN a.event_time AND a.event_time + INTERVAL '1' DAY;
`,
  session: `
CREATE TABLE events (k VARCHAR(16), v BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND)
  WITH ('stream' = 'events');
CREATE TABLE sessions (window_start TIMESTAMP(3), window_end TIMESTAMP(3), k VARCHAR(16), n BIGINT, total BIGINT)
  WITH ('stream' = 'sessions');
INSERT INTO sessions
SELECT window_start, window_end, k, COUNT(*), SUM(v)
FROM TABLE(SESSION(TABLE events PARTITION BY k, DESCRIPTOR(event_time), INTERVAL '1' HOUR))
GROUP BY window_start, window_end, k;
`,
};
const chosenSql: string | undefined = SHAPES[flags.shape];
if (chosenSql === undefined) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}, got '${flags.shape}'`);
const SQL: string = chosenSql;
const THREADS = flags.threads === undefined ? undefined : Number(flags.threads);
if (THREADS !== undefined && !(Number.isInteger(THREADS) && THREADS >= 0 && THREADS <= 16)) throw new Error(`--threads must be an integer from 0 to 16, got '${flags.threads}'`);

interface Phase {
  readonly name: string;
  readonly what: string;
  readonly options: Partial<QueryManagerOptions>;
}

/** The phases; the first is the reference without checkpoints. */
const PHASES: readonly Phase[] = [
  { name: 'none', what: 'no checkpoint within the run (the reference)', options: { checkpointIntervalMs: 600_000 } },
  { name: 'incremental', what: 'a checkpoint every second, a full one every 10 (the default)', options: { checkpointIntervalMs: 1000 } },
  { name: 'full', what: 'a checkpoint every second, each one full (checkpointFullEvery 1)', options: { checkpointIntervalMs: 1000, checkpointFullEvery: 1 } },
];

function processCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface PhaseResult {
  readonly phase: Phase;
  readonly checkpoints: number;
  readonly bytesMean: number;
  readonly bytesMax: number;
  readonly durationMeanMs: number;
  readonly durationMaxMs: number;
  readonly mainCpuS: number;
  readonly processCpuS: number;
  readonly stallMaxMs: number;
  readonly stallP99Ms: number;
  readonly rowsIn: number;
  readonly wallS: number;
  /** Resident memory at the end of the steady part (the checkpoint thread's merged copy of the state included). */
  readonly rssBytes: number;
}

function row(i: number, rng: () => number, t: number): { data: Buffer; partitionKey: string } {
  const k = `k${i}`;
  return { data: Buffer.from(JSON.stringify({ k, v: 1 + Math.floor(rng() * 100), event_time: new Date(t).toISOString() })), partitionKey: k };
}

async function runPhase(phase: Phase): Promise<PhaseResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-checkpoint-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval' });
  const manager = new QueryManager({ log, dir: path.join(dir, 'queries'), ...(THREADS === undefined ? {} : { threads: THREADS }), ...phase.options });
  try {
    await log.createStream('events', { shardCount: 2 });
    await manager.start();
    await manager.createQuery({ name: 'q', sql: SQL });
    const rng = createRng(7).next;
    let appended = 0;
    let t = START;
    // Seed: one row per key.
    for (let i = 0; i < KEYS; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(KEYS, i + 1000); j++) batch.push(row(j, rng, t));
      await log.append('events', batch);
      appended += batch.length;
      while (appended - manager.info('q').stats.rowsInTotal > 20_000) await sleep(20);
    }
    while (manager.info('q').stats.rowsInTotal < appended) await sleep(20);
    // Let a checkpoint of the whole state pass before measuring (the first one writes every key in any mode).
    const interval = phase.options.checkpointIntervalMs ?? 1000;
    if (interval < 60_000) {
      // A quiet query skips its checkpoints: a trickle of rows keeps them coming.
      const before = manager.info('q').stats.lastCheckpoint?.id ?? 0;
      while ((manager.info('q').stats.lastCheckpoint?.id ?? 0) < before + 2) {
        await log.append('events', [row(Math.floor(rng() * KEYS), rng, t)]);
        appended++;
        await sleep(100);
      }
    }

    // Steady input over random keys.
    const seen = new Map<number, { bytes: number; durationMs: number }>();
    const firstId = manager.info('q').stats.lastCheckpoint?.id ?? 0;
    const stall = monitorEventLoopDelay({ resolution: 5 });
    const main0 = mainThreadCpuSeconds();
    const proc0 = processCpu();
    const rows0 = manager.info('q').stats.rowsInTotal;
    const wall0 = performance.now();
    stall.enable();
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
    const ticks = Math.round((SECONDS * 1000) / tickMs);
    for (let n = 0; n < ticks; n++) {
      const due = wall0 + n * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      t += tickMs;
      const batch = [];
      for (let j = 0; j < perTick; j++) batch.push(row(Math.floor(rng() * KEYS), rng, t));
      await log.append('events', batch);
      appended += batch.length;
      const last = manager.info('q').stats.lastCheckpoint;
      if (last && last.id > firstId) seen.set(last.id, { bytes: last.bytes, durationMs: last.durationMs });
    }
    while (manager.info('q').stats.rowsInTotal < appended) await sleep(5);
    stall.disable();
    const wallS = (performance.now() - wall0) / 1000;
    const mainCpuS = mainThreadCpuSeconds() - main0;
    const processCpuS = processCpu() - proc0;
    const last = manager.info('q').stats.lastCheckpoint;
    if (last && last.id > firstId) seen.set(last.id, { bytes: last.bytes, durationMs: last.durationMs });
    // Every checkpoint id in the window, even those the 50 ms polling missed, counts (their sizes are not known).
    const checkpoints = last && last.id > firstId ? last.id - firstId : 0;
    const sizes = [...seen.values()];
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
    return {
      phase,
      checkpoints,
      bytesMean: mean(sizes.map((s) => s.bytes)),
      bytesMax: sizes.length ? Math.max(...sizes.map((s) => s.bytes)) : Number.NaN,
      durationMeanMs: mean(sizes.map((s) => s.durationMs)),
      durationMaxMs: sizes.length ? Math.max(...sizes.map((s) => s.durationMs)) : Number.NaN,
      mainCpuS,
      processCpuS,
      stallMaxMs: stall.max / 1e6,
      stallP99Ms: stall.percentile(99) / 1e6,
      rowsIn: manager.info('q').stats.rowsInTotal - rows0,
      wallS,
      rssBytes: process.memoryUsage().rss,
    };
  } finally {
    await manager.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const chosen = flags.phases ? flags.phases.split(',').map((p) => p.trim()) : PHASES.map((p) => p.name);
for (const name of chosen) if (!PHASES.some((p) => p.name === name)) throw new Error(`unknown phase '${name}'; phases: ${PHASES.map((p) => p.name).join(', ')}`);
const machine = describeMachine();
console.log(`bench:checkpoint: ${flags.shape} query, ${THREADS ?? 'default'} query threads, ${formatCount(KEYS)} keys, ${formatCount(RATE)} rows/s for ${SECONDS} s; ${JSON.stringify(machine)}`);
const results: PhaseResult[] = [];
for (const phase of PHASES.filter((p) => chosen.includes(p.name))) {
  console.log(`phase ${phase.name}: ${phase.what}`);
  results.push(await runPhase(phase));
}
const reference = results.find((r) => r.phase.name === 'none');
const ms = (s: number) => (Number.isFinite(s) ? String(round(s, 1)) : 'n/a');
const mb = (b: number) => (Number.isFinite(b) ? String(round(b / 1e6, 2)) : 'n/a');
console.log(
  formatTable(
    ['phase', 'checkpoints', 'MB/ckpt mean', 'MB/ckpt max', 'ckpt ms mean', 'ckpt ms max', 'main CPU s', 'process CPU s', 'main ms/ckpt', 'stall max ms', 'stall p99 ms', 'rows in', 'RSS MB'],
    results.map((r) => [
      r.phase.name,
      String(r.checkpoints),
      mb(r.bytesMean),
      mb(r.bytesMax),
      ms(r.durationMeanMs),
      ms(r.durationMaxMs),
      String(round(r.mainCpuS, 2)),
      String(round(r.processCpuS, 2)),
      reference && r !== reference && r.checkpoints > 0 ? ms(((r.mainCpuS - reference.mainCpuS) * 1000) / r.checkpoints) : 'n/a',
      ms(r.stallMaxMs),
      ms(r.stallP99Ms),
      formatCount(r.rowsIn),
      String(Math.round(r.rssBytes / 1e6)),
    ]),
  ),
);
const current = results.find((r) => r.phase.name === 'full');
for (const r of results) {
  if (!current || r === current || r.phase.name === 'none' || !reference) continue;
  const added = (x: PhaseResult) => (x.mainCpuS - reference.mainCpuS) / Math.max(1, x.checkpoints);
  console.log(
    `${r.phase.name} against full: bytes per checkpoint x${round(r.bytesMean / current.bytesMean, 3)}, main-thread CPU per checkpoint x${round(added(r) / added(current), 3)}, ` +
      `process CPU x${round(r.processCpuS / current.processCpuS, 3)}, longest stall x${round(r.stallMaxMs / current.stallMaxMs, 3)}`,
  );
}

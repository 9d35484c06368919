/** The benchmark's text report: the table with targets, the checks against DuckDB, deviations, profiles. */
import type { MachineDescription } from '../lib/machine.ts';
import type { ProfileSummary } from '../lib/cpu-profile.ts';
import { formatCount, formatTable, round } from '../lib/stats.ts';
import type { CheckResult } from './check.ts';

export interface RunFigures {
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

export interface QueryResult extends RunFigures {
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

export interface ReportInput {
  readonly eventCount: number;
  readonly seed: number;
  readonly batch: number;
  readonly machine: MachineDescription;
  readonly baseline: { readonly rssBytes: number; readonly heapUsedBytes: number };
  readonly duckdbLoadMs: number;
  readonly results: readonly QueryResult[];
  readonly ndjson: (RunFigures & { readonly fileBytes: number }) | null;
  readonly notes: readonly string[];
}

const mb = (bytes: number) => `${Math.round(bytes / 1048576)}`;
const rateText = (r: number) => (r >= 1e6 ? `${round(r / 1e6, 2)}M` : `${formatCount(r / 1000)}k`);

export function formatReport(input: ReportInput): string {
  const { eventCount, seed, batch, machine, baseline, duckdbLoadMs, results, ndjson } = input;
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
    `Nexmark on the streaming SQL engine: ${formatCount(eventCount)} events (seed ${seed}), in-memory rows in arrays of ${batch}, one process`,
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
  lines.push(...input.notes);
  lines.push('', 'Checks against DuckDB:');
  for (const r of results) lines.push(`  ${r.name.padEnd(8)} ${r.check.ok ? 'match   ' : 'MISMATCH'} ${r.check.detail}`);
  lines.push('', 'Where the SQL differs from the Nexmark original:');
  for (const r of results) lines.push(`  ${r.name.padEnd(8)} ${r.deviation}`);
  for (const r of results) {
    if (!r.profile) continue;
    lines.push('', `CPU profile of ${r.name} (self time, ${r.profile.busyMs} ms busy):`);
    for (const f of r.profile.byFunction.slice(0, 12)) lines.push(`  ${String(f.percent).padStart(5)}%  ${f.name}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * `npm run bench`: every benchmark in sequence (quick modes where they exist, so the whole run stays within
 * about ten minutes on a 2-core machine), then bench/RESULTS.md: a table per benchmark with each figure, the
 * reference it is compared with in the same run, the ratio, the target and PASS/MISS as measured, plus the
 * date and the machine. A benchmark that fails or times out is reported as failed and the run goes on.
 *
 * Flags: --only LIST (benchmark names, e.g. ingest,e2e), --out FILE (default bench/RESULTS.md).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine } from './lib/machine.ts';
import { REPO_ROOT } from '../bin/processes.ts';
import { BENCHMARKS, type BenchmarkSpec, type Figure } from './lib/run-all-figures.ts';

const { values: flags } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string', default: path.join(REPO_ROOT, 'bench/RESULTS.md') } } });
const only = flags.only ? new Set(flags.only.split(',').map((s) => s.trim())) : undefined;
const chosen = BENCHMARKS.filter((b) => !only || only.has(b.name));
if (only) for (const name of only) if (!BENCHMARKS.some((b) => b.name === name)) throw new Error(`--only: no benchmark '${name}'; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);

const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface Outcome {
  readonly spec: BenchmarkSpec;
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly figures: Figure[];
  /** Why it is reported as failed; undefined when it ran and its figures were read. */
  readonly failure?: string;
  readonly resultsFile?: string;
  readonly loadAverageBefore: number;
}

const machine = describeMachine();
const startedAt = new Date();
log(`${chosen.length} benchmarks on ${machine.cpuCount} x ${machine.cpuModel}, load average ${machine.loadAverage.join(' ')}`);
const outcomes: Outcome[] = [];
for (const spec of chosen) outcomes.push(await runBenchmark(spec));
const loadAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
const totalSeconds = Math.round((Date.now() - startedAt.getTime()) / 1000);

await writeFile(flags.out, renderReport());
log(`${path.relative(process.cwd(), flags.out)} written (${totalSeconds} s in all)`);

async function runBenchmark(spec: BenchmarkSpec): Promise<Outcome> {
  const loadAverageBefore = Math.round(os.loadavg()[0]! * 100) / 100;
  log(`${spec.name}: node bin/run-ts.mjs ${spec.args.join(' ')} (at most ${spec.timeoutMs / 1000} s)`);
  const started = Date.now();
  // Its own process group, so a benchmark that overruns is stopped together with the servers it started.
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/run-ts.mjs'), ...spec.args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  let timedOut = false;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 15_000).unref();
  }, spec.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  clearTimeout(timer);
  const seconds = Math.round((Date.now() - started) / 100) / 10;

  const resultsFile = spec.resultsKind ? newestResults(spec.resultsKind, started) : undefined;
  let figures: Figure[] = [];
  let failure: string | undefined;
  try {
    if (spec.resultsKind && !resultsFile) throw new Error(`no bench/results/${spec.resultsKind}-*.json was written`);
    const json = resultsFile ? JSON.parse(readFileSync(resultsFile, 'utf8')) : undefined;
    figures = spec.figures({ stdout, json });
  } catch (err) {
    failure = (err as Error).message;
  }
  if (timedOut) failure = `stopped after ${spec.timeoutMs / 1000} s${failure ? ` (${failure})` : ''}`;
  else if (exitCode !== 0) failure = `exited with code ${exitCode}${failure ? ` (${failure})` : ''}`;
  if (failure) failure += `; last lines of its output:\n${tail(stderr + '\n' + stdout, 12)}`;
  log(`${spec.name}: ${failure ? `FAILED (${failure.split('\n')[0]})` : `${figures.length} figures`} in ${seconds} s`);
  return { spec, seconds, exitCode, timedOut, figures, ...(failure ? { failure } : {}), ...(resultsFile ? { resultsFile } : {}), loadAverageBefore };
}

/** The newest bench/results/<kind>-*.json modified since `sinceMs`. */
function newestResults(kind: string, sinceMs: number): string | undefined {
  let files: string[];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.startsWith(`${kind}-`) && f.endsWith('.json'));
  } catch {
    return undefined;
  }
  const fresh = files
    .map((f) => ({ file: path.join(RESULTS_DIR, f), mtime: statSync(path.join(RESULTS_DIR, f)).mtimeMs }))
    .filter((f) => f.mtime >= sinceMs)
    .sort((a, b) => b.mtime - a.mtime);
  return fresh[0]?.file;
}

function tail(text: string, lines: number): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function renderReport(): string {
  const gib = (machine.memoryBytes / 1024 ** 3).toFixed(0);
  const busy = machine.loadAverage[0]! >= machine.cpuCount * 0.5 || outcomes.some((o) => o.loadAverageBefore >= machine.cpuCount);
  const out: string[] = [];
  out.push('# Benchmark results');
  out.push('');
  out.push(`One run of \`npm run bench\` (bench/run-all.ts): every benchmark in sequence, quick modes where they exist. Generated from that run; do not edit by hand.`);
  out.push('');
  out.push(`- Date: ${startedAt.toISOString()} (${totalSeconds} s in all)`);
  out.push(`- Machine: ${machine.cpuCount} x ${machine.cpuModel}, ${gib} GiB memory, ${machine.os}, Node.js ${machine.nodeVersion}`);
  out.push(`- Load average (1, 5, 15 min) at start: ${machine.loadAverage.join(', ')}; at the end: ${loadAtEnd.join(', ')}`);
  if (busy) {
    out.push(
      `- **The machine was shared with other work during this run** (load average ${machine.loadAverage[0]} on ${machine.cpuCount} cores at the start, ` +
        `up to ${Math.max(...outcomes.map((o) => o.loadAverageBefore))} before a benchmark): raw rates are lower and latencies higher than on an idle machine; the per-core figures are disturbed less.`,
    );
  }
  out.push(`- Benchmarks: ${outcomes.length}, failed: ${outcomes.filter((o) => o.failure).length}; PASS ${count('PASS')}, MISS ${count('MISS')}`);
  out.push('');
  out.push('Each figure is compared with the reference measured in the same run (raw machine limits such as JSON.parse on one core');
  out.push('and append + fdatasync, kinesalite, DuckDB); "ratio" is figure / reference. Targets and PASS/MISS are exactly as the');
  out.push('benchmark judged them; a figure without a target is for information. How each is measured: docs/benchmarks.md.');
  out.push('');
  out.push('| benchmark | command in this run | seconds | load avg before | status |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const o of outcomes) {
    out.push(`| ${o.spec.name} | \`node bin/run-ts.mjs ${o.spec.args.join(' ')}\` | ${o.seconds} | ${o.loadAverageBefore} | ${o.failure ? '**FAILED**' : 'ok'} |`);
  }
  for (const o of outcomes) {
    out.push('');
    out.push(`## ${o.spec.name} (\`${o.spec.script}\`)`);
    if (o.resultsFile) out.push('', `Results file: \`${path.relative(REPO_ROOT, o.resultsFile)}\` (not committed).`);
    if (o.failure) {
      out.push('');
      out.push(`**FAILED**: ${o.failure.split('\n')[0]}`);
      out.push('');
      out.push('```');
      out.push(...o.failure.split('\n').slice(1));
      out.push('```');
    }
    if (o.figures.length > 0) {
      out.push('');
      out.push('| figure | value | reference (same run) | ratio | target | result |');
      out.push('| --- | --- | --- | --- | --- | --- |');
      for (const f of o.figures) out.push(`| ${cell(f.figure)} | ${cell(f.value)} | ${cell(f.reference)} | ${cell(f.ratio)} | ${cell(f.target)} | ${f.verdict ? `**${f.verdict}**` : ''} |`);
    }
  }
  out.push('');
  return out.join('\n');
}

function count(v: 'PASS' | 'MISS'): number {
  return outcomes.reduce((n, o) => n + o.figures.filter((f) => f.verdict === v).length, 0);
}

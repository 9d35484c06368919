/**
 * `npm run bench:e2e`: the whole system under load. Starts `tollstream up` as a user would (default pipeline:
 * the spend alerts, the warehouse delivery, plus one continuous query), drives it with the simulator through the
 * Kinesis API (several SDK producers), and searches for the highest rate it sustains: the target rate goes up in
 * steps, each held for a bounded time, and a step counts when ingest keeps the rate, no lag grows (function
 * iterator age, delivery behind latest, query lag), planted breaches are notified with p99 <= 2 s from the
 * PutRecords acknowledgement, warehouse freshness p99 <= 10 s, and the server's RSS levels off.
 *
 * Flags: --quick (5 s steps, at most ~50 s of steps), --rates LIST (2000,4000,8000,16000,32000,64000),
 * --step S (20; 5 with --quick), --budget S (longest time for all steps with their drains; 240, 50 with --quick),
 * --drain S (longest drain after each step; 15, 5 with --quick), --warmup S (unjudged traffic at the first rate
 * before the steps; 10, 4 with --quick; 0 for none), --producers N (4), --batch N (500),
 * --hold S (after the search, the best rate is held this long and only a held step is the verdict; 60, 0 with
 * --quick: the issue's "for at least a minute"), --hold-rate R (no search: hold R tolls/s for --hold seconds, 60 by
 * default even with --quick), --concurrency N (PutRecords in flight over all producers; 2 per
 * producer), --customers N (10000),
 * --breaches N (planted per step; 10, 5 with --quick), --no-query, --no-bisect, --cpu-prof,
 * --producer replay|sdk (who sends the traffic: the load generator process replaying pre-built PutRecords bodies,
 * or AWS SDK producers in this process; replay), --no-sdk-reference (with replay, no closing step at the best
 * rate through the SDK producers), --query-threads N (the server's `queries.threads`; its default when absent, 0 for
 * every query on the main thread).
 * Loopback only; every process it starts is stopped at the end. See docs/benchmarks.md.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kinesisSink } from '../../src/simulator/index.ts';
import { plantingSink, roundRobinSink, spreadCustomerIds, watchedCustomers, type NotificationWatcher } from '../lib/alerts.ts';
import { summarizeCpuProfile, type ProfileSummary } from '../lib/cpu-profile.ts';
import { describeMachine } from '../lib/machine.ts';
import { PLAZA_QUERY_NAME, PLAZA_QUERY_SQL } from '../lib/plaza-query.ts';
import { findFreePort, startTollstream, REPO_ROOT, type ServerProcess } from '../../bin/processes.ts';
import { formatCount, formatTable } from '../lib/stats.ts';
import { componentShares, type ComponentShare } from './components.ts';
import { ServerSampler } from './sampler.ts';
import { RATE_GOALS } from './windows.ts';
import { LIMITS, REPLAY_BODIES, runStep, warmUp, type StepResult } from './step.ts';
import { bestReached, notSustainedLine, referenceRate } from './summary.ts';
import { simulatorPool, startLoadGenerator, type LoadGenerator } from '../lib/loadgen/client.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string', default: '2000,4000,8000,16000,32000,64000' },
    step: { type: 'string' },
    budget: { type: 'string' },
    drain: { type: 'string' },
    hold: { type: 'string' },
    'hold-rate': { type: 'string' },
    warmup: { type: 'string' },
    producers: { type: 'string', default: '4' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string' },
    customers: { type: 'string', default: '10000' },
    breaches: { type: 'string' },
    'no-query': { type: 'boolean', default: false },
    'no-bisect': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    producer: { type: 'string', default: 'replay' },
    'no-sdk-reference': { type: 'boolean', default: false },
    'query-threads': { type: 'string' },
  },
});

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

const quick = flags.quick;
const rates = flags.rates.split(',').map((r) => positiveInt(r.trim(), '--rates')).sort((a, b) => a - b);
const stepMs = Math.min(120, positiveInt(flags.step ?? (quick ? '5' : '20'), '--step')) * 1000;
const budgetMs = Math.min(900, positiveInt(flags.budget ?? (quick ? '50' : '240'), '--budget')) * 1000;
const warmupMs = Math.min(60, Number(flags.warmup ?? (quick ? '4' : '10'))) * 1000;
const drainMs = Math.min(60, positiveInt(flags.drain ?? (quick ? '5' : '15'), '--drain')) * 1000;
/** A rate to hold without a search before it. */
const holdRate = flags['hold-rate'] === undefined ? undefined : positiveInt(flags['hold-rate'], '--hold-rate');
const holdMs = Math.min(600, Number(flags.hold ?? (quick && holdRate === undefined ? '0' : '60'))) * 1000;
if (holdRate !== undefined && holdMs === 0) throw new Error('--hold-rate needs a --hold of 1 s or more');
if (!Number.isFinite(holdMs) || holdMs < 0) throw new Error(`--hold must be 0 or more seconds, got '${flags.hold}'`);
const producers = Math.min(32, positiveInt(flags.producers, '--producers'));
const batchSize = Math.min(500, positiveInt(flags.batch, '--batch'));
const concurrency = positiveInt(flags.concurrency ?? String(producers * 2), '--concurrency');
const customers = positiveInt(flags.customers, '--customers');
const breachesPerStep = positiveInt(flags.breaches ?? (quick ? '5' : '10'), '--breaches');
const queryThreads = flags['query-threads'] === undefined ? undefined : Number(flags['query-threads']);
if (queryThreads !== undefined && !(Number.isInteger(queryThreads) && queryThreads >= 0)) throw new Error(`--query-threads must be 0 or a positive integer, got '${flags['query-threads']}'`);
const withQuery = !flags['no-query'];
if (flags.producer !== 'replay' && flags.producer !== 'sdk') throw new Error(`--producer must be replay or sdk, got '${flags.producer}'`);
const replaying = flags.producer === 'replay';
const sdkReference = replaying && !flags['no-sdk-reference'];
const bisect = !flags['no-bisect'];

const log = (line: string) => process.stderr.write(`[bench:e2e] ${line}\n`);
const machine = describeMachine();
const settings = {
  quick, rates, holdRate, stepMs, warmupMs, budgetMs, drainMs, holdMs, producers, batchSize, concurrency, customers, breachesPerStep, withQuery, bisect,
  producer: replaying
    ? 'a separate load generator process replaying pre-built PutRecords bodies over HTTP/2, ids and times stamped and SigV4 computed per request'
    : 'AWS SDK v3 producers in the benchmark process',
  sdkReference,
  pipeline: `tollstream up defaults (fsync always, spend alerts, warehouse delivery into DuckDB${withQuery ? `, continuous query ${PLAZA_QUERY_NAME}` : ''})`,
  limits: LIMITS,
};
log(`${machine.cpuCount} x ${machine.cpuModel}, load average ${machine.loadAverage.join(' ')}`);
log(JSON.stringify(settings));

const workDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-e2e-'));
const profileDir = flags['cpu-prof'] ? path.join(workDir, 'profile') : undefined;
const steps: StepResult[] = [];
/** Steps that held a rate for `holdMs`; when any ran, only they decide the verdict. */
const holds: StepResult[] = [];
/** The closing step through the SDK producers: for comparison, not for the verdict. */
const references: StepResult[] = [];
let loadgen: LoadGenerator | undefined;
let server: ServerProcess | undefined;
let watchers: NotificationWatcher[] = [];
let sampler: ServerSampler | undefined;
let sink: ReturnType<typeof plantingSink> | undefined;
let failure: string | undefined;
let components: ComponentShare[] | undefined;
let profileSummary: ProfileSummary | undefined;
let keptProfile: string | undefined;
try {
  const port = await findFreePort();
  server = await startTollstream({
    dataDir: path.join(workDir, 'data'),
    port,
    ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    ...(queryThreads === undefined ? {} : { extraArgs: ['--config', await writeConfig({ queries: { threads: queryThreads } })] }),
  });
  log(`server ${server.url} (pid ${server.pid}), query threads: ${queryThreads ?? "the default"}`);
  if (withQuery) await createQuery(server.url);

  // Distinct customers for every step that may run: the rates, one bisection step, two holds and the SDK reference.
  const planted = spreadCustomerIds(breachesPerStep * (rates.length + 4), customers);
  watchers = await watchedCustomers(server.url, planted);
  log(`${planted.length} customers with thresholds watching their notification streams`);

  sampler = new ServerSampler(server.url, server.pid, 500);
  sampler.start();
  sink = plantingSink(roundRobinSink(Array.from({ length: producers }, () => kinesisSink({ endpoint: server!.url, stream: 'toll_transactions' }))));
  if (replaying) {
    loadgen = await startLoadGenerator();
    // Enough bodies that none is reused while in flight; the simulator's customers, out-of-order, late and retried tolls.
    const bodies = Math.max(40, concurrency + 8);
    const prepared = await loadgen.prepare({ name: REPLAY_BODIES, kind: 'kinesis', stream: 'toll_transactions', records: simulatorPool({ seed: 20_261_126, customers, count: bodies * batchSize }), batch: batchSize, unique: true });
    log(`load generator (pid ${loadgen.pid}): ${prepared.bodies} PutRecords bodies of ${batchSize} tolls, ${Math.round(prepared.bytesPerBody / 1024)} KiB each, built in ${prepared.buildMs} ms`);
  }
  const ctx = { serverPid: server.pid, serverUrl: server.url, ...(loadgen ? { loadgen } : {}), producers, sampler, sink, watchers, customers, batchSize, concurrency, ledger: { acknowledged: 0 }, log };

  if (warmupMs > 0) await warmUp(ctx, rates[0]!, warmupMs);
  const started = performance.now();
  const queue = holdRate === undefined ? [...rates] : [];
  let best: StepResult | undefined;
  let bisected = false;
  while (queue.length > 0) {
    const rate = queue.shift()!;
    if (performance.now() - started + stepMs + Math.min(drainMs, stepMs) > budgetMs) {
      log(`the time budget (${budgetMs / 1000} s) leaves no room for a step at ${formatCount(rate)}/s; stopping`);
      break;
    }
    const index = steps.length;
    const result = await runStep(ctx, { index, rate, durationMs: stepMs, drainMs, plantedCustomers: planted.slice(index * breachesPerStep, (index + 1) * breachesPerStep) });
    steps.push(result);
    log(`  ${result.sustained ? 'sustained' : 'not sustained'}: ${describeStep(result)}`);
    if (result.sustained) {
      if (!best || result.rate > best.rate) best = result;
      continue;
    }
    // Short steps cannot tell a leak from buffers filling at a new rate: a step that missed only on memory does not
    // stop the search (the hold judges memory over a minute), and it is not a sustained step either.
    if (result.misses.every(isMemoryMiss)) continue;
    // One more step halfway between the best sustained rate and this one, then stop.
    queue.length = 0;
    if (bisect && !bisected && best && rate - best.rate >= 1000) {
      bisected = true;
      queue.push(Math.round((best.rate + rate) / 2 / 500) * 500);
    }
  }
  // The search's steps are short; the verdict needs a rate held for a minute. Hold the best one, and if it does
  // not hold, once more at 80% of it.
  const toHold = holdRate !== undefined ? [holdRate] : best ? [best.rate, Math.round((best.rate * 0.8) / 500) * 500] : [];
  if (holdMs > 0) {
    for (const rate of toHold) {
      if (rate <= 0) break;
      const index = steps.length;
      const result = await runStep(ctx, { index, rate, durationMs: holdMs, drainMs, plantedCustomers: planted.slice(index * breachesPerStep, (index + 1) * breachesPerStep) });
      steps.push(result);
      holds.push(result);
      log(`  held for ${holdMs / 1000} s: ${result.sustained ? 'sustained' : 'not sustained'}: ${describeStep(result)}`);
      if (result.sustained) break;
    }
  }
  // What a user's own client costs next to the load generator: the best rate once more through the SDK producers.
  // With nothing sustained, the best rate reached, so the SDK's cost is still measured next to the load generator's.
  const bestJudged = (holds.length > 0 ? holds : steps).filter((s) => s.sustained).sort((a, b) => b.rate - a.rate)[0] ?? best;
  const reached = bestJudged ? undefined : bestReached(steps);
  const referenceAt = bestJudged ? bestJudged.rate : reached ? referenceRate(reached) : undefined;
  if (sdkReference && referenceAt !== undefined) {
    const index = steps.length;
    const result = await runStep(ctx, { index, rate: referenceAt, durationMs: stepMs, drainMs, plantedCustomers: planted.slice(index * breachesPerStep, (index + 1) * breachesPerStep), sdk: true });
    steps.push(result);
    references.push(result);
    log(`  ${bestJudged ? 'the same rate' : 'the best rate reached'} through the AWS SDK producers (reference): ${result.sustained ? 'sustained' : 'not sustained'}: ${describeStep(result)}`);
  }
} catch (err) {
  failure = (err as Error).stack ?? String(err);
  log(`failed: ${failure}`);
  if (server) log(`server stderr:\n${server.stderrTail()}`);
} finally {
  await sampler?.stop();
  await sink?.close();
  await loadgen?.close();
  for (const w of watchers) await w.close();
  if (server) {
    await server.stop();
    const exited = await server.exited;
    if (exited.code !== 0 && exited.code !== null) log(`server exited with code ${exited.code}; stderr:\n${server.stderrTail()}`);
  }
  if (profileDir) await summarizeProfile(profileDir);
  await rm(workDir, { recursive: true, force: true });
}

const loadAverageAtEnd = os.loadavg().map((v) => Math.round(v * 100) / 100);
log(`load average at the end ${loadAverageAtEnd.join(' ')}`);
const judged = holds.length > 0 ? holds : steps.filter((s) => !references.includes(s));
const sustained = judged.filter((s) => s.sustained).sort((a, b) => b.rate - a.rate)[0];
// Short steps cannot tell a leak from buffers filling at a new rate, so this is shown next to the verdict.
const exceptMemory = judged.filter((s) => s.misses.every(isMemoryMiss)).sort((a, b) => b.rate - a.rate)[0];
console.log('');
console.log(formatTable(
  ['target/s', 'achieved/s', 'fn age ms 1st/last', 'delivery behind ms', 'query lag ms', 'freshness p50/p99 s', 'breach p50/p99 ms', 'notified', 'RSS MiB 1st/last/peak', 'dedupe MiB', 'heap MiB 1st/last', 'PutRecords p50/p99 ms', 'server cores', 'µs/rec', 'main thread', 'loadgen cores', 'bench cores', 'verdict'],
  steps.map((s) => [
    formatCount(s.rate),
    formatCount(s.achievedRate),
    pair(s.functionAgeMs.first, s.functionAgeMs.last),
    pair(s.deliveryBehindMs.first, s.deliveryBehindMs.last),
    pair(s.queryLagMs.first, s.queryLagMs.last),
    `${num(s.freshnessSeconds.p50, 1)} / ${num(s.freshnessSeconds.p99, 1)}`,
    `${num(s.breaches.fromAck.p50Ms, 0)} / ${num(s.breaches.fromAck.p99Ms, 0)}`,
    `${s.breaches.notified}/${s.breaches.planted}`,
    `${s.rss.firstMiB} / ${s.rss.lastMiB} / ${s.rss.peakMiB}`,
    `${s.dedupeMiB.first} / ${s.dedupeMiB.last}`,
    `${s.heapUsedMiB.first} / ${s.heapUsedMiB.last}`,
    `${num(s.putRecordsMs.p50Ms, 0)} / ${num(s.putRecordsMs.p99Ms, 0)}`,
    s.serverCores.toFixed(2),
    formatCount(s.serverCpuUsPerRecord),
    Number.isFinite(s.serverMainThreadShare) ? `${Math.round(s.serverMainThreadShare * 100)}%` : '-',
    s.loadGeneratorCores.toFixed(2),
    s.benchCores.toFixed(2),
    `${s.sustained ? 'sustained' : 'MISS'}${holds.includes(s) ? ` (held ${holdMs / 1000} s)` : ''}${references.includes(s) ? ' (SDK producers, reference)' : ''}`,
  ]),
));
for (const s of steps) if (!s.sustained) console.log(`  ${formatCount(s.rate)}/s: ${s.misses.join('; ')}`);
console.log('breach: from the acknowledgement of the PutRecords holding the breaching toll to the notification on the open stream.');
console.log(replaying
  ? 'loadgen cores: the load generator process (pre-built PutRecords bodies, stamped and SigV4-signed per request, HTTP/2); on the SDK reference step, this process with the SDK producers. bench cores: this process.'
  : 'loadgen cores = bench cores: this process, with the AWS SDK producers, the sampler and the notification readers.');
for (const s of steps) {
  const c = s.checkpoints;
  console.log(`  ${formatCount(s.rate)}/s: ${c ? `${c.count} query checkpoints (${c.perSecond}/s), of the ${c.seen} seen: ${kib(c.meanBytes)} KiB mean / ${kib(c.maxBytes)} KiB max, ${num(c.meanMs, 0)} ms mean / ${num(c.maxMs, 0)} ms max each` : 'no query checkpoint stored'}`);
}
for (const s of steps) if (s.replay) console.log(`  ${formatCount(s.rate)}/s: load generator ${s.replay.stampUsPerRecord} µs a toll stamping ids and times, ${s.replay.signUsPerRequest} µs a request for SHA-256 and SigV4`);
for (const s of steps) {
  if (s.windows.length === 0) continue;
  const label = `${holds.includes(s) ? 'held' : 'step'} at ${formatCount(s.rate)}/s${references.includes(s) ? ' (SDK producers)' : ''}`;
  console.log('');
  console.log(`${label}, per 10 s window (tolls stored on toll_transactions, server CPU of all its threads):`);
  console.log(formatTable(
    ['window s', 'stored/s', 'of 100k/s', 'of 250k/s', 'server cores', 'µs/toll', 'RSS MiB (dedupe)', 'freshness p99 s', 'breaches', 'breach p99 ms'],
    s.windows.map((w) => [
      `${Math.round(w.fromS)}-${Math.round(w.toS)}`,
      formatCount(w.storedRate),
      w.goalRatios[0]!.toFixed(3),
      w.goalRatios[1]!.toFixed(3),
      w.serverCores.toFixed(2),
      formatCount(w.serverCpuUsPerToll),
      `${w.rssMiB} (${w.dedupeMiB})`,
      num(w.freshnessP99Seconds, 1),
      String(w.breaches.count),
      num(w.breaches.p99Ms, 0),
    ]),
  ));
  console.log(`  RSS ${s.rss.grew ? 'did not level off' : 'levelled off'} (judged less the dedupe windows): ${s.rss.firstMiB} MiB in the first third, ${s.rss.lastMiB} MiB in the last, the dedupe windows ${s.dedupeMiB.first} -> ${s.dedupeMiB.last} MiB; load generator ${s.loadGeneratorCores.toFixed(2)} cores over the step`);
}
console.log('');
if (sustained) {
  console.log(`highest sustained rate${holds.length > 0 ? ` (held ${holdMs / 1000} s)` : ` (${stepMs / 1000} s steps, no hold)`}: ${formatCount(sustained.rate)} tolls/s (achieved ${formatCount(sustained.achievedRate)}/s): breach p50 / p99 ${num(sustained.breaches.fromAck.p50Ms, 0)} / ${num(sustained.breaches.fromAck.p99Ms, 0)} ms, ` +
    `freshness p99 ${num(sustained.freshnessSeconds.p99, 1)} s, server ${sustained.serverCores.toFixed(2)} cores (${formatCount(sustained.serverCpuUsPerRecord)} µs/toll, ${Math.round(sustained.serverMainThreadShare * 100)}% on its main thread), load generator ${sustained.loadGeneratorCores.toFixed(2)} cores (${sustained.producer}), server RSS peak ${sustained.rss.peakMiB} MiB; ${sustained.goalRatios.map((r, i) => `${r.toFixed(3)} of ${formatCount(RATE_GOALS[i]!)}/s`).join(', ')}`);
} else {
  console.log(`no step was sustained${failure ? ' (the run failed)' : ''}`);
  const reached = bestReached(judged);
  if (reached) console.log(notSustainedLine(reached));
}
const reference = references[0];
if (reference) {
  console.log(`${sustained ? 'the same rate' : `${formatCount(reference.rate)}/s, the best rate reached,`} through the AWS SDK producers: ${reference.sustained ? 'sustained' : `not sustained (${reference.misses.join('; ')})`}, achieved ${formatCount(reference.achievedRate)}/s, SDK producers ${reference.loadGeneratorCores.toFixed(2)} cores, server ${formatCount(reference.serverCpuUsPerRecord)} µs/toll`);
}
if (exceptMemory && exceptMemory.rate !== sustained?.rate) {
  console.log(`highest rate meeting every condition but the memory one: ${formatCount(exceptMemory.rate)} tolls/s (RSS ${exceptMemory.rss.firstMiB} -> ${exceptMemory.rss.lastMiB} MiB within the step)`);
}
if (components) {
  console.log(`server CPU by component during the ${sustained ? 'sustained step' : 'steps'} (--cpu-prof, share of busy samples; profile kept at ${keptProfile}):`);
  if (profileSummary) console.log(`  the main thread was idle ${profileSummary.idlePercent.toFixed(0)}% of the sampled time`);
  for (const c of components.slice(0, 14)) console.log(`  ${c.percent.toFixed(1).padStart(5)}%  ${c.component}`);
}

const resultsDir = path.join(REPO_ROOT, 'bench/results');
await mkdir(resultsDir, { recursive: true });
const file = path.join(resultsDir, `e2e-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify({
  benchmark: 'e2e',
  date: new Date().toISOString(),
  machine,
  loadAverageAtEnd,
  settings,
  sustainedRate: sustained?.rate ?? null,
  sustained: sustained ?? null,
  sustainedRateExceptMemory: exceptMemory?.rate ?? null,
  bestReachedNotSustained: sustained ? null : (bestReached(judged) ?? null),
  sdkReference: references[0] ?? null,
  steps,
  ...(components ? { serverCpuByComponent: components, profile: profileSummary } : {}),
  ...(failure ? { error: failure } : {}),
}, null, 2) + '\n');
log(`results written to ${path.relative(process.cwd(), file)}`);
if (failure) process.exitCode = 1;

/** A config file for the server in the work directory (the server reads no TOLLSTREAM_* variable of ours). */
async function writeConfig(config: Record<string, unknown>): Promise<string> {
  const file = path.join(workDir, 'tollstream.config.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

async function createQuery(url: string): Promise<void> {
  const res = await fetch(`${url}/v1/queries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: PLAZA_QUERY_NAME, sql: PLAZA_QUERY_SQL }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/queries answered ${res.status}: ${text.slice(0, 500)}`);
  log(`continuous query ${PLAZA_QUERY_NAME} created`);
}

async function summarizeProfile(dir: string): Promise<void> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    log(`no CPU profile was written to ${dir}`);
    return;
  }
  keptProfile = path.join(os.tmpdir(), `tollstream-e2e-${Date.now()}.cpuprofile`);
  await copyFile(path.join(dir, files[0]!), keptProfile);
  const best = steps.filter((s) => s.sustained && !references.includes(s)).sort((a, b) => b.rate - a.rate)[0];
  const windows = best ? [best.window] : steps.map((s) => s.window);
  profileSummary = summarizeCpuProfile(keptProfile, { top: 25, repoRoot: REPO_ROOT, windows });
  components = componentShares(summarizeCpuProfile(keptProfile, { top: 100_000, repoRoot: REPO_ROOT, windows }));
}

function describeStep(s: StepResult): string {
  const parts = [
    `achieved ${formatCount(s.achievedRate)}/s`,
    `breach p99 ${num(s.breaches.fromAck.p99Ms, 0)} ms (${s.breaches.notified}/${s.breaches.planted})`,
    `freshness p99 ${num(s.freshnessSeconds.p99, 1)} s`,
    `fn age ${pair(s.functionAgeMs.first, s.functionAgeMs.last)} ms`,
    `RSS ${s.rss.firstMiB} -> ${s.rss.lastMiB} MiB`,
    `server ${s.serverCores.toFixed(2)} cores`,
  ];
  if (s.misses.length) parts.push(`misses: ${s.misses.join('; ')}`);
  return parts.join(', ');
}

function kib(bytes: number | null): string {
  return bytes === null ? 'n/a' : formatCount(bytes / 1024);
}

function isMemoryMiss(miss: string): boolean {
  return miss.startsWith('RSS ');
}

function pair(a: number | null, b: number | null): string {
  return `${num(a, 0)} / ${num(b, 0)}`;
}

function num(v: number | null, digits: number): string {
  if (v === null || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return 'never';
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

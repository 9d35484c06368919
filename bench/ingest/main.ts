/**
 * `npm run bench:ingest`: sustained durable ingest of toll transactions on this machine, in one run.
 *
 *   Tollstream, Kinesis API (AWS SDK v3, default HTTP/2 transport, PutRecords of 500, concurrent producers)
 *   Tollstream, native API (NDJSON POSTs, a few in flight)
 *   kinesalite, same Kinesis API workload (the usual local stand-in for Kinesis)
 *   References: JSON.parse of the same lines on one core; append + fdatasync of the same bytes
 *   PutRecords latency at half the measured Kinesis API maximum
 *   The SDK producer alone, against an endpoint that stores nothing (the load generator's own ceiling)
 *   Replay: a load generator process sending pre-built bodies (PutRecords over h2c, SigV4 per request; NDJSON
 *   over HTTP/1.1), against the endpoint that stores nothing and against Tollstream
 *
 * Flags: --quick (short phases), --duration SECONDS, --producers N, --native-batch N, --native-inflight N,
 * --shards N, --phases references,sdk,kinesis,native,latency,kinesalite,replay, --cpu-prof (profile the server).
 * See docs/benchmarks.md.
 */
import { CreateStreamCommand, DescribeStreamSummaryCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { summarizeCpuProfile, type ProfileSummary, type TimeWindow } from '../lib/cpu-profile.ts';
import { cpuMeter } from '../lib/cpu-usage.ts';
import { defaultTransportKinesisClient, http1KinesisClient, recordWireTimings, type WireTiming } from '../lib/kinesis-clients.ts';
import { describeMachine } from '../lib/machine.ts';
import { fetchFsyncHistogram, fsyncsBetween } from '../lib/metrics.ts';
import { createAgent, createStream } from '../lib/native-client.ts';
import { REPO_ROOT, startTollstream, type ServerProcess } from '../../bin/processes.ts';
import { startKinesalite, startNullKinesis } from '../lib/kinesis-endpoints.ts';
import { createRng } from '../lib/rng.ts';
import { sleep, summarizeLatencies } from '../lib/stats.ts';
import { encodedTollTransactions, type TollTransaction } from '../lib/toll-payload.ts';
import { startLoadGenerator, type LoadGenerator, type LoadRunResult, type PoolRecord } from '../lib/loadgen/client.ts';
import { closedLoop, nativeAppendSender, openLoop, putRecordsSender, type LoadResult } from './load.ts';
import { measureAppendFdatasync, measureJsonParse } from './references.ts';
import { printReport, type IngestResults, type PhaseResult } from './report.ts';

const PAYLOAD_SEED = 20_261_126;
const KINESIS_BATCH = 500;
const PHASES = ['references', 'sdk', 'kinesis', 'native', 'latency', 'kinesalite', 'replay'] as const;
type Phase = (typeof PHASES)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    producers: { type: 'string', default: '8' },
    'native-batch': { type: 'string', default: '1000' },
    'native-inflight': { type: 'string', default: '4' },
    shards: { type: 'string', default: '4' },
    phases: { type: 'string', default: PHASES.join(',') },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

const durationMs = Number(flags.duration ?? (flags.quick ? 3 : 10)) * 1000;
const warmupMs = flags.quick ? 1000 : 2000;
const producers = positiveInt(flags.producers, '--producers');
const nativeBatch = positiveInt(flags['native-batch'], '--native-batch');
const nativeInflight = positiveInt(flags['native-inflight'], '--native-inflight');
const shardCount = positiveInt(flags.shards, '--shards');
const phases = new Set(flags.phases.split(',').map((p) => p.trim()));
for (const p of phases) if (!PHASES.includes(p as Phase)) throw new Error(`unknown phase '${p}'; phases are ${PHASES.join(', ')}`);
const runs = (p: Phase) => phases.has(p);

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// The payload: the same toll transactions for every phase.
const rng = createRng(PAYLOAD_SEED);
const pool = encodedTollTransactions(rng, 20_000);
const lines = pool.map((b) => b.toString('utf8'));
const avgRecordBytes = pool.reduce((n, b) => n + b.length, 0) / pool.length;
const kinesisBatches: PutRecordsRequestEntry[][] = [];
for (let i = 0; i + KINESIS_BATCH <= pool.length; i += KINESIS_BATCH) {
  kinesisBatches.push(
    pool.slice(i, i + KINESIS_BATCH).map((data, j) => ({ Data: data, PartitionKey: (JSON.parse(lines[i + j]!) as { customer_id: string }).customer_id })),
  );
}
const nativeBodies: Buffer[] = [];
for (let i = 0; i + nativeBatch <= pool.length; i += nativeBatch) nativeBodies.push(Buffer.from(lines.slice(i, i + nativeBatch).join('\n') + '\n'));
if (nativeBodies.length === 0) throw new Error(`--native-batch ${nativeBatch} is larger than the payload pool (${pool.length})`);

// The same records for the load generator process, which builds its bodies from them once.
const replayPool: PoolRecord[] = lines.map((l) => ({ transaction: JSON.parse(l) as TollTransaction, eventOffsetMs: 0, duplicate: false }));

const results: IngestResults = {
  date: new Date().toISOString(),
  machine: describeMachine(),
  settings: { durationMs, warmupMs, producers, kinesisBatch: KINESIS_BATCH, nativeBatch, nativeInflight, shardCount, avgRecordBytes: Math.round(avgRecordBytes), fsync: 'always' },
  phases: {},
};

const workDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-'));
const profileDir = path.join(workDir, 'cpu-profile');
let tollstream: ServerProcess | undefined;
let kinesalite: ServerProcess | undefined;
let loadgen: LoadGenerator | undefined;
let profile: ProfileSummary | undefined;
/** The measured phases of the server under test, to cut its CPU profile to them. */
const profileWindows: TimeWindow[] = [];
try {
  log(`payload: ${pool.length} toll transactions, ${Math.round(avgRecordBytes)} bytes each on average; phases of ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up`);

  if (runs('references')) {
    log('reference: JSON.parse of each NDJSON line on one core');
    const parse = measureJsonParse(lines, durationMs);
    results.phases.jsonParse = { recordsPerSecond: parse.recordsPerSecond, records: parse.records, seconds: parse.seconds };
    for (const batchRecords of [...new Set([KINESIS_BATCH, nativeBatch])]) {
      log(`reference: append + fdatasync of ${batchRecords}-record batches`);
      const batch = Buffer.from(lines.slice(0, batchRecords).join('\n') + '\n');
      const r = measureAppendFdatasync(workDir, batch, batchRecords, durationMs / 2);
      results.phases[`fdatasync${batchRecords}`] = {
        recordsPerSecond: r.recordsPerSecond,
        records: r.records,
        seconds: r.seconds,
        extra: { batchBytes: r.batchBytes, syncsPerSecond: round1(r.syncsPerSecond), megabytesPerSecond: round1(r.megabytesPerSecond) },
      };
    }
  }

  if (runs('sdk')) {
    log(`reference: the SDK producer alone, ${producers} producers, PutRecords of ${KINESIS_BATCH} to an endpoint that stores nothing`);
    const nullServer = await startNullKinesis();
    try {
      const clients = Array.from({ length: producers }, () => defaultTransportKinesisClient(nullServer.url, { requestTimeoutMs: 30_000 }));
      const meter = cpuMeter(nullServer.pid);
      meter.start();
      const r = await closedLoop({ concurrency: producers, batchRecords: KINESIS_BATCH, warmupMs, durationMs, send: putRecordsSender(clients, 'bench_kinesis', kinesisBatches) });
      results.phases.sdkAlone = phaseResult(r, meter.stop());
      for (const c of clients) c.destroy();
    } finally {
      await nullServer.stop();
    }
  }

  if (runs('replay')) {
    loadgen = await startLoadGenerator();
    const k = await loadgen.prepare({ name: 'kinesis', kind: 'kinesis', stream: 'bench_kinesis', records: replayPool, batch: KINESIS_BATCH, unique: false });
    const n = await loadgen.prepare({ name: 'native', kind: 'native', stream: 'bench_native', records: replayPool, batch: nativeBatch, unique: false });
    log(`load generator (pid ${loadgen.pid}): ${k.bodies} PutRecords bodies and ${n.bodies} NDJSON bodies built in ${k.buildMs + n.buildMs} ms`);
    if (producers >= k.bodies || nativeInflight >= n.bodies) throw new Error('the payload pool makes too few bodies for the requests in flight');
    log(`reference: the load generator alone, ${producers} PutRecords of ${KINESIS_BATCH} in flight over ${producers} HTTP/2 sessions, to an endpoint that stores nothing`);
    const nullServer = await startNullKinesis();
    try {
      const meter = cpuMeter(nullServer.pid);
      meter.start();
      const r = await loadgen.run({ name: 'kinesis', url: nullServer.url, durationMs, warmupMs, concurrency: producers, connections: producers });
      results.phases.replayAlone = replayResult(r, meter.stop());
    } finally {
      await nullServer.stop();
    }
  }

  if (runs('kinesis') || runs('native') || runs('latency') || runs('replay')) {
    log('starting tollstream');
    tollstream = await startTollstream({
      dataDir: path.join(workDir, 'data'),
      port: 0,
      logLevel: 'warn',
      nodeArgs: flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    const agent = createAgent(nativeInflight + 1);
    await createStream(agent, tollstream.url, { name: 'bench_kinesis', shardCount });
    await createStream(agent, tollstream.url, { name: 'bench_native', shardCount });
    const clients = Array.from({ length: producers }, () => defaultTransportKinesisClient(tollstream!.url, { requestTimeoutMs: 30_000 }));
    const wireTimings: WireTiming[] = [];
    for (const c of clients) recordWireTimings(c, (t) => wireTimings.push(t));
    const meter = cpuMeter(tollstream.pid);

    let kinesisRate: number | undefined;
    if (runs('kinesis') || runs('latency')) {
      log(`tollstream Kinesis API: ${producers} producers, PutRecords of ${KINESIS_BATCH}`);
      const fsyncBefore = await fetchFsyncHistogram(tollstream.url);
      meter.start();
      const r = await closedLoop({ concurrency: producers, batchRecords: KINESIS_BATCH, warmupMs, durationMs, send: putRecordsSender(clients, 'bench_kinesis', kinesisBatches) });
      results.phases.tollstreamKinesis = { ...phaseResult(r, meter.stop(), profileWindows), ...(await fsyncFigures(tollstream.url, fsyncBefore)) };
      kinesisRate = r.recordsPerSecond;
    }
    if (runs('native')) {
      log(`tollstream native API: NDJSON POSTs of ${nativeBatch}, ${nativeInflight} in flight`);
      const url = `${tollstream.url}/v1/streams/bench_native/records?partitionKeyField=customer_id`;
      const fsyncBefore = await fetchFsyncHistogram(tollstream.url);
      meter.start();
      const r = await closedLoop({ concurrency: nativeInflight, batchRecords: nativeBatch, warmupMs, durationMs, send: nativeAppendSender(agent, url, nativeBodies) });
      results.phases.tollstreamNative = { ...phaseResult(r, meter.stop(), profileWindows), ...(await fsyncFigures(tollstream.url, fsyncBefore)) };
    }
    if (runs('latency') && kinesisRate !== undefined && kinesisRate > 0) {
      const target = kinesisRate / 2;
      log(`PutRecords latency at ${Math.round(target)} records/s (half the measured maximum)`);
      const fsyncBefore = await fetchFsyncHistogram(tollstream.url);
      wireTimings.length = 0;
      const measureFrom = performance.now() + warmupMs;
      meter.start();
      const r = await openLoop({ recordsPerSecond: target, batchRecords: KINESIS_BATCH, warmupMs, durationMs, send: putRecordsSender(clients, 'bench_kinesis', kinesisBatches) });
      results.phases.putRecordsLatency = {
        ...phaseResult(r, meter.stop(), profileWindows),
        targetRecordsPerSecond: target,
        wireLatency: summarizeLatencies(wireTimings.filter((t) => t.at >= measureFrom).map((t) => t.ms)),
        ...(await fsyncFigures(tollstream.url, fsyncBefore)),
      };
    }
    if (runs('replay') && loadgen) {
      log(`tollstream Kinesis API from the load generator: ${producers} PutRecords of ${KINESIS_BATCH} in flight over ${producers} HTTP/2 sessions, signed per request`);
      let fsyncBefore = await fetchFsyncHistogram(tollstream.url);
      meter.start();
      const r = await loadgen.run({ name: 'kinesis', url: tollstream.url, durationMs, warmupMs, concurrency: producers, connections: producers });
      results.phases.tollstreamKinesisReplay = { ...replayResult(r, meter.stop(), profileWindows), ...(await fsyncFigures(tollstream.url, fsyncBefore)) };
      log(`tollstream native API from the load generator: NDJSON POSTs of ${nativeBatch}, ${nativeInflight} in flight`);
      fsyncBefore = await fetchFsyncHistogram(tollstream.url);
      meter.start();
      const rn = await loadgen.run({ name: 'native', url: tollstream.url, durationMs, warmupMs, concurrency: nativeInflight, connections: nativeInflight });
      results.phases.tollstreamNativeReplay = { ...replayResult(rn, meter.stop(), profileWindows), ...(await fsyncFigures(tollstream.url, fsyncBefore)) };
    }
    for (const c of clients) c.destroy();
    agent.destroy();
    await tollstream.stop(30_000);
    tollstream = undefined;
    if (flags['cpu-prof']) profile = await readProfile(profileDir);
  }

  if (runs('kinesalite')) {
    log('starting kinesalite (in-memory)');
    kinesalite = await startKinesalite();
    const clients = Array.from({ length: producers }, () => http1KinesisClient(kinesalite!.url, 1, { requestTimeoutMs: 120_000 }));
    await clients[0]!.send(new CreateStreamCommand({ StreamName: 'bench_kinesis', ShardCount: shardCount }));
    for (let i = 0; ; i++) {
      const d = await clients[0]!.send(new DescribeStreamSummaryCommand({ StreamName: 'bench_kinesis' }));
      if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      if (i > 100) throw new Error('kinesalite stream did not become ACTIVE');
      await sleep(50);
    }
    log(`kinesalite Kinesis API: ${producers} producers, PutRecords of ${KINESIS_BATCH}`);
    const meter = cpuMeter(kinesalite.pid);
    meter.start();
    const r = await closedLoop({ concurrency: producers, batchRecords: KINESIS_BATCH, warmupMs, durationMs, send: putRecordsSender(clients, 'bench_kinesis', kinesisBatches) });
    results.phases.kinesalite = phaseResult(r, meter.stop());
    for (const c of clients) c.destroy();
    await kinesalite.stop();
    kinesalite = undefined;
  }
} finally {
  await loadgen?.close();
  await tollstream?.stop(5000);
  await kinesalite?.stop(5000);
  await rm(workDir, { recursive: true, force: true });
}

printReport(results, profile);
const resultsDir = path.join(REPO_ROOT, 'bench/results');
await mkdir(resultsDir, { recursive: true });
const file = path.join(resultsDir, `ingest-${results.date.replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify({ ...results, ...(profile ? { serverCpuProfile: profile } : {}) }, null, 2) + '\n');
console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);

function phaseResult(
  r: LoadResult,
  cpu: { serverCores: number; loadGeneratorCores: number; window: TimeWindow },
  windows?: TimeWindow[],
): PhaseResult {
  windows?.push(cpu.window);
  return {
    recordsPerSecond: r.recordsPerSecond,
    records: r.records,
    seconds: r.seconds,
    requests: r.requests,
    failedRecords: r.failedRecords,
    failedRequests: r.failedRequests,
    ...(r.firstError ? { firstError: r.firstError } : {}),
    latency: summarizeLatencies(r.latenciesMs),
    serverCores: cpu.serverCores,
    loadGeneratorCores: cpu.loadGeneratorCores,
  };
}

/** A phase sent by the load generator process: its own CPU is the load generator's cores. */
function replayResult(r: LoadRunResult, cpu: { serverCores: number; loadGeneratorCores: number; window: TimeWindow }, windows?: TimeWindow[]): PhaseResult {
  windows?.push(cpu.window);
  return {
    recordsPerSecond: r.records / r.seconds,
    records: r.records,
    seconds: r.seconds,
    requests: r.requests,
    failedRecords: r.failedRecords,
    failedRequests: r.failedRequests,
    ...(r.firstError ? { firstError: r.firstError } : {}),
    latency: r.latency,
    serverCores: cpu.serverCores,
    loadGeneratorCores: r.cores,
    extra: { signUsPerRequest: r.signUsPerRequest },
  };
}

/** The server's fsyncs during a phase (warm-up included), from its /metrics histogram. */
async function fsyncFigures(url: string, before: Awaited<ReturnType<typeof fetchFsyncHistogram>>): Promise<Pick<PhaseResult, 'extra'>> {
  const after = await fetchFsyncHistogram(url);
  const f = before && after ? fsyncsBetween(before, after) : undefined;
  if (!f) return {};
  return { extra: { fsyncs: f.fsyncs, fsyncMeanMs: f.meanMs, fsyncP50AtMostMs: f.p50AtMostMs, fsyncP99AtMostMs: f.p99AtMostMs } };
}

async function readProfile(dir: string): Promise<ProfileSummary | undefined> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    log(`no CPU profile was written to ${dir} (the server must exit normally on SIGTERM for --cpu-prof to write one)`);
    return undefined;
  }
  // Kept outside the repository: open it in Chrome DevTools or VS Code for the call tree.
  const kept = path.join(os.tmpdir(), `tollstream-server-${Date.now()}.cpuprofile`);
  await copyFile(path.join(dir, files[0]!), kept);
  log(`server CPU profile kept at ${kept}`);
  return summarizeCpuProfile(kept, { top: 25, repoRoot: REPO_ROOT, windows: profileWindows });
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

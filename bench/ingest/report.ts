/** The readable table of `bench:ingest`, and its targets with an honest PASS/MISS each. */
import type { ProfileSummary } from '../lib/cpu-profile.ts';
import type { MachineDescription } from '../lib/machine.ts';
import { formatCount, formatTable, type LatencySummary } from '../lib/stats.ts';

export interface PhaseResult {
  readonly recordsPerSecond: number;
  readonly records: number;
  readonly seconds: number;
  readonly requests?: number;
  readonly failedRecords?: number;
  readonly failedRequests?: number;
  readonly firstError?: string;
  readonly latency?: LatencySummary;
  readonly serverCores?: number;
  readonly loadGeneratorCores?: number;
  readonly targetRecordsPerSecond?: number;
  /** Request latency without the SDK's own work: request handed to the transport until response headers. */
  readonly wireLatency?: LatencySummary;
  readonly extra?: Readonly<Record<string, number>>;
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

export interface IngestResults {
  readonly date: string;
  readonly machine: MachineDescription;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly phases: Record<string, PhaseResult>;
  targets?: readonly Target[];
  /** Rates divided by the cores the server used: less sensitive to other work on the machine. */
  cpuNormalized?: Readonly<Record<string, number>>;
}

const LABELS: Readonly<Record<string, string>> = {
  tollstreamKinesis: 'Tollstream, Kinesis API (SDK v3, h2c, PutRecords 500)',
  tollstreamNative: 'Tollstream, native API (NDJSON POST)',
  kinesalite: 'kinesalite, Kinesis API (SDK v3, HTTP/1.1, PutRecords 500)',
  jsonParse: 'reference: JSON.parse per line, one core',
  sdkAlone: 'reference: SDK producer alone (endpoint stores nothing)',
  putRecordsLatency: 'PutRecords at half the Kinesis API maximum',
  replayAlone: 'reference: load generator alone (pre-built PutRecords, SigV4 per request, h2c; endpoint stores nothing)',
  tollstreamKinesisReplay: 'Tollstream, Kinesis API from the load generator (pre-built PutRecords, SigV4 per request, h2c)',
  tollstreamNativeReplay: 'Tollstream, native API from the load generator (pre-built NDJSON)',
};

function label(key: string): string {
  const fsync = /^fdatasync(\d+)$/.exec(key);
  if (fsync) return `reference: append + fdatasync, batches of ${fsync[1]}`;
  return LABELS[key] ?? key;
}

const ratio = (a?: PhaseResult, b?: PhaseResult) => (a && b && b.recordsPerSecond > 0 ? a.recordsPerSecond / b.recordsPerSecond : undefined);

/**
 * The targets of issue 13 for ingest, from the phases that ran. "Kinesis API / SDK producer alone" is the same
 * SDK producer (same producers, same batches) against Tollstream over against an endpoint that stores nothing:
 * how much of what a user's client can send the server takes. A phase that did not run makes its target NOT RUN.
 */
export function ingestTargets(p: Readonly<Record<string, PhaseResult>>): Target[] {
  const nativeVsParse = ratio(p.tollstreamNative, p.jsonParse);
  const kinesisVsSdk = ratio(p.tollstreamKinesis, p.sdkAlone);
  const p99 = p.putRecordsLatency?.latency?.p99Ms;
  const latencyClean = p.putRecordsLatency !== undefined && (p.putRecordsLatency.failedRequests ?? 0) === 0;
  const kinesisClean = (p.tollstreamKinesis?.failedRecords ?? 0) === 0 && (p.tollstreamKinesis?.failedRequests ?? 0) === 0;
  return [
    { name: 'native / JSON.parse', goal: '>= 0.5', measured: fmtRatio(nativeVsParse), pass: nativeVsParse === undefined ? undefined : nativeVsParse >= 0.5 },
    {
      name: 'Kinesis API / SDK producer alone',
      goal: '>= 0.9',
      measured: fmtRatio(kinesisVsSdk),
      pass: kinesisVsSdk === undefined ? undefined : kinesisVsSdk >= 0.9 && kinesisClean,
    },
    {
      name: 'PutRecords p99 at half max rate',
      goal: '<= 20 ms',
      measured: p99 === undefined || Number.isNaN(p99) ? 'n/a' : `${p99} ms`,
      pass: p99 === undefined || Number.isNaN(p99) ? undefined : p99 <= 20 && latencyClean,
    },
  ];
}

/** Computes the targets, stores them in `results`, prints everything on stdout. */
export function printReport(results: IngestResults, profile?: ProfileSummary): void {
  const p = results.phases;
  const targets = ingestTargets(p);
  results.targets = targets;

  const m = results.machine;
  console.log(`\nTollstream ingest benchmark, ${results.date}`);
  console.log(`${m.cpuModel} x${m.cpuCount}, ${Math.round(m.memoryBytes / 2 ** 30)} GiB, ${m.os}, node ${m.nodeVersion}, load average ${m.loadAverage.join(' ')} at start`);
  console.log(`settings: ${JSON.stringify(results.settings)}`);
  console.log('load generator and server share the same cores; all traffic on 127.0.0.1');
  console.log('loadgen cores: this process (the SDK producers, the native client), or on the load generator rows that separate process\n');

  const rows = Object.entries(p).map(([key, r]) => [
    label(key),
    formatCount(r.recordsPerSecond),
    r.latency && r.latency.count > 0 ? `${r.latency.p50Ms} / ${r.latency.p99Ms}` : '',
    r.serverCores === undefined || Number.isNaN(r.serverCores) ? '' : r.serverCores.toFixed(2),
    r.serverCores === undefined || !(r.serverCores > 0) ? '' : formatCount(r.recordsPerSecond / r.serverCores),
    r.loadGeneratorCores === undefined ? '' : r.loadGeneratorCores.toFixed(2),
    r.failedRecords || r.failedRequests ? `${r.failedRecords ?? 0} rec / ${r.failedRequests ?? 0} req` : '',
  ]);
  console.log(formatTable(['figure', 'records/s', 'req ms p50 / p99', 'server cores', 'rec/s per server core', 'loadgen cores', 'failures'], rows));
  for (const [key, r] of Object.entries(p)) if (r.firstError) console.log(`  ${label(key)}: first error: ${r.firstError}`);
  for (const [key, r] of Object.entries(p)) {
    if (r.extra) console.log(`  ${label(key)}: ${Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  if (p.putRecordsLatency?.targetRecordsPerSecond !== undefined) {
    const l = p.putRecordsLatency;
    console.log(`  paced load: target ${formatCount(l.targetRecordsPerSecond!)} records/s, achieved ${formatCount(l.recordsPerSecond)}; ` +
      `latency from the moment each request was due: p50 ${l.latency?.p50Ms} ms, p90 ${l.latency?.p90Ms} ms, p99 ${l.latency?.p99Ms} ms, max ${l.latency?.maxMs} ms (${l.latency?.count} requests)`);
    if (l.wireLatency) {
      console.log(`  on the wire (signed request handed to the transport until response headers, no SDK work, no queueing in the SDK): ` +
        `p50 ${l.wireLatency.p50Ms} ms, p90 ${l.wireLatency.p90Ms} ms, p99 ${l.wireLatency.p99Ms} ms, max ${l.wireLatency.maxMs} ms`);
    }
  }

  // The same ratios per core used, which hold up better than raw rates when other work shares the machine.
  const perCore = (r?: PhaseResult) => (r?.serverCores && r.serverCores > 0 ? r.recordsPerSecond / r.serverCores : undefined);
  const nativePerCore = perCore(p.tollstreamNative);
  const kinesisPerCore = perCore(p.tollstreamKinesis);
  const kinesalitePerCore = perCore(p.kinesalite);
  const kinesisVsKinesalite = ratio(p.tollstreamKinesis, p.kinesalite);
  const info: string[] = [];
  results.cpuNormalized = {
    ...(nativePerCore && p.jsonParse ? { nativePerCoreOverJsonParse: nativePerCore / p.jsonParse.recordsPerSecond } : {}),
    ...(kinesisPerCore && kinesalitePerCore ? { kinesisPerCoreOverKinesalitePerCore: kinesisPerCore / kinesalitePerCore } : {}),
  };
  if (nativePerCore && p.jsonParse) info.push(`native per server core / JSON.parse on one core: ${fmtRatio(nativePerCore / p.jsonParse.recordsPerSecond)}`);
  if (kinesisPerCore && kinesalitePerCore) info.push(`Kinesis API per server core / kinesalite per server core: ${fmtRatio(kinesisPerCore / kinesalitePerCore)}`);
  const replayPerCore = perCore(p.tollstreamKinesisReplay);
  if (kinesisVsKinesalite !== undefined) info.push(`Kinesis API / kinesalite (raw rates): ${fmtRatio(kinesisVsKinesalite)}`);
  if (p.tollstreamKinesisReplay && p.replayAlone) info.push(`Kinesis API from the load generator / load generator alone: ${fmtRatio(ratio(p.tollstreamKinesisReplay, p.replayAlone))}`);
  if (replayPerCore && p.jsonParse) info.push(`Kinesis API from the load generator per server core / JSON.parse on one core: ${fmtRatio(replayPerCore / p.jsonParse.recordsPerSecond)}`);

  console.log('\ntargets');
  console.log(formatTable(['target', 'goal', 'measured', 'result'], targets.map((t) => [t.name, t.goal, t.measured, t.pass === undefined ? 'NOT RUN' : t.pass ? 'PASS' : 'MISS'])));
  if (info.length > 0) console.log(`for information (not targets): ${info.join('; ')}`);

  if (profile) {
    console.log(`\nserver CPU profile of the measured windows: ${profile.totalMs} ms sampled, main thread ${profile.idlePercent}% idle;` +
      ` self time by function, % of the ${profile.busyMs} busy ms:`);
    console.log(formatTable(['function', 'self ms', '% busy'], profile.byFunction.map((l) => [l.name, String(l.selfMs), l.percent.toFixed(1)])));
    console.log('\nby file:');
    console.log(formatTable(['file', 'self ms', '% busy'], profile.byFile.map((l) => [l.name, String(l.selfMs), l.percent.toFixed(1)])));
  }
}

function fmtRatio(r: number | undefined): string {
  return r === undefined ? 'n/a' : r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3);
}

/**
 * One step of the end-to-end load search: simulator traffic at a target rate for a bounded time through the
 * Kinesis API against the running server, planted breaches spread over it, then a bounded drain. Judges the
 * step on the four conditions of a sustained rate (see docs/benchmarks.md, `npm run bench:e2e`).
 */
import { runSimulation, TrafficGenerator, type Sink } from '../../src/simulator/index.ts';
import { replayWithPlants, type NotificationWatcher, type PlantingSink } from '../lib/alerts.ts';
import { cpuMeter, processCpuSeconds } from '../lib/cpu-usage.ts';
import type { LoadGenerator, LoadRunResult } from '../lib/loadgen/client.ts';
import { percentile, round, sleep, summarizeLatencies, type LatencySummary } from '../lib/stats.ts';
import type { Sample, ServerSampler } from './sampler.ts';
import { checkpointFigures, RATE_GOALS, stepWindows, type BreachTiming, type CheckpointFigures, type WindowFigures } from './windows.ts';

/** Limits a step must hold to count as sustained. */
export const LIMITS = {
  /** Share of the target rate the producers must get acknowledged. */
  ingestShare: 0.95,
  /** A lag gauge may rise by at most this much from the first to the last third of the step. */
  lagGrowthMs: 1000,
  breachP99Ms: 2000,
  freshnessP99Seconds: 10,
  /**
   * RSS, less the producer dedupe windows (`tollstream_dedupe_bytes`: they fill up to a set bound of keys, 1M
   * by default, before they level off, which takes minutes at these rates), may rise by at most this much (plus
   * `rssGrowthShare` of where it started) from the first to the last third.
   */
  rssGrowthBytes: 32 * 1024 * 1024,
  rssGrowthShare: 0.05,
  /** Freshness samples in the first seconds of a step are left out: they still show the pause before it. */
  freshnessWarmupMs: 2000,
} as const;

export interface StepContext {
  readonly serverPid: number;
  readonly serverUrl: string;
  /** The replaying load generator process, with bodies prepared under `REPLAY_BODIES`; without it the SDK sends. */
  readonly loadgen?: LoadGenerator;
  /** Connections (HTTP/2 sessions) of the load generator: one per producer. */
  readonly producers: number;
  readonly sampler: ServerSampler;
  readonly sink: PlantingSink;
  readonly watchers: readonly NotificationWatcher[];
  readonly customers: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Unique records acknowledged so far over the whole run (shared across steps). */
  readonly ledger: { acknowledged: number };
  readonly log: (line: string) => void;
}

export interface StepOptions {
  readonly index: number;
  readonly rate: number;
  readonly durationMs: number;
  /** Longest wait after the traffic for this step's notifications and for the pipeline to catch up. */
  readonly drainMs: number;
  /** Customers whose planted breaches fall in this step. */
  readonly plantedCustomers: readonly string[];
  /** Send through the AWS SDK producers even when a load generator is there (the reference step). */
  readonly sdk?: boolean;
}

/** The name the e2e toll bodies are prepared under in the load generator. */
export const REPLAY_BODIES = 'e2e-tolls';

/** First-third and last-third means of a gauge over the traffic, and their difference. */
export interface Trend {
  readonly first: number | null;
  readonly last: number | null;
  readonly max: number | null;
  readonly grew: boolean;
}

export interface StepResult {
  readonly rate: number;
  readonly durationMs: number;
  readonly accepted: number;
  readonly failed: number;
  readonly achievedRate: number;
  readonly putRecordsMs: LatencySummary;
  readonly functionAgeMs: Trend;
  readonly deliveryBehindMs: Trend;
  readonly queryLagMs: Trend;
  /** Unique acknowledged records the spend function / the delivery had not taken when the traffic stopped. */
  readonly functionBacklog: number;
  readonly deliveryBacklog: number;
  readonly freshnessSeconds: { readonly samples: number; readonly p50: number | null; readonly p99: number | null; readonly max: number | null };
  readonly breaches: { readonly planted: number; readonly acknowledged: number; readonly notified: number; readonly fromAck: LatencySummary; readonly fromRequest: LatencySummary };
  /** Server RSS over the traffic; `series` is one value a second, to see whether it levels off. */
  readonly rss: { readonly firstMiB: number; readonly lastMiB: number; readonly peakMiB: number; readonly grew: boolean; readonly series: readonly number[] };
  /** The producer dedupe windows' memory, first and last third (left out of the RSS judgement: they grow to a bound). */
  readonly dedupeMiB: { readonly first: number; readonly last: number };
  /** The JavaScript heap in use (from /metrics) at the first and last sample of the traffic: what of RSS is the heap. */
  readonly heapUsedMiB: { readonly first: number; readonly last: number };
  readonly serverCores: number;
  /** Who sent the traffic: the replaying load generator process, or the AWS SDK producers in the benchmark process. */
  readonly producer: 'replay' | 'sdk';
  /** The process that sent the traffic: the load generator's, or the benchmark's own with the SDK producers. */
  readonly loadGeneratorCores: number;
  /** The benchmark process (sampler, notification readers, planted tolls; with the SDK, the producers too). */
  readonly benchCores: number;
  /** The load generator's own figures (replay only): body stamping per record, SHA-256 and SigV4 per request. */
  readonly replay?: Pick<LoadRunResult, 'stampUsPerRecord' | 'signUsPerRequest' | 'cpuSeconds'>;
  readonly serverCpuUsPerRecord: number;
  /** The server's main thread's part of its CPU in the step (0 to 1). */
  readonly serverMainThreadShare: number;
  readonly drainSeconds: number;
  /** The traffic's span on the monotonic clock (µs), to cut a CPU profile to it. */
  readonly window: { readonly fromUs: number; readonly toUs: number };
  /** The step cut into 10 s windows (none when it is shorter than 15 s): whether a held rate stayed held. */
  readonly windows: readonly WindowFigures[];
  /** `achievedRate` over each of `RATE_GOALS` (100,000 and 250,000 tolls/s). */
  readonly goalRatios: readonly number[];
  /** The continuous queries' checkpoints during the traffic (null: no query stored one). */
  readonly checkpoints: CheckpointFigures | null;
  readonly sustained: boolean;
  /** Which conditions failed, in words; empty when sustained. */
  readonly misses: readonly string[];
  readonly error?: string;
}

export async function runStep(ctx: StepContext, options: StepOptions): Promise<StepResult> {
  const { log, sink, ledger } = ctx;
  const start = Date.now();
  options.plantedCustomers.forEach((customerId, i) => {
    sink.plant(customerId, start + Math.round(((i + 1) * options.durationMs) / (options.plantedCustomers.length + 1)));
  });
  const plantedIds = new Set(options.plantedCustomers);
  const generator = new TrafficGenerator({ seed: 20_261_126 + options.index, customers: ctx.customers, startTime: start, eventsPerSecond: options.rate, dailyProfile: false });

  const requestMs: number[] = [];
  const timed: Sink = {
    async send(batch) {
      const t = performance.now();
      const r = await sink.send(batch);
      requestMs.push(performance.now() - t);
      return r;
    },
    close: async () => undefined,
  };

  log(`step ${options.index + 1}: ${options.rate.toLocaleString('en-US')} tolls/s for ${options.durationMs / 1000} s, ${options.plantedCustomers.length} planted breaches`);
  const meter = cpuMeter(ctx.serverPid);
  const plantsBefore = sink.acks.size;
  const trafficStart = performance.now();
  const replaying = ctx.loadgen !== undefined && !options.sdk;
  const loadgenCpuBefore = replaying ? processCpuSeconds(ctx.loadgen!.pid) : Number.NaN;
  meter.start();
  let error: string | undefined;
  let stats = { sent: 0, accepted: 0, failed: 0, elapsedMs: options.durationMs, duplicatesSent: 0 };
  let replay: LoadRunResult | undefined;
  try {
    if (replaying) {
      replay = await replayTraffic(ctx, options.rate, options.durationMs);
      stats = { sent: replay.sentRecords, accepted: replay.records, failed: replay.failedRecords, elapsedMs: options.durationMs, duplicatesSent: replay.records - replay.uniqueRecords };
      ledger.acknowledged += replay.uniqueRecords;
      if (replay.failedRequests > 0) error = `${replay.failedRequests} PutRecords failed: ${replay.firstError}`;
    } else {
      stats = await runSimulation({
        generator,
        sink: timed,
        rate: options.rate,
        durationMs: options.durationMs,
        batchSize: ctx.batchSize,
        concurrency: ctx.concurrency,
        // Retries the generator sends (same transaction_id) are dropped by the stream's dedupe.
        onAcknowledged: (batch) => {
          for (const r of batch) if (!r.duplicate) ledger.acknowledged++;
        },
      });
    }
  } catch (err) {
    error = (err as Error).message;
    log(`  traffic stopped by an error: ${error}`);
  }
  const cpu = meter.stop();
  const trafficEnd = performance.now();
  const loadgenCores = replaying ? Math.round(((processCpuSeconds(ctx.loadgen!.pid) - loadgenCpuBefore) / ((trafficEnd - trafficStart) / 1000)) * 100) / 100 : cpu.loadGeneratorCores;
  ledger.acknowledged += sink.acks.size - plantsBefore;
  const atEnd = await ctx.sampler.sampleOnce().catch(() => undefined);

  // Drain: until this step's breaches arrived and the function and the delivery took every record, bounded.
  const drainStart = performance.now();
  const arrivedOf = () => ctx.watchers.filter((w) => plantedIds.has(w.customerId) && w.arrivals.length > 0).length;
  for (;;) {
    const last = ctx.sampler.samples[ctx.sampler.samples.length - 1];
    const caughtUp = last !== undefined && last.at > trafficEnd && last.functionRecords >= ledger.acknowledged && last.deliveryRecords >= ledger.acknowledged;
    if ((caughtUp && arrivedOf() >= plantedIds.size) || performance.now() - drainStart > options.drainMs) break;
    await sleep(200);
  }
  const drainSeconds = round((performance.now() - drainStart) / 1000, 1);

  const traffic = ctx.sampler.between(trafficStart, trafficEnd + 1);
  const fromAck: number[] = [];
  const fromRequest: number[] = [];
  const breachTimings: BreachTiming[] = [];
  let notified = 0;
  let acknowledgedPlants = 0;
  for (const [txId, ack] of sink.acks) {
    if (!plantedIds.has(ack.customerId)) continue;
    acknowledgedPlants++;
    // A breach found by the spend query names its window, not the toll; a planted customer breaches only once.
    const arrivals = ctx.watchers.find((w) => w.customerId === ack.customerId)?.arrivals ?? [];
    const arrival = arrivals.find((a) => a.transactionId === txId) ?? arrivals.find((a) => a.transactionId === undefined);
    breachTimings.push({ ackAt: ack.ackAt, latencyMs: arrival ? arrival.at - ack.ackAt : Infinity });
    if (!arrival) continue;
    notified++;
    fromAck.push(arrival.at - ack.ackAt);
    fromRequest.push(arrival.at - ack.issuedAt);
  }
  // A breach not notified within the drain counts as infinitely late, so the p99 shows it.
  const missing = options.plantedCustomers.length - notified;
  for (let i = 0; i < missing; i++) {
    fromAck.push(Infinity);
    fromRequest.push(Infinity);
  }

  // Over the step's set duration: the wait for the last requests in flight after it is not traffic time.
  const elapsedS = options.durationMs / 1000;
  const achievedRate = Math.round(stats.accepted / elapsedS);
  const freshness = traffic
    .filter((s) => s.at >= trafficStart + LIMITS.freshnessWarmupMs && s.freshnessSeconds !== undefined)
    .map((s) => s.freshnessSeconds!)
    .sort((a, b) => a - b);
  const rssValues = traffic.map((s) => s.rssBytes).filter((v) => Number.isFinite(v));
  const rssTrend = trend(rssValues, LIMITS.rssGrowthBytes);
  const judgedTrend = trend(traffic.filter((s) => Number.isFinite(s.rssBytes)).map((s) => s.rssBytes - s.dedupeBytes), LIMITS.rssGrowthBytes);
  const dedupeTrend = trend(traffic.map((s) => s.dedupeBytes), LIMITS.rssGrowthBytes);
  const judgedFirst = judgedTrend.first ?? Number.NaN;
  const rssGrew = judgedTrend.first !== null && judgedTrend.last !== null && judgedTrend.last - judgedTrend.first > LIMITS.rssGrowthBytes + LIMITS.rssGrowthShare * judgedFirst;
  const functionAgeMs = trend(pick(traffic, (s) => s.functionAgeMs), LIMITS.lagGrowthMs);
  const deliveryBehindMs = trend(pick(traffic, (s) => s.deliveryBehindMs), LIMITS.lagGrowthMs);
  const queryLagMs = trend(pick(traffic, (s) => s.queryLagMs), LIMITS.lagGrowthMs);
  const functionBacklog = atEnd ? Math.max(0, ledger.acknowledged - atEnd.functionRecords) : Number.NaN;
  const deliveryBacklog = atEnd ? Math.max(0, ledger.acknowledged - atEnd.deliveryRecords) : Number.NaN;
  const breachFromAck = summarizeLatencies(fromAck);
  const freshnessP99 = freshness.length ? round(percentile(freshness, 99), 2) : null;

  const misses: string[] = [];
  if (error) misses.push(`traffic error: ${error}`);
  if (achievedRate < options.rate * LIMITS.ingestShare) misses.push(`ingest ${achievedRate.toLocaleString('en-US')}/s < ${Math.round(LIMITS.ingestShare * 100)}% of target`);
  if (functionAgeMs.grew) misses.push(`function iterator age grew ${fmt(functionAgeMs.first)} -> ${fmt(functionAgeMs.last)} ms`);
  if (functionBacklog > achievedRate) misses.push(`function backlog ${functionBacklog.toLocaleString('en-US')} records at the end`);
  if (deliveryBehindMs.grew) misses.push(`delivery behind grew ${fmt(deliveryBehindMs.first)} -> ${fmt(deliveryBehindMs.last)} ms`);
  if (queryLagMs.grew) misses.push(`query lag grew ${fmt(queryLagMs.first)} -> ${fmt(queryLagMs.last)} ms`);
  if (!(breachFromAck.p99Ms <= LIMITS.breachP99Ms)) misses.push(`breach p99 ${fmt(breachFromAck.p99Ms)} ms (${notified}/${options.plantedCustomers.length} notified)`);
  if (freshnessP99 === null || freshnessP99 > LIMITS.freshnessP99Seconds) misses.push(`warehouse freshness p99 ${freshnessP99 ?? 'n/a'} s`);
  if (rssGrew) misses.push(`RSS less dedupe windows grew ${mib(judgedTrend.first)} -> ${mib(judgedTrend.last)} MiB`);

  return {
    rate: options.rate,
    durationMs: stats.elapsedMs,
    accepted: stats.accepted,
    failed: stats.failed,
    achievedRate,
    putRecordsMs: replay ? replay.latency : summarizeLatencies(requestMs),
    functionAgeMs,
    deliveryBehindMs,
    queryLagMs,
    functionBacklog,
    deliveryBacklog,
    freshnessSeconds: { samples: freshness.length, p50: freshness.length ? round(percentile(freshness, 50), 2) : null, p99: freshnessP99, max: freshness.length ? freshness[freshness.length - 1]! : null },
    breaches: { planted: options.plantedCustomers.length, acknowledged: acknowledgedPlants, notified, fromAck: breachFromAck, fromRequest: summarizeLatencies(fromRequest) },
    rss: { firstMiB: mib(rssTrend.first), lastMiB: mib(rssTrend.last), peakMiB: mib(rssTrend.max), grew: rssGrew, series: rssValues.filter((_, i) => i % 2 === 0).map(mib) },
    dedupeMiB: { first: mib(dedupeTrend.first), last: mib(dedupeTrend.last) },
    heapUsedMiB: { first: mib(pick(traffic, (s) => s.heapUsedBytes)[0] ?? null), last: mib(pick(traffic, (s) => s.heapUsedBytes).at(-1) ?? null) },
    serverCores: cpu.serverCores,
    producer: replaying ? 'replay' : 'sdk',
    loadGeneratorCores: loadgenCores,
    benchCores: cpu.loadGeneratorCores,
    ...(replay ? { replay: { stampUsPerRecord: replay.stampUsPerRecord, signUsPerRequest: replay.signUsPerRequest, cpuSeconds: replay.cpuSeconds } } : {}),
    serverCpuUsPerRecord: stats.accepted > 0 ? Math.round((cpu.serverCores * elapsedS * 1e6) / stats.accepted) : Number.NaN,
    serverMainThreadShare: cpu.serverMainThreadShare,
    drainSeconds,
    window: cpu.window,
    windows: stepWindows(ctx.sampler.between(trafficStart - 2000, trafficEnd + 2000), breachTimings, trafficStart, trafficEnd),
    goalRatios: RATE_GOALS.map((goal) => round(achievedRate / goal, 3)),
    checkpoints: checkpointFigures(traffic) ?? null,
    sustained: misses.length === 0,
    misses,
    ...(error === undefined ? {} : { error }),
  };
}

function pick(samples: readonly Sample[], f: (s: Sample) => number | undefined): number[] {
  return samples.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
}

function trend(values: readonly number[], allowedGrowth: number): Trend {
  if (values.length === 0) return { first: null, last: null, max: null, grew: false };
  const third = Math.max(1, Math.floor(values.length / 3));
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(values.slice(0, third));
  const last = mean(values.slice(-third));
  return { first: Math.round(first), last: Math.round(last), max: Math.max(...values), grew: last - first > allowedGrowth };
}

/** A figure in words; a breach never notified is an infinite latency, and says so. */
function fmt(v: number | null): string {
  if (v === null || Number.isNaN(v)) return 'n/a';
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'never';
}

function mib(bytes: number | null): number {
  return bytes === null || !Number.isFinite(bytes) ? Number.NaN : Math.round(bytes / 1024 / 1024);
}

/**
 * Traffic that is not judged, before the first step: the server's code gets compiled, its caches and DuckDB's
 * buffers fill, so the first step's memory and latency are not its start-up.
 */
export async function warmUp(ctx: StepContext, rate: number, durationMs: number): Promise<void> {
  ctx.log(`warm-up: ${rate.toLocaleString('en-US')} tolls/s for ${durationMs / 1000} s (not judged)`);
  if (ctx.loadgen) {
    const r = await replayTraffic(ctx, rate, durationMs);
    ctx.ledger.acknowledged += r.uniqueRecords;
    return;
  }
  const generator = new TrafficGenerator({ seed: 20_261_125, customers: ctx.customers, startTime: Date.now(), eventsPerSecond: rate, dailyProfile: false });
  await runSimulation({
    generator,
    sink: ctx.sink,
    rate,
    durationMs,
    batchSize: ctx.batchSize,
    concurrency: ctx.concurrency,
    onAcknowledged: (batch) => {
      for (const r of batch) if (!r.duplicate) ctx.ledger.acknowledged++;
    },
  });
}

/** The step's traffic from the load generator, with the planted tolls sent from this process. */
function replayTraffic(ctx: StepContext, rate: number, durationMs: number): Promise<LoadRunResult> {
  return replayWithPlants(ctx.loadgen!, ctx.sink, { name: REPLAY_BODIES, url: ctx.serverUrl, rate, durationMs, concurrency: ctx.concurrency, connections: ctx.producers });
}

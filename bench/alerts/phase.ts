/**
 * One phase of the alerts benchmark: a fresh `tollstream up` (default pipeline), customers with thresholds
 * watching their notification streams, simulator traffic at a target rate through the Kinesis API with
 * planted breaches at known times, then a bounded drain. Measures breach-to-notification latency from the
 * breaching transaction's acknowledgement to the notification's arrival on the customer's open stream.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kinesisSink } from '../../src/simulator/index.ts';
import { plantingSink, replayWithPlants, THRESHOLD_CENTS } from '../lib/alerts.ts';
import { cpuMeter, processCpuSeconds } from '../lib/cpu-usage.ts';
import { simulatorPool, startLoadGenerator, type LoadGenerator, type LoadRunResult } from '../lib/loadgen/client.ts';
import { startTollstream } from '../../bin/processes.ts';
import { round, sleep, summarizeLatencies, type LatencySummary } from '../lib/stats.ts';
import { NotificationWatcher, sampleMetrics, type MetricsSample } from './watch.ts';

export { PLANTED_CENTS, THRESHOLD_CENTS } from '../lib/alerts.ts';

/** The name the alert phase's toll bodies are prepared under in the load generator. */
const REPLAY_BODIES = 'alerts-tolls';

export interface PhaseOptions {
  readonly label: string;
  /** Target transactions per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Longest wait for the notifications after the traffic stops. */
  readonly drainMs: number;
  readonly customers: number;
  readonly breaches: number;
  readonly batchSize: number;
  /** PutRecords in flight, over `producers` HTTP/2 sessions of the load generator process. */
  readonly concurrency: number;
  readonly producers: number;
  /** Run without the warehouse delivery (`warehouse.enabled: false`), to see what it costs the alerts. @default false */
  readonly noWarehouse?: boolean;
  /** Run the server under `node --cpu-prof`, writing into this directory. */
  readonly cpuProfileDir?: string;
  readonly log: (line: string) => void;
}

export interface PhaseResult {
  readonly label: string;
  readonly targetRate: number;
  readonly durationMs: number;
  readonly sent: number;
  readonly accepted: number;
  readonly failed: number;
  /** Accepted records per second of traffic. */
  readonly achievedRate: number;
  /** Records the spend function committed per second during the traffic. */
  readonly appliedRate: number;
  /** Records per handler invocation during the traffic: small batches cost a transaction commit each. */
  readonly recordsPerInvocation: number;
  /** Acknowledged unique records the function had not yet committed when the traffic stopped. */
  readonly backlogAtEnd: number;
  /** Seconds it took after the traffic stopped until the function had committed everything (undefined: not within the drain). */
  readonly drainSeconds: number | undefined;
  readonly iteratorAgeMs: { readonly firstThird: number; readonly lastThird: number; readonly max: number; readonly atEnd: number };
  /** The function fell further behind during the run (backlog above one second of traffic, or iterator age rising by more than 1 s). */
  readonly lagGrew: boolean;
  readonly breachesPlanted: number;
  readonly breachesSent: number;
  readonly notified: number;
  /** Notifications beyond the first per customer (each planted customer must get exactly one). */
  readonly duplicateNotifications: number;
  /** From the PutRecords acknowledgement of the breaching transaction to the notification read off the stream. */
  readonly latency: LatencySummary;
  /**
   * From the moment the breaching transaction's PutRecords was issued to the notification's arrival. The
   * acknowledgement can come after the notification when the server answers late (the spend function shares
   * its event loop), so the latency from the acknowledgement can be negative; this one cannot.
   */
  readonly latencyFromRequest: LatencySummary;
  /** From the acknowledgement to the notification's `created_at` on the server (leaves out the stream and this process's event loop). */
  readonly latencyToInbox: LatencySummary;
  /** Time of each PutRecords, from issuing it to its acknowledgement (SDK work included). */
  readonly putRecordsMs: LatencySummary;
  /** Server CPU time per accepted record during the traffic, in microseconds (all its threads). */
  readonly serverCpuUsPerRecord: number;
  readonly serverCores: number;
  /** The load generator process (pre-built PutRecords, stamped and signed per request). */
  readonly loadGeneratorCores: number;
  /** This process: the planted tolls, the notification readers, the metrics sampler. */
  readonly benchCores: number;
  readonly samples: readonly MetricsSample[];
  /** The traffic's span on the monotonic clock, to cut a CPU profile to it. */
  readonly window: { readonly fromUs: number; readonly toUs: number };
  readonly error?: string;
}

async function call(url: string, method: string, route: string, body?: unknown, token?: string): Promise<any> {
  const res = await fetch(url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { log } = options;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-alerts-'));
  const configFile = path.join(dataDir, 'bench.config.json');
  if (options.noWarehouse) await writeFile(configFile, JSON.stringify({ warehouse: { enabled: false } }));
  const server = await startTollstream({
    dataDir,
    port: 0,
    ...(options.noWarehouse ? { extraArgs: ['--config', configFile] } : {}),
    nodeArgs: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
  });
  const watchers: NotificationWatcher[] = [];
  let loadgen: LoadGenerator | undefined;
  try {
    // Planted customers spread over the simulated world (ids C0000001..), each with a token and a threshold.
    const step = Math.max(1, Math.floor(options.customers / options.breaches));
    const planted = Array.from({ length: Math.min(options.breaches, options.customers) }, (_, i) => `C${String(1 + i * step).padStart(7, '0')}`);
    for (const id of planted) {
      await call(server.url, 'POST', '/v1/customers', { customer_id: id, email: `${id.toLowerCase()}@example.com` });
      const { token } = await call(server.url, 'POST', `/v1/customers/${id}/tokens`);
      await call(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: THRESHOLD_CENTS }, token);
      watchers.push(new NotificationWatcher(server.url, id, token));
    }
    await Promise.all(watchers.map((w) => w.open()));

    // The traffic comes from the load generator process (pre-built PutRecords bodies of the simulator's tolls,
    // stamped and signed per request), so this process only sends the planted tolls and reads the notifications.
    const bodies = Math.max(40, options.concurrency + 8);
    loadgen = await startLoadGenerator();
    const prepared = await loadgen.prepare({
      name: REPLAY_BODIES,
      kind: 'kinesis',
      stream: 'toll_transactions',
      records: simulatorPool({ seed: 20_261_126, customers: options.customers, count: bodies * options.batchSize }),
      batch: options.batchSize,
      unique: true,
    });
    log(`${options.label}: load generator (pid ${loadgen.pid}): ${prepared.bodies} PutRecords bodies of ${options.batchSize} tolls built in ${prepared.buildMs} ms`);

    // Planted breaches at known wall-clock times spread over the run, each in a PutRecords of its own once due.
    const start = Date.now();
    const sink = plantingSink(kinesisSink({ endpoint: server.url, stream: 'toll_transactions' }));
    planted.forEach((customerId, i) => sink.plant(customerId, start + Math.round(((i + 1) * options.durationMs) / (planted.length + 1))));
    const acks = sink.acks;
    const samples: MetricsSample[] = [];
    const t0 = performance.now();
    let sampling = true;
    // The load generator reports what it had acknowledged when its run ends; during the run the samples carry
    // the planted tolls acknowledged so far.
    let acknowledged = 0;
    const sampler = (async () => {
      while (sampling) {
        try {
          samples.push(await sampleMetrics(server.url, (performance.now() - t0) / 1000, acknowledged + acks.size));
        } catch {
          // A slow answer under load: skip this sample.
        }
        await sleep(1000);
      }
    })();

    log(`${options.label}: ${planted.length} customers watching their streams; traffic at ${options.rate.toLocaleString('en-US')} tolls/s for ${options.durationMs / 1000} s`);
    const meter = cpuMeter(server.pid);
    meter.start();
    const loadgenCpuBefore = processCpuSeconds(loadgen.pid);
    let error: string | undefined;
    let replay: LoadRunResult | undefined;
    try {
      replay = await replayWithPlants(loadgen, sink, { name: REPLAY_BODIES, url: server.url, rate: options.rate, durationMs: options.durationMs, concurrency: options.concurrency, connections: options.producers });
      acknowledged = replay.uniqueRecords;
      if (replay.failedRequests > 0) error = `${replay.failedRequests} PutRecords failed: ${replay.firstError}`;
    } catch (err) {
      error = (err as Error).message;
      log(`  traffic stopped by an error: ${error}`);
    }
    const cpu = meter.stop();
    const trafficEnd = performance.now();
    const loadGeneratorCores = round((processCpuSeconds(loadgen.pid) - loadgenCpuBefore) / ((trafficEnd - t0) / 1000), 2);
    acknowledged += acks.size;
    const stats = replay
      ? { sent: replay.sentRecords + acks.size, accepted: replay.records + acks.size, failed: replay.failedRecords, elapsedMs: options.durationMs }
      : { sent: acks.size, accepted: acks.size, failed: 0, elapsedMs: options.durationMs };
    await sink.close();
    const atEnd = await sampleMetrics(server.url, (trafficEnd - t0) / 1000, acknowledged).catch(() => undefined);
    if (atEnd) samples.push(atEnd);

    // Drain: until every sent breach arrived and the function committed everything, or the drain time is up.
    let drainSeconds: number | undefined;
    const drainDeadline = trafficEnd + options.drainMs;
    for (;;) {
      const arrived = watchers.reduce((n, w) => n + w.arrivals.length, 0);
      const last = samples[samples.length - 1];
      if (drainSeconds === undefined && last && last.t >= (trafficEnd - t0) / 1000 && last.recordsApplied >= acknowledged) drainSeconds = Math.max(0, last.t - (trafficEnd - t0) / 1000);
      if ((arrived >= acks.size && drainSeconds !== undefined) || performance.now() > drainDeadline) break;
      await sleep(250);
    }
    sampling = false;
    await sampler;
    await Promise.all(watchers.map((w) => w.close()));

    const latencies: number[] = [];
    const fromIssue: number[] = [];
    const toInbox: number[] = [];
    let duplicates = 0;
    let notified = 0;
    // A breach from the direct path names its toll; one from the SQL path names its window, so it is matched by
    // customer (each watched customer has exactly one planted toll).
    const plantedByCustomer = new Map([...acks].map(([transactionId, ack]) => [ack.customerId, { ...ack, transactionId }]));
    for (const w of watchers) {
      duplicates += Math.max(0, w.arrivals.length - 1);
      for (const a of w.arrivals) {
        const byToll = a.transactionId === undefined ? undefined : acks.get(a.transactionId);
        const ack = byToll ? { ...byToll, transactionId: a.transactionId! } : plantedByCustomer.get(a.customerId);
        if (!ack) continue;
        notified++;
        latencies.push(a.at - ack.ackAt);
        fromIssue.push(a.at - ack.issuedAt);
        toInbox.push(a.createdAtMs - ack.ackWall);
      }
    }

    const elapsedS = stats.elapsedMs / 1000;
    const traffic = samples.filter((s) => s.t <= (trafficEnd - t0) / 1000 + 0.5);
    const third = Math.max(1, Math.floor(traffic.length / 3));
    const mean = (xs: readonly MetricsSample[]) => (xs.length ? xs.reduce((n, s) => n + s.iteratorAgeMs, 0) / xs.length : 0);
    const firstThird = mean(traffic.slice(0, third));
    const lastThird = mean(traffic.slice(-third));
    const appliedAtEnd = atEnd?.recordsApplied ?? 0;
    const backlogAtEnd = Math.max(0, acknowledged - appliedAtEnd);
    const achievedRate = stats.accepted / elapsedS;
    return {
      label: options.label,
      targetRate: options.rate,
      durationMs: stats.elapsedMs,
      sent: stats.sent,
      accepted: stats.accepted,
      failed: stats.failed,
      achievedRate: Math.round(achievedRate),
      appliedRate: Math.round(appliedAtEnd / elapsedS),
      recordsPerInvocation: atEnd && atEnd.invocations > 0 ? round(appliedAtEnd / atEnd.invocations, 1) : Number.NaN,
      backlogAtEnd,
      drainSeconds: drainSeconds === undefined ? undefined : round(drainSeconds, 1),
      iteratorAgeMs: { firstThird: Math.round(firstThird), lastThird: Math.round(lastThird), max: Math.max(0, ...traffic.map((s) => s.iteratorAgeMs)), atEnd: atEnd?.iteratorAgeMs ?? Number.NaN },
      lagGrew: backlogAtEnd > achievedRate || lastThird > firstThird + 1000,
      breachesPlanted: planted.length,
      breachesSent: acks.size,
      notified,
      duplicateNotifications: duplicates,
      latency: summarizeLatencies(latencies),
      latencyFromRequest: summarizeLatencies(fromIssue),
      latencyToInbox: summarizeLatencies(toInbox),
      putRecordsMs: replay ? replay.latency : summarizeLatencies([]),
      serverCpuUsPerRecord: stats.accepted > 0 ? Math.round((cpu.serverCores * elapsedS * 1e6) / stats.accepted) : Number.NaN,
      serverCores: cpu.serverCores,
      loadGeneratorCores,
      benchCores: cpu.loadGeneratorCores,
      samples,
      window: cpu.window,
      ...(error === undefined ? {} : { error }),
    };
  } finally {
    for (const w of watchers) await w.close();
    await loadgen?.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

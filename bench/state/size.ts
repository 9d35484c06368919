/**
 * One size of the scale-of-state benchmark: a fresh data directory seeded with N customers, `tollstream up`
 * on it (start-up time, idle RSS), paced traffic over all N (RSS, drain until caught up), then traffic again
 * with a SIGKILL of the server in the middle and a restart on the same port (time to /health, time until
 * every toll acknowledged before the kill is in the warehouse and every lag is back near 0), the totals of
 * every customer the tolls went to checked against the acknowledged tolls, and the bytes on disk.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ServerSampler, type Sample } from '../e2e/sampler.ts';
import { cpuMeter } from '../lib/cpu-usage.ts';
import { processRssBytes } from '../lib/process-memory.ts';
import { metricMax, scrapeMetrics } from '../lib/prometheus.ts';
import { findFreePort, startTollstream, type ServerProcess } from '../../bin/processes.ts';
import { sleep } from '../lib/stats.ts';
import { diskUsage, type DiskUsage } from './disk.ts';
import { checkTotals, liveLagsCaughtUp, TotalsProgress, warehouseCount, type TotalsCheck, type WarehouseCount } from './observe.ts';
import { seedCustomers, type SeedResult } from './seed.ts';
import { producers, runTraffic, TrafficLedger, type Producers } from './traffic.ts';

export interface SizeSettings {
  readonly customers: number;
  readonly rate: number;
  readonly trafficMs: number;
  /** Traffic before the SIGKILL in the kill phase. */
  readonly killAfterMs: number;
  /** The longest whole run of this size; seeding that would not leave room for the rest is not done. */
  readonly budgetMs: number;
  /** Time the run needs after seeding (start, traffic, kill and recovery, checks), kept free of seeding. */
  readonly reserveMs: number;
  /** Longest wait for the pipeline to catch up, after the traffic and after the restart. */
  readonly drainMs: number;
  /** False for the baseline: memory only, no kill phase. */
  readonly kill: boolean;
  readonly producers: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly month: string;
  readonly workDir: string;
  readonly log: (line: string) => void;
}

/** Function iterator age, delivery behind latest and query lag (ms); null where the server reported none. */
export interface Lags {
  readonly functionAge: number | null;
  readonly deliveryBehind: number | null;
  readonly query: number | null;
}

function lagsOf(s: Sample | undefined): Lags {
  const ms = (v: number | undefined) => (v === undefined ? null : Math.round(v));
  return { functionAge: ms(s?.functionAgeMs), deliveryBehind: ms(s?.deliveryBehindMs), query: ms(s?.queryLagMs) };
}

export interface SizeResult {
  readonly customers: number;
  readonly status: 'ran' | 'not run' | 'failed';
  /** Why the size was not run or failed. */
  readonly reason?: string;
  readonly seed: SeedResult;
  readonly seconds: number;
  readonly startup?: { readonly readyMs: number; readonly idleRssBytes: number };
  readonly traffic?: {
    readonly acknowledged: number;
    readonly achievedRate: number;
    readonly serverCores: number;
    readonly rssPeakBytes: number;
    readonly rssAtEndBytes: number;
    readonly rssAfterDrainBytes: number;
    /** The lag gauges when the traffic stopped. */
    readonly lagsAtEndMs: Lags;
    /** From the end of the traffic until every acknowledged toll was in the warehouse and in its customer's totals; null when not within the drain. */
    readonly catchUpSeconds: number | null;
  };
  readonly recovery?: {
    readonly killedAfterMs: number;
    /** Acknowledged before the kill; the batches in flight then are acknowledged after the restart. */
    readonly acknowledgedAtKill: number;
    /** From the restart's spawn to `GET /health` 200. */
    readonly readyMs: number;
    /** Where the restart's time went, from the server's own log lines. */
    readonly steps: RestartSteps;
    /** From the restart's spawn until every acknowledged toll was in the warehouse and the totals and the live lags were low; null when not within the drain. */
    readonly caughtUpMs: number | null;
    /** The lag gauges of the sample that found the system caught up (or of the last one). */
    readonly lagsMs: Lags;
    readonly producerRetries: number;
    readonly rssAfterBytes: number;
  };
  readonly check?: { readonly acknowledged: number; readonly warehouse: WarehouseCount; readonly totals: TotalsCheck; readonly invalidRecords: number | undefined };
  readonly stopSeconds?: number;
  readonly disk?: { readonly seeded: DiskUsage; readonly started: DiskUsage; readonly end: DiskUsage };
}

export async function runSize(settings: SizeSettings): Promise<SizeResult> {
  const { log, customers } = settings;
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) / 100) / 10;
  const dataDir = path.join(settings.workDir, `customers-${customers}`, 'data');
  await mkdir(dataDir, { recursive: true });

  log(`seeding ${customers.toLocaleString('en-US')} customers with thresholds and ${settings.month} totals into ${dataDir}`);
  const seed = await seedCustomers({ dataDir, customers, month: settings.month, deadline: started + settings.budgetMs - settings.reserveMs, log });
  if (!seed.complete) {
    const needed = Math.round(customers / Math.max(1, seed.customersPerSecond));
    const reason =
      `seeding at ${seed.customersPerSecond.toLocaleString('en-US')} customers/s would take about ${needed} s for ${customers.toLocaleString('en-US')} customers; ` +
      `with about ${Math.round(settings.reserveMs / 1000)} s for the rest of the run that passes the budget of ${settings.budgetMs / 1000} s (--budget)`;
    log(`  not run: ${reason}`);
    return { customers, status: 'not run', reason, seed, seconds: elapsed() };
  }
  log(`  seeded in ${seed.seconds} s (${seed.customersPerSecond.toLocaleString('en-US')} customers/s)`);
  const seededDisk = await diskUsage(dataDir);

  const port = await findFreePort();
  let server: ServerProcess | undefined;
  let sampler: ServerSampler | undefined;
  let traffic: Producers | undefined;
  const stopTraffic = new AbortController();
  const partial: Partial<Record<keyof SizeResult, unknown>> = {};
  try {
    let spawnedAt = performance.now();
    server = await startTollstream({ dataDir, port, timeoutMs: 180_000 });
    const readyMs = Math.round(performance.now() - spawnedAt);
    await sleep(3000);
    const idleRssBytes = processRssBytes(server.pid);
    const startup = { readyMs, idleRssBytes };
    partial.startup = startup;
    log(`  started in ${readyMs} ms; idle RSS ${mib(idleRssBytes)} MiB`);
    const startedDisk = await diskUsage(dataDir);

    sampler = new ServerSampler(server.url, server.pid, 500);
    sampler.start();
    traffic = producers(server.url, settings.producers, customers);
    const ledger = new TrafficLedger(customers);

    // Steady traffic, then the drain.
    log(`  traffic: ${settings.rate.toLocaleString('en-US')} tolls/s for ${settings.trafficMs / 1000} s over all ${customers.toLocaleString('en-US')} customers`);
    const meter = cpuMeter(server.pid);
    const trafficFrom = performance.now();
    meter.start();
    const steady = await runTraffic({ sink: traffic.sink, ledger, seed: 1, rate: settings.rate, durationMs: settings.trafficMs, batchSize: settings.batchSize, concurrency: settings.concurrency });
    const cpu = meter.stop();
    const rssAtEndBytes = processRssBytes(server.pid);
    const atEnd = await sampler.sampleOnce().catch(() => undefined);
    // The iterator age gauges keep the age of the last record processed, so once the traffic stops they no
    // longer say whether work is left: the drain ends when every acknowledged toll is counted everywhere.
    const steadyTotals = new TotalsProgress(dataDir, ledger.byCustomer);
    const catchUp = await waitFor(settings.drainMs, async () => {
      const s = await sampler!.sampleOnce();
      if (s.functionRecords < ledger.acknowledged || s.deliveryRecords < ledger.acknowledged) return false;
      if ((await warehouseCount(server!.url)).rows < ledger.acknowledged) return false;
      return steadyTotals.caughtUp();
    });
    const rssAfterDrainBytes = processRssBytes(server.pid);
    const peak = Math.max(...sampler.between(trafficFrom, performance.now()).map((s) => s.rssBytes).filter(Number.isFinite), rssAfterDrainBytes);
    partial.traffic = {
      acknowledged: ledger.acknowledged,
      achievedRate: Math.round(steady.accepted / (settings.trafficMs / 1000)),
      serverCores: cpu.serverCores,
      rssPeakBytes: peak,
      rssAtEndBytes,
      rssAfterDrainBytes,
      lagsAtEndMs: lagsOf(atEnd),
      catchUpSeconds: catchUp === null ? null : Math.round(catchUp / 100) / 10,
    };
    log(`  ${ledger.acknowledged.toLocaleString('en-US')} tolls acknowledged; RSS ${mib(rssAtEndBytes)} MiB at the end, ${mib(rssAfterDrainBytes)} MiB after the drain; ${catchUp === null ? 'NOT caught up' : `caught up ${(catchUp / 1000).toFixed(1)} s after the traffic`}`);

    if (settings.kill) {
      // Traffic again, and the server killed in the middle of it. New batches stop at the kill; the batches in
      // flight are retried by the producers until the restarted server (same port) acknowledges them. Caught up
      // again: every toll acknowledged is in the warehouse and in its customer's totals, and the live lag gauges
      // are low.
      const killPhase = runTraffic({ sink: traffic.sink, ledger, seed: 2, rate: settings.rate, durationMs: settings.killAfterMs + 60_000, batchSize: settings.batchSize, concurrency: settings.concurrency, signal: stopTraffic.signal });
      let answered = false;
      const killPhaseAnswered = killPhase.finally(() => (answered = true));
      killPhaseAnswered.catch(() => undefined);
      await sleep(settings.killAfterMs);
      await sampler.stop();
      stopTraffic.abort();
      server.kill('SIGKILL');
      const acknowledgedAtKill = ledger.acknowledged;
      await server.exited;
      log(`  killed the server (SIGKILL) after ${settings.killAfterMs / 1000} s of traffic; ${acknowledgedAtKill.toLocaleString('en-US')} tolls acknowledged by then`);
      spawnedAt = performance.now();
      const spawnedAtWall = Date.now();
      // At level info the server says when it took over the stale lock and how many dedupe keys it re-read.
      server = await startTollstream({ dataDir, port, timeoutMs: 180_000, logLevel: 'info' });
      const restartReadyMs = Math.round(performance.now() - spawnedAt);
      const restartSteps = readRestartLog(server.stderrTail(), spawnedAtWall);
      log(`  restarted: /health answered after ${restartReadyMs} ms (${describeRestart(restartSteps)})`);
      sampler = new ServerSampler(server.url, server.pid, 500);
      let last: Sample | undefined;
      let totals: TotalsProgress | undefined;
      const recovered = await waitFor(settings.drainMs + restartReadyMs, async () => {
        const s = (last = await sampler!.sampleOnce());
        if (!answered || !liveLagsCaughtUp(s)) return false;
        if ((await warehouseCount(server!.url)).rows < ledger.acknowledged) return false;
        // Made once every batch is answered, so the ledger it checks against is complete.
        totals ??= new TotalsProgress(dataDir, ledger.byCustomer);
        return totals.caughtUp();
      });
      const caughtUpMs = recovered === null ? null : Math.round(performance.now() - spawnedAt);
      log(`  ${caughtUpMs === null ? 'NOT caught up within the drain' : `caught up ${caughtUpMs} ms after the restart`} (${ledger.acknowledged.toLocaleString('en-US')} tolls acknowledged in all)`);
      await killPhaseAnswered;
      partial.recovery = {
        killedAfterMs: settings.killAfterMs,
        acknowledgedAtKill,
        readyMs: restartReadyMs,
        steps: restartSteps,
        caughtUpMs,
        lagsMs: lagsOf(last),
        producerRetries: traffic.retries(),
        rssAfterBytes: processRssBytes(server.pid),
      };
    }

    // Every acknowledged toll in the warehouse once, and in its customer's totals once.
    let warehouse = await warehouseCount(server.url);
    await waitFor(settings.drainMs, async () => (warehouse = await warehouseCount(server!.url)).rows >= ledger.acknowledged);
    let totals = checkTotals(dataDir, ledger.byCustomer);
    await waitFor(settings.drainMs, async () => {
      if (totals.counted >= ledger.acknowledged) return true;
      await sleep(1000);
      totals = checkTotals(dataDir, ledger.byCustomer);
      return totals.counted >= ledger.acknowledged;
    });
    const invalidRecords = metricMax(await scrapeMetrics(server.url), 'tollstream_alerts_invalid_records_total');
    partial.check = { acknowledged: ledger.acknowledged, warehouse, totals, invalidRecords };
    log(
      `  check: ${ledger.acknowledged.toLocaleString('en-US')} tolls acknowledged; warehouse ${warehouse.rows.toLocaleString('en-US')} rows (${warehouse.distinctTransactions.toLocaleString('en-US')} distinct); ` +
        `totals of ${totals.customers.toLocaleString('en-US')} customers count ${totals.counted.toLocaleString('en-US')} (${totals.customersDiffering} customers differ; read in ${totals.ms} ms)`,
    );

    await traffic.close();
    traffic = undefined;
    const stopFrom = performance.now();
    await server.stop(60_000);
    partial.stopSeconds = Math.round((performance.now() - stopFrom) / 100) / 10;
    const endDisk = await diskUsage(dataDir);
    partial.disk = { seeded: seededDisk, started: startedDisk, end: endDisk };
    return { customers, status: 'ran', seed, seconds: elapsed(), ...(partial as Omit<SizeResult, 'customers' | 'status' | 'seed' | 'seconds'>) };
  } catch (err) {
    const reason = (err as Error).stack ?? String(err);
    log(`  failed: ${reason}`);
    if (server) log(`  server stderr:\n${server.stderrTail()}`);
    return { customers, status: 'failed', reason, seed, seconds: elapsed(), ...(partial as Omit<SizeResult, 'customers' | 'status' | 'seed' | 'seconds'>) };
  } finally {
    stopTraffic.abort();
    await sampler?.stop();
    await traffic?.close();
    await server?.stop(10_000);
  }
}

/** Polls `ready` until it holds; resolves with the ms it took, or null when `timeoutMs` passed first. */
async function waitFor(timeoutMs: number, ready: () => Promise<boolean>): Promise<number | null> {
  const from = performance.now();
  for (;;) {
    try {
      if (await ready()) return Math.round(performance.now() - from);
    } catch {
      // An answer that did not come in time under load: ask again.
    }
    if (performance.now() - from > timeoutMs) return null;
    await sleep(500);
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

/** The restart's phases as its log lines date them (ms, wall clock); null where a line was missing. */
export interface RestartSteps {
  /** Spawn to the first log line (the stale lock taken over): Node.js, the TypeScript loader and the modules. */
  readonly loadMs: number | null;
  /** The stale lock to the last dedupe window rebuilt: opening the log (recovery of the segments, dedupe windows). */
  readonly openLogMs: number | null;
  /** That to the ready line: warehouse, deliveries, queries from their checkpoints, functions, gateway. */
  readonly restMs: number | null;
  /** Keys of each stream's dedupe window read back from the log. */
  readonly dedupeKeys: Readonly<Record<string, number>>;
}

function readRestartLog(stderr: string, spawnedAtWall: number): RestartSteps {
  const lines: { time: number; msg: string; stream?: string; keys?: number }[] = [];
  for (const text of stderr.split('\n')) {
    try {
      const line = JSON.parse(text) as { time?: string; msg?: string; stream?: string; keys?: number };
      if (line.time && line.msg) lines.push({ ...line, time: Date.parse(line.time), msg: line.msg });
    } catch {
      // not a log line
    }
  }
  const lock = lines.find((l) => l.msg.startsWith('taking over a stale data directory lock'));
  const rebuilt = lines.filter((l) => l.msg === 'rebuilt the dedupe window');
  const ready = lines.find((l) => l.msg === 'ready');
  const logOpened = rebuilt[rebuilt.length - 1] ?? lock;
  const between = (a: { time: number } | undefined, b: { time: number } | undefined) => (a && b ? b.time - a.time : null);
  return {
    loadMs: lock ? lock.time - spawnedAtWall : null,
    openLogMs: between(lock, logOpened),
    restMs: between(logOpened, ready),
    dedupeKeys: Object.fromEntries(rebuilt.map((l) => [l.stream ?? '?', l.keys ?? 0])),
  };
}

export function describeRestart(s: RestartSteps): string {
  const ms = (v: number | null) => (v === null ? 'n/a' : `${v.toLocaleString('en-US')} ms`);
  const keys = Object.values(s.dedupeKeys).reduce((a, b) => a + b, 0);
  return `loading ${ms(s.loadMs)}, opening the log ${ms(s.openLogMs)} with ${keys.toLocaleString('en-US')} dedupe keys, the rest ${ms(s.restMs)}`;
}

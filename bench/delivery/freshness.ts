/**
 * `node bin/run-ts.mjs bench/delivery/freshness.ts`: how fresh the warehouse stays under sustained load
 * through the running server. It starts `tollstream up` (its own process, defaults: fsync always, 2 shards,
 * dedupe by transaction_id, delivery 4 MiB / 1 s), sends toll transactions as NDJSON through the native API at a
 * steady rate, and samples `tollstream_warehouse_freshness_seconds` from /metrics while it does.
 *
 * Flags: --rate R records/s (default 15000, 1000-20000), --seconds S (default 20, 5-60),
 *        --batch N records per request (default 500), --interval-seconds (delivery.bufferIntervalSeconds, default 1),
 *        --fsync always|interval (default always).
 * Bounded: it stops by itself after the load and a drain of at most 30 s, stops the server and removes its dir.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TrafficGenerator } from '../../src/simulator/index.ts';
import { describeMachine } from '../lib/machine.ts';
import { createAgent, failedRecordCount, request } from '../lib/native-client.ts';
import { startTollstream } from '../../bin/processes.ts';
import { formatCount, formatTable, percentile, round, sleep } from '../lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string', default: '15000' },
    seconds: { type: 'string', default: '20' },
    batch: { type: 'string', default: '500' },
    'interval-seconds': { type: 'string', default: '1' },
    fsync: { type: 'string', default: 'always' },
  },
});
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Number.isFinite(v) ? v : lo));
const RATE = clamp(Number(flags.rate), 1000, 20_000);
const SECONDS = clamp(Number(flags.seconds), 5, 60);
const BATCH = clamp(Number(flags.batch), 50, 500);
const INTERVAL = clamp(Number(flags['interval-seconds']), 0, 900);
const FSYNC = flags.fsync === 'interval' ? 'interval' : 'always';
const SAMPLE_MS = 250;
const MAX_IN_FLIGHT = 8;

/** NDJSON bodies of BATCH distinct transactions each, enough for the whole run. */
function bodies(total: number): string[] {
  const generator = new TrafficGenerator({ seed: 5, startTime: Date.parse('2026-11-26T06:00:00Z'), eventsPerSecond: 300 });
  const out: string[] = [];
  let lines: string[] = [];
  let made = 0;
  while (made < total) {
    const g = generator.next();
    if (g.duplicate) continue;
    lines.push(JSON.stringify(g.transaction));
    made++;
    if (lines.length === BATCH) {
      out.push(lines.join('\n'));
      lines = [];
    }
  }
  if (lines.length) out.push(lines.join('\n'));
  return out;
}

async function metric(agent: ReturnType<typeof createAgent>, url: string, name: string): Promise<number | undefined> {
  const text = (await request(agent, `${url}/metrics`, 'GET')).body;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-freshness-'));
const configFile = path.join(dir, 'tollstream.config.json');
await fs.writeFile(
  configFile,
  JSON.stringify({ storage: { fsync: FSYNC }, delivery: { bufferIntervalSeconds: INTERVAL } }),
);
console.log(`warehouse freshness under load: ${formatCount(RATE)} records/s for ${SECONDS} s through the native API, fsync ${FSYNC}, delivery interval ${INTERVAL} s`);
console.log(`machine ${JSON.stringify(describeMachine())}`);
const payloads = bodies(RATE * SECONDS);
const server = await startTollstream({ dataDir: path.join(dir, 'data'), port: 0, extraArgs: ['--config', configFile] });
const agent = createAgent(MAX_IN_FLIGHT);
const metricsAgent = createAgent(1);
try {
  const url = server.url;
  const samples: number[] = [];
  let sent = 0;
  let failed = 0;
  let stopSampling = false;
  const sampler = (async () => {
    while (!stopSampling) {
      const f = await metric(metricsAgent, url, 'tollstream_warehouse_freshness_seconds').catch(() => undefined);
      if (f !== undefined) samples.push(f);
      await sleep(SAMPLE_MS);
    }
  })();

  // Paced load: batch i is due at start + i * BATCH / RATE; at most MAX_IN_FLIGHT requests at once.
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < payloads.length; i++) {
    const due = started + (i * BATCH * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const body = payloads[i]!;
    const count = body.split('\n').length;
    const p = request(agent, `${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, 'POST', body, 'application/x-ndjson').then((res) => {
      if (res.status !== 200) failed += count;
      else {
        const f = failedRecordCount(res.body);
        failed += f;
        sent += count - f;
      }
    });
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  const loadSeconds = (Date.now() - started) / 1000;
  const loadSamples = [...samples];

  // Drain: how long until the warehouse holds every acknowledged record.
  const drainStart = Date.now();
  let delivered = 0;
  while (Date.now() - drainStart < 30_000) {
    delivered = (await metric(metricsAgent, url, 'tollstream_delivery_rows_total')) ?? 0;
    if (delivered >= sent) break;
    await sleep(100);
  }
  const drainSeconds = (Date.now() - drainStart) / 1000;
  stopSampling = true;
  await sampler;

  const sorted = loadSamples.slice(Math.ceil(2000 / SAMPLE_MS)).sort((a, b) => a - b); // the first 2 s warm up
  const rows = [
    ['records acknowledged', formatCount(sent)],
    ['records failed', formatCount(failed)],
    ['achieved ingest rate (records/s)', formatCount(Math.round(sent / loadSeconds))],
    ['freshness samples (after 2 s warm-up)', String(sorted.length)],
    ['freshness p50 (s)', String(round(percentile(sorted, 50), 2))],
    ['freshness p99 (s)', String(round(percentile(sorted, 99), 2))],
    ['freshness max (s)', String(round(sorted[sorted.length - 1] ?? Number.NaN, 2))],
    ['rows delivered', formatCount(delivered)],
    ['drain after the last ack (s)', String(round(drainSeconds, 2))],
  ];
  console.log(formatTable(['measure', 'value'], rows));
  console.log(JSON.stringify({ rate: RATE, seconds: SECONDS, fsync: FSYNC, intervalSeconds: INTERVAL, sent, failed, achievedRate: sent / loadSeconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1], delivered, drainSeconds }));
  if (delivered < sent) process.exitCode = 1;
} finally {
  agent.destroy();
  metricsAgent.destroy();
  await server.stop();
  await fs.rm(dir, { recursive: true, force: true });
}

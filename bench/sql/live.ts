/**
 * Main-thread cost of the live SQL path per toll, without the log: `node bin/run-ts.mjs bench/sql/live.ts
 * [--records N] [--repeat N] [--zone IANA] [--cpu-prof]`.
 *
 * The two continuous queries of `bench:e2e` (the shipped customer spend query, here with 1 s windows, and
 * the plaza revenue TUMBLE) each run over the same toll records, handed to the engine as a live input
 * would (JSON bytes, 250 records per shard batch, a checkpoint barrier every 20,000 records), with their
 * output rows going through the query output writer into an in-memory log. It prints CPU µs per toll of
 * each query (the best of `--repeat` runs). Bounded: it stops by itself.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { customerSpendSql } from '../../src/apps/abc-tolls/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { AppendRecord, AppendResult, StreamLog } from '../../src/log/index.ts';
import { SinkWriter } from '../../src/queries/sink-writer.ts';
import { planLiveQuery, runLiveQuery, type LiveItem } from '../../src/sql/index.ts';
import { TrafficGenerator } from '../../src/simulator/index.ts';
import { PLAZA_QUERY_SQL } from '../lib/plaza-query.ts';

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    repeat: { type: 'string', default: '3' },
    zone: { type: 'string', default: 'UTC' },
  },
});
const recordCount = Number(flags.records);
const repeat = Number(flags.repeat);
const BATCH = Number(process.env.LIVE_BATCH ?? 250);
const BARRIER_EVERY = 20_000;
/** Arrival times as at 6,000 tolls/s. */
const ARRIVAL_STEP_MS = 1000 / 6000;


const QUERIES = [
  { name: 'customer spend (1 s STEP over ROWTIME)', sql: customerSpendSql({ windowSeconds: 1, timeZone: flags.zone }) },
  { name: 'plaza revenue (10 s TUMBLE)', sql: PLAZA_QUERY_SQL },
];

const start = Date.parse('2026-03-02T08:00:00.000Z');
const gen = new TrafficGenerator({ seed: 11, customers: 10_000, plazas: 20, startTime: start, eventsPerSecond: 6000, dailyProfile: false, lateShare: 0, duplicateShare: 0 });
const data: Buffer[] = [];
const arrivals: number[] = [];
for (let i = 0; i < recordCount; i++) {
  data.push(Buffer.from(JSON.stringify(gen.next().transaction)));
  arrivals.push(start + Math.floor(i * ARRIVAL_STEP_MS) + 1000);
}

/**
 * A log that keeps only a digest of what is appended (data, partition and idempotency keys, in order), so
 * two versions of the engine can be checked to write the same records; appends cost only what the writer
 * does itself.
 */
let outputDigest = createHash('sha256');
const nullLog = {
  append: async (_stream: string, records: readonly AppendRecord[]): Promise<AppendResult[]> => {
    for (const r of records) outputDigest.update(r.data).update(`\u0000${r.partitionKey}\u0000${r.idempotencyKey ?? ''}\u0000`);
    return records.map((): AppendResult => ({ ok: true, sequenceNumber: '0', shardId: 's', duplicate: false }));
  },
} as unknown as StreamLog;

async function* items(): AsyncGenerator<LiveItem> {
  yield { kind: 'partition', partition: 'shard-0', state: 'open' };
  let barrier = 0;
  for (let i = 0; i < recordCount; i += BATCH) {
    yield { kind: 'records', partition: 'shard-0', data: data.slice(i, i + BATCH), arrivalTimes: arrivals.slice(i, i + BATCH) };
    if (Math.floor((i + BATCH) / BARRIER_EVERY) > Math.floor(i / BARRIER_EVERY)) yield { kind: 'barrier', id: ++barrier };
  }
  yield { kind: 'tick' };
  yield { kind: 'cancel' };
}

async function runOnce(sql: string): Promise<{ cpuUs: number; outputRows: number; errors: number; digest: string }> {
  outputDigest = createHash('sha256');
  const plan = await planLiveQuery({ sql, now: () => arrivals[arrivals.length - 1]! + 5000 });
  const logger = createLogger({ level: 'error' });
  const writers = new Map(plan.outputs.map((o) => [o.name, new SinkWriter({ log: nullLog, stream: o.name, query: 'bench', output: o.name, keys: o.keys, forgetAfterMs: 3_600_000, logger })]));
  let errors = 0;
  const cpu0 = process.cpuUsage();
  await runLiveQuery(plan, {
    inputs: new Map(plan.inputs.map((name) => [name, items()])),
    onSnapshot: () => {},
    deliver: (stream, rows) => writers.get(stream)!.addRows(rows, 0),
    onError: () => {
      errors++;
    },
  });
  for (const w of writers.values()) await w.flushed();
  const cpu = process.cpuUsage(cpu0);
  let outputRows = 0;
  for (const w of writers.values()) outputRows += w.rowsAdded;
  return { cpuUs: cpu.user + cpu.system, outputRows, errors, digest: outputDigest.digest('base64url').slice(0, 16) };
}

for (const q of QUERIES) {
  const runs: number[] = [];
  let last = { outputRows: 0, errors: 0, digest: '' };
  for (let r = 0; r < repeat; r++) {
    const res = await runOnce(q.sql);
    runs.push(res.cpuUs / recordCount);
    last = res;
  }
  const best = Math.min(...runs);
  console.log(JSON.stringify({ query: q.name, records: recordCount, cpuUsPerToll: Number(best.toFixed(2)), runs: runs.map((x) => Number(x.toFixed(2))), outputRows: last.outputRows, outputDigest: last.digest, errorRows: last.errors }));
}

/**
 * `node bin/run-ts.mjs bench/delivery/main.ts`: how fast delivery moves toll transactions from the embedded
 * log into DuckDB, compared in the same run with DuckDB's own Appender loading the same rows directly.
 *
 *   backlog   N records already in the log (2 shards, fsync always); delivery with default hints (4 MiB / 1 s)
 *             runs until all N are in the warehouse: rows/s end to end (read, JSON parse, check, append, commit).
 *   appender  the same N transactions, already parsed, appended straight into a DuckDB table in one
 *             transaction: the ceiling of the load step alone.
 *   parse+appender  JSON.parse of the same payloads, then the Appender: delivery's work minus the log and
 *             the bookkeeping.
 *   load step the same rows, converted as delivery converts them, loaded by the warehouse's own loadBatch in
 *             batches of 6,000 (one second of the 6,000 tolls/s target): rows/s and main-thread CPU per row.
 *   live      producers append at a steady rate for a few seconds while delivery runs with default hints;
 *             the warehouse's freshness (now minus the newest loaded arrival time) is sampled.
 *
 * Flags: --quick (50,000 rows, 4 s live), --rows N (default 200000), --live-seconds S (default 8),
 * --live-rate R records/s (default 2000).
 * Bounded: it stops by itself and removes its temp dir.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, timestampValue } from '@duckdb/node-api';
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import { openEmbeddedLog, type StreamLog } from '../../src/log/index.ts';
import { TOLL_TRANSACTIONS, TrafficGenerator, type TollTransaction } from '../../src/simulator/index.ts';
import { SOURCE_COLUMNS, openDuckDBWarehouse, rowFromObject, type Row, type Warehouse } from '../../src/warehouse/index.ts';
import { describeMachine } from '../lib/machine.ts';
import { formatCount, formatTable, percentile, round, sleep } from '../lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rows: { type: 'string' },
    'live-seconds': { type: 'string' },
    'live-rate': { type: 'string', default: '2000' },
  },
});
const ROWS = Math.min(2_000_000, Math.max(1000, Number(flags.rows ?? (flags.quick ? '50000' : '200000'))));
const LIVE_SECONDS = Math.min(60, Math.max(1, Number(flags['live-seconds'] ?? (flags.quick ? '4' : '8'))));
const LIVE_RATE = Math.min(20_000, Math.max(100, Number(flags['live-rate'])));
const STREAM = 'toll_transactions';
const encoder = new TextEncoder();

function generate(count: number, seed: number): TollTransaction[] {
  const generator = new TrafficGenerator({ seed, startTime: Date.parse('2026-11-26T00:00:00Z'), eventsPerSecond: 200 });
  const out: TollTransaction[] = [];
  while (out.length < count) {
    const g = generator.next();
    if (!g.duplicate) out.push(g.transaction);
  }
  return out;
}

async function append(log: StreamLog, payloads: readonly Uint8Array[], keys: readonly string[]): Promise<void> {
  for (let i = 0; i < payloads.length; i += 500) {
    const chunk = payloads.slice(i, i + 500).map((data, j) => ({ data, partitionKey: keys[i + j]! }));
    const results = await log.append(STREAM, chunk);
    if (results.some((r) => !r.ok)) throw new Error('append failed');
  }
}

async function count(warehouse: Warehouse): Promise<number> {
  return Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]);
}

async function backlogPhase(dir: string, txs: readonly TollTransaction[], payloads: readonly Uint8Array[]) {
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'always' });
  await log.createStream(STREAM, { shardCount: 2 });
  const appendStarted = performance.now();
  await append(log, payloads, txs.map((t) => t.customer_id));
  const appendSeconds = (performance.now() - appendStarted) / 1000;
  const warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'delivery.duckdb'), threads: 2 });
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  const delivery = new DeliveryStream({ name: 'bench', log, stream: STREAM, destination: warehouseDestination(warehouse, 'toll_transactions') });
  const started = performance.now();
  const cpuBefore = await mainThreadCpuMs();
  await delivery.start();
  while (delivery.stats().rowsDelivered < txs.length) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  // CPU time of the main thread (reading the log, converting, loading): what delivery takes from a server's
  // busiest thread. CPU time rather than event-loop busy time, which grows when other processes share the cores.
  const cpuAfter = await mainThreadCpuMs();
  const mainThreadMs = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore;
  const stats = delivery.stats();
  await delivery.stop();
  if ((await count(warehouse)) !== txs.length) throw new Error('the warehouse does not hold every row');
  await warehouse.close();
  await log.close();
  return { seconds, rowsPerSecond: txs.length / seconds, mainThreadMs, batches: stats.batchesDelivered, appendRowsPerSecond: txs.length / appendSeconds };
}

/** CPU time used so far by this process' main thread, in ms (Linux: /proc; undefined elsewhere). */
async function mainThreadCpuMs(): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15, in ticks of 10 ms.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** DuckDB's Appender with no delivery around it: typed appends of parsed rows, one transaction. */
async function appenderPhase(dir: string, name: string, rows: () => readonly TollTransaction[]) {
  const instance = await DuckDBInstance.create(path.join(dir, `${name}.duckdb`), { threads: '2' });
  const conn = await instance.connect();
  await conn.run(`CREATE TABLE t (transaction_id VARCHAR NOT NULL, customer_id VARCHAR, tag_id VARCHAR, plate VARCHAR, plaza_id VARCHAR NOT NULL,
    lane INTEGER NOT NULL, vehicle_class SMALLINT NOT NULL, amount_cents BIGINT NOT NULL, currency VARCHAR NOT NULL, event_time TIMESTAMP NOT NULL,
    arrival_time TIMESTAMP NOT NULL, shard_id VARCHAR NOT NULL, sequence_number VARCHAR NOT NULL)`);
  const started = performance.now();
  const list = rows();
  await conn.run('BEGIN TRANSACTION');
  const appender = await conn.createAppender('t');
  const arrival = timestampValue(BigInt(Date.now()) * 1000n);
  list.forEach((t, i) => {
    appender.appendVarchar(t.transaction_id);
    appender.appendVarchar(t.customer_id);
    appender.appendVarchar(t.tag_id);
    appender.appendVarchar(t.plate);
    appender.appendVarchar(t.plaza_id);
    appender.appendInteger(t.lane);
    appender.appendSmallInt(t.vehicle_class);
    appender.appendBigInt(BigInt(t.amount_cents));
    appender.appendVarchar(t.currency);
    appender.appendTimestamp(timestampValue(BigInt(Date.parse(t.event_time)) * 1000n));
    appender.appendTimestamp(arrival);
    appender.appendVarchar('shardId-000000000000');
    appender.appendVarchar(String(i).padStart(24, '0'));
    appender.endRow();
  });
  appender.flushSync();
  appender.closeSync();
  await conn.run('COMMIT');
  const seconds = (performance.now() - started) / 1000;
  conn.closeSync();
  instance.closeSync();
  return { seconds, rowsPerSecond: list.length / seconds };
}

/** The warehouse's loadBatch alone, on rows converted as delivery converts them. */
async function loadStepPhase(dir: string, txs: readonly TollTransaction[]) {
  const omit = new Set<string>(SOURCE_COLUMNS);
  const rows = txs.map((t, i): Row => {
    const converted = rowFromObject(TOLL_TRANSACTIONS, t, { omit });
    if (!converted.ok) throw new Error(converted.message);
    return { ...converted.row, arrival_time: Date.now(), shard_id: 'shardId-000000000000', sequence_number: String(i + 1).padStart(24, '0') };
  });
  const warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'load-step.duckdb'), threads: 2 });
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  const batchRows = 6000;
  const started = performance.now();
  const cpuBefore = await mainThreadCpuMs();
  for (let i = 0; i < rows.length; i += batchRows) {
    const batch = rows.slice(i, i + batchRows);
    await warehouse.loadBatch({ table: 'toll_transactions', rows: batch, source: { stream: STREAM, positions: { 'shardId-000000000000': batch[batch.length - 1]!.sequence_number as string } } });
  }
  const cpuAfter = await mainThreadCpuMs();
  const seconds = (performance.now() - started) / 1000;
  if ((await count(warehouse)) !== rows.length) throw new Error('the load step lost rows');
  await warehouse.close();
  const mainThreadMs = cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore;
  return { seconds, rowsPerSecond: rows.length / seconds, mainThreadMs };
}

async function livePhase(dir: string) {
  const log = await openEmbeddedLog({ dir: path.join(dir, 'live-log'), fsync: 'always' });
  await log.createStream(STREAM, { shardCount: 2 });
  const warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'live.duckdb'), threads: 2 });
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  const delivery = new DeliveryStream({ name: 'bench-live', log, stream: STREAM, destination: warehouseDestination(warehouse, 'toll_transactions') });
  await delivery.start();
  const generator = new TrafficGenerator({ seed: 99, eventsPerSecond: LIVE_RATE });
  const tickMs = 100;
  const perTick = Math.round((LIVE_RATE * tickMs) / 1000);
  const samples: number[] = [];
  let sent = 0;
  const end = Date.now() + LIVE_SECONDS * 1000;
  const sampler = setInterval(() => {
    void warehouse.freshness().then((f) => {
      if (f.seconds !== null) samples.push(f.seconds);
    });
  }, 250);
  while (Date.now() < end) {
    const tickStart = Date.now();
    const batch = Array.from({ length: perTick }, () => generator.next().transaction);
    await append(log, batch.map((t) => encoder.encode(JSON.stringify(t))), batch.map((t) => t.customer_id));
    sent += batch.length;
    await sleep(Math.max(0, tickMs - (Date.now() - tickStart)));
  }
  clearInterval(sampler);
  const drainStart = Date.now();
  while (delivery.stats().rowsDelivered < sent && Date.now() - drainStart < 30_000) await sleep(10);
  const stats = delivery.stats();
  await delivery.stop();
  await warehouse.close();
  await log.close();
  const sorted = [...samples].sort((a, b) => a - b);
  return { sent, delivered: stats.rowsDelivered, batches: stats.batchesDelivered, freshnessP50: percentile(sorted, 50), freshnessMax: sorted[sorted.length - 1] ?? Number.NaN };
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-delivery-'));
try {
  console.log(`delivery benchmark: ${formatCount(ROWS)} rows, machine ${JSON.stringify(describeMachine())}`);
  const txs = generate(ROWS, 7);
  const payloads = txs.map((t) => encoder.encode(JSON.stringify(t)));
  const meanBytes = payloads.reduce((s, p) => s + p.length, 0) / payloads.length;

  const backlog = await backlogPhase(dir, txs, payloads);
  const direct = await appenderPhase(dir, 'direct', () => txs);
  const decoder = new TextDecoder();
  const parsed = await appenderPhase(dir, 'parsed', () => payloads.map((p) => JSON.parse(decoder.decode(p)) as TollTransaction));
  const loadStep = await loadStepPhase(dir, txs);
  const live = await livePhase(dir);

  console.log('');
  console.log(
    formatTable(
      ['load path', 'rows', 'seconds', 'rows/s', 'vs appender'],
      [
        ['delivery: log -> DuckDB (default hints)', formatCount(ROWS), round(backlog.seconds, 2).toFixed(2), formatCount(backlog.rowsPerSecond), `${round(backlog.rowsPerSecond / direct.rowsPerSecond, 2)}x`],
        ['DuckDB Appender, parsed rows', formatCount(ROWS), round(direct.seconds, 2).toFixed(2), formatCount(direct.rowsPerSecond), '1x'],
        ['JSON.parse + DuckDB Appender', formatCount(ROWS), round(parsed.seconds, 2).toFixed(2), formatCount(parsed.rowsPerSecond), `${round(parsed.rowsPerSecond / direct.rowsPerSecond, 2)}x`],
      ],
    ),
  );
  console.log(`\ndelivery used ${formatCount(backlog.mainThreadMs)} ms of main-thread CPU in ${formatCount(backlog.seconds * 1000)} ms: ${round((backlog.mainThreadMs * 1000) / ROWS, 2)} µs per row`);
  console.log(
    `load step (warehouse.loadBatch, 6,000-row batches): ${formatCount(loadStep.rowsPerSecond)} rows/s, ` +
      `${round((loadStep.mainThreadMs * 1000) / ROWS, 2)} µs of main-thread CPU per row`,
  );
  console.log(`record size ${Math.round(meanBytes)} bytes; delivery used ${backlog.batches} batches; filling the log ran at ${formatCount(backlog.appendRowsPerSecond)} rows/s (fsync always, 500 per append)`);
  console.log(
    `live: ${formatCount(LIVE_RATE)} records/s for ${LIVE_SECONDS} s (${formatCount(live.sent)} sent, ${formatCount(live.delivered)} delivered in ${live.batches} batches); ` +
      `warehouse freshness p50 ${round(live.freshnessP50, 2)} s, max ${round(live.freshnessMax, 2)} s`,
  );
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * `node bin/run-ts.mjs bench/delivery/postgres.ts`: rows/s delivered from the embedded log into PostgreSQL
 * (COPY FROM STDIN, CSV) against DuckDB (Appender), in the same run, from the same log.
 *
 *   The log is filled once with N toll transactions (2 shards, fsync always). Then, one destination at a time
 *   so they do not compete for the CPU, a DeliveryStream with the default hints (4 MiB / 1 s) loads the whole
 *   backlog into a fresh DuckDB file, then into a fresh PostgreSQL schema: rows/s end to end (read, JSON
 *   parse, check, load, commit). Repeated for --rounds rounds, alternating which goes first.
 *   load only: the same rows, already parsed, handed to `loadBatch` in batches of 20,000: the load step alone.
 *
 * PostgreSQL: --url, else TOLLSTREAM_TEST_POSTGRES_URL, else the throwaway server of .ci/postgres.sh.
 * Flags: --rows N (default 100000, at most 1000000), --rounds R (default 2, at most 5).
 * Bounded: it stops by itself, drops its schema and removes its temp dir.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import { openEmbeddedLog, type StreamLog } from '../../src/log/index.ts';
import { TOLL_TRANSACTIONS, TrafficGenerator, type TollTransaction } from '../../src/simulator/index.ts';
import { openDuckDBWarehouse, openPostgresWarehouse, type Row, type Warehouse } from '../../src/warehouse/index.ts';
import { describeMachine } from '../lib/machine.ts';
import { REPO_ROOT } from '../../bin/processes.ts';
import { formatCount, formatTable, round, sleep } from '../lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '2' },
    url: { type: 'string' },
  },
});
const ROWS = Math.min(1_000_000, Math.max(1000, Number(flags.rows)));
const ROUNDS = Math.min(5, Math.max(1, Number(flags.rounds)));
const STREAM = 'toll_transactions';
const LOAD_BATCH = 20_000;
const encoder = new TextEncoder();

function postgresUrl(): string {
  if (flags.url) return flags.url;
  if (process.env.TOLLSTREAM_TEST_POSTGRES_URL) return process.env.TOLLSTREAM_TEST_POSTGRES_URL;
  return execFileSync(path.join(REPO_ROOT, '.ci/postgres.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function generate(count: number): TollTransaction[] {
  const generator = new TrafficGenerator({ seed: 7, startTime: Date.parse('2026-11-26T00:00:00Z'), eventsPerSecond: 200 });
  const out: TollTransaction[] = [];
  while (out.length < count) {
    const g = generator.next();
    if (!g.duplicate) out.push(g.transaction);
  }
  return out;
}

async function fillLog(log: StreamLog, txs: readonly TollTransaction[]): Promise<void> {
  for (let i = 0; i < txs.length; i += 500) {
    const chunk = txs.slice(i, i + 500).map((t) => ({ data: encoder.encode(JSON.stringify(t)), partitionKey: t.customer_id }));
    const results = await log.append(STREAM, chunk);
    if (results.some((r) => !r.ok)) throw new Error('append failed');
  }
}

async function rowCount(warehouse: Warehouse): Promise<number> {
  return Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]);
}

/** Delivers the whole backlog of the log into `warehouse`; rows/s from start to the last commit. */
async function deliver(log: StreamLog, warehouse: Warehouse, name: string) {
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  const delivery = new DeliveryStream({ name, log, stream: STREAM, destination: warehouseDestination(warehouse, 'toll_transactions') });
  const started = performance.now();
  await delivery.start();
  const deadline = Date.now() + 300_000;
  while (delivery.stats().rowsDelivered < ROWS) {
    if (Date.now() > deadline || delivery.stats().state === 'failed') throw new Error(`${name}: delivery did not finish: ${JSON.stringify(delivery.stats())}`);
    await sleep(5);
  }
  const seconds = (performance.now() - started) / 1000;
  const batches = delivery.stats().batchesDelivered;
  await delivery.stop();
  if ((await rowCount(warehouse)) !== ROWS) throw new Error(`${name}: the warehouse does not hold every row`);
  return { seconds, rowsPerSecond: ROWS / seconds, batches };
}

/** `loadBatch` of parsed rows, no log and no delivery around it. */
async function loadOnly(warehouse: Warehouse, rows: readonly Row[]) {
  await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  const started = performance.now();
  for (let i = 0; i < rows.length; i += LOAD_BATCH) {
    const batch = rows.slice(i, i + LOAD_BATCH);
    await warehouse.loadBatch({ table: 'toll_transactions', rows: batch, source: { stream: 'bench', positions: { s: String(i + batch.length).padStart(24, '0') } } });
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, rowsPerSecond: rows.length / seconds };
}

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-bench-pg-'));
const url = postgresUrl();
const schemas: string[] = [];
const newSchema = () => {
  const name = `bench_${crypto.randomBytes(5).toString('hex')}`;
  schemas.push(name);
  return name;
};
try {
  console.log(`delivery into PostgreSQL vs DuckDB: ${formatCount(ROWS)} rows, ${ROUNDS} rounds, machine ${JSON.stringify(describeMachine())}`);
  const txs = generate(ROWS);
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'always' });
  await log.createStream(STREAM, { shardCount: 2 });
  await fillLog(log, txs);

  const results: Record<'duckdb' | 'postgres', { rowsPerSecond: number; seconds: number; batches: number }[]> = { duckdb: [], postgres: [] };
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const order: ('duckdb' | 'postgres')[] = round_ % 2 === 0 ? ['duckdb', 'postgres'] : ['postgres', 'duckdb'];
    for (const kind of order) {
      const warehouse =
        kind === 'duckdb'
          ? await openDuckDBWarehouse({ path: path.join(dir, `round${round_}.duckdb`), threads: 2 })
          : await openPostgresWarehouse({ connectionString: url, schema: newSchema() });
      try {
        results[kind].push(await deliver(log, warehouse, `${kind}-${round_}`));
      } finally {
        await warehouse.close();
      }
    }
  }
  await log.close();

  const arrival = Date.now();
  const rows: Row[] = txs.map((t, i) => ({ ...t, event_time: Date.parse(t.event_time), arrival_time: arrival, shard_id: 's', sequence_number: String(i).padStart(24, '0') }));
  const duckLoad = await openDuckDBWarehouse({ path: path.join(dir, 'load.duckdb'), threads: 2 });
  const duckOnly = await loadOnly(duckLoad, rows).finally(() => duckLoad.close());
  const pgLoad = await openPostgresWarehouse({ connectionString: url, schema: newSchema() });
  const pgOnly = await loadOnly(pgLoad, rows).finally(() => pgLoad.close());

  const line = (label: string, r: { seconds: number; rowsPerSecond: number; batches?: number }) => [label, round(r.seconds, 2).toFixed(2), formatCount(r.rowsPerSecond), r.batches === undefined ? '' : String(r.batches)];
  console.log('');
  console.log(
    formatTable(
      ['load path', 'seconds', 'rows/s', 'batches'],
      [
        ...results.duckdb.map((r, i) => line(`delivery: log -> DuckDB, round ${i + 1}`, r)),
        ...results.postgres.map((r, i) => line(`delivery: log -> PostgreSQL (COPY), round ${i + 1}`, r)),
        line(`DuckDB loadBatch alone (${formatCount(LOAD_BATCH)} rows a batch)`, duckOnly),
        line(`PostgreSQL loadBatch alone (COPY, ${formatCount(LOAD_BATCH)} rows a batch)`, pgOnly),
      ],
    ),
  );
  const best = (list: { rowsPerSecond: number }[]) => Math.max(...list.map((r) => r.rowsPerSecond));
  console.log(`\nbest delivery rate: PostgreSQL ${formatCount(best(results.postgres))} rows/s, DuckDB ${formatCount(best(results.duckdb))} rows/s (PostgreSQL/DuckDB ${round(best(results.postgres) / best(results.duckdb), 2)}x)`);
} finally {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
  await fs.rm(dir, { recursive: true, force: true });
}

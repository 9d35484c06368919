/**
 * Generated toll traffic in a warehouse, for tests of reports and the tables they read: the simulator's
 * transactions up to a time (its planted duplicates left out), loaded into `toll_transactions` as one batch that
 * arrived at one moment on one shard.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TOLL_TRANSACTIONS, TrafficGenerator, type TollTransaction, type TrafficOptions } from '../../src/simulator/index.ts';
import { openDuckDBWarehouse, type Row, type TableSchema, type Warehouse } from '../../src/warehouse/index.ts';

export interface GeneratedTolls {
  /** As the simulator produced them, for computing what a report should say. */
  readonly transactions: readonly TollTransaction[];
  /** The same as `toll_transactions` rows. */
  readonly rows: readonly Row[];
}

/** The traffic of `options` up to `until`, as transactions and as rows that arrived at `arrivalTime`. */
export function generatedTolls(options: TrafficOptions, until: number, arrivalTime: number): GeneratedTolls {
  const transactions = [...new TrafficGenerator(options).until(until)].filter((g) => !g.duplicate).map((g) => g.transaction);
  const rows: Row[] = transactions.map((t, i) => ({
    ...t,
    event_time: Date.parse(t.event_time),
    arrival_time: arrivalTime,
    shard_id: 's0',
    sequence_number: sequenceNumber(i),
  }));
  return { transactions, rows };
}

/** Loads the rows into `toll_transactions`, as the delivery would from shard s0 of the stream of that name. */
export async function loadTolls(warehouse: Warehouse, tolls: GeneratedTolls): Promise<void> {
  await warehouse.loadBatch({ table: 'toll_transactions', rows: tolls.rows, source: { stream: 'toll_transactions', positions: { s0: sequenceNumber(tolls.rows.length - 1) } } });
}

export interface TollsWarehouse extends GeneratedTolls {
  readonly warehouse: Warehouse;
  /** Closes the warehouse and removes its directory. */
  close(): Promise<void>;
}

/**
 * A DuckDB warehouse in a directory of its own, with the toll table and `tables` beside the platform's, holding the traffic of
 * `traffic` up to `until` (arrived then); its clock reads `now`, so report freshness is fixed.
 */
export async function openTollsWarehouse(options: { traffic: TrafficOptions; until: number; now: number; tables?: readonly TableSchema[] }): Promise<TollsWarehouse> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-tolls-'));
  const warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'w.duckdb'), threads: 1, now: () => options.now });
  const close = async () => {
    await warehouse.close();
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    // The toll table is the apps' (they declare it), not the platform's: declared here as they would.
    await warehouse.ensureSchema([TOLL_TRANSACTIONS, ...(options.tables ?? [])]);
    const tolls = generatedTolls(options.traffic, options.until, options.until);
    await loadTolls(warehouse, tolls);
    return { ...tolls, warehouse, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function sequenceNumber(i: number): string {
  return String(i).padStart(12, '0');
}

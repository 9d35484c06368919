/**
 * Deliveries that follow only their assigned shards (a node's leases) into one PostgreSQL warehouse: a shard
 * moving from one delivery to another midway, and two deliveries that both follow one shard for a while (a lease
 * that moved while its old holder still had a batch to write). Every record lands exactly once.
 */
import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { appendTransactions, eventually, openLog, tempDir, transactions } from '../delivery/helpers.ts';
import { postgresSchema, type PostgresSchema } from './server.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const STREAM = 'toll_transactions';

describe('deliveries of assigned shards into PostgreSQL', () => {
  let dir: string;
  let log: StreamLog;
  let place: PostgresSchema;
  const warehouses: Warehouse[] = [];
  const running: DeliveryStream[] = [];
  let shards: string[];

  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir);
    await log.createStream(STREAM, { shardCount: 2 });
    shards = (await log.describeStream(STREAM)).shards.map((s) => s.shardId);
    place = postgresSchema('assigned');
    const w = await place.open();
    warehouses.push(w);
    await w.ensureSchema([TOLL_TRANSACTIONS]);
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop();
    for (const w of warehouses.splice(0)) await w.close();
    await place.cleanup();
    await log.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A delivery as one node runs it: its own warehouse connection, only the shards assigned to it. */
  async function node(name: string, intervalSeconds = 0.05): Promise<DeliveryStream> {
    const warehouse = await place.open();
    warehouses.push(warehouse);
    // As a node's server does at start: the table its apps declare is known to its own warehouse connection.
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    const d = new DeliveryStream({
      name,
      log,
      stream: STREAM,
      destination: warehouseDestination(warehouse, 'toll_transactions'),
      buffering: { intervalSeconds },
      retry: { initialDelayMs: 20, maxDelayMs: 100 },
      readMaxRecords: 200,
      maxBatchRecords: 300,
      shards: 'assigned',
    });
    running.push(d);
    await d.start();
    return d;
  }

  const totals = async () => (await warehouses[0]!.query('SELECT count(*), count(DISTINCT transaction_id) FROM toll_transactions')).rows[0];

  it('follows only its assigned shards, and a shard moved to another delivery resumes where the first stopped', async () => {
    const txs = transactions(4000);
    await appendTransactions(log, STREAM, txs.slice(0, 2000));
    const a = await node('node-a');
    const b = await node('node-b');
    await a.assignShard(shards[0]!);
    await b.assignShard(shards[1]!);
    expect(a.followedShards()).toEqual([shards[0]]);
    await eventually('some rows from each', async () => a.stats().rowsDelivered > 0 && b.stats().rowsDelivered > 0);
    // The lease of shard 0 moves from a to b: a stops first, b resumes from what the warehouse holds.
    await a.releaseShard(shards[0]!);
    expect(a.followedShards()).toEqual([]);
    await b.assignShard(shards[0]!);
    await appendTransactions(log, STREAM, txs.slice(2000));
    await eventually('all 4000 rows', async () => Number((await totals())![0]) >= 4000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await totals()).toEqual([4000, 4000]);
    const sharded = await warehouses[0]!.query('SELECT shard_id, count(*) FROM toll_transactions GROUP BY 1 ORDER BY 1');
    expect(a.stats().rowsDelivered + b.stats().rowsDelivered).toBe(4000);
    expect(sharded.rows.every(([shard]) => shards.includes(String(shard)))).toBe(true);
  });

  it('loads a shard once when two deliveries follow it at the same time, and the one that lost keeps its other shard going', async () => {
    const txs = transactions(6000);
    await appendTransactions(log, STREAM, txs.slice(0, 3000));
    // a holds both shards; b is given shard 0 too, as if a's lease of it moved while a was cut off.
    const a = await node('node-a', 0.2);
    const b = await node('node-b', 0.01);
    await a.assignShard(shards[0]!);
    await a.assignShard(shards[1]!);
    await b.assignShard(shards[0]!);
    await appendTransactions(log, STREAM, txs.slice(3000));
    await eventually('all 6000 rows', async () => Number((await totals())![0]) >= 6000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await totals()).toEqual([6000, 6000]);
    const twice = await warehouses[0]!.query('SELECT count(*) FROM (SELECT shard_id, sequence_number FROM toll_transactions GROUP BY 1, 2 HAVING count(*) > 1) AS t');
    expect(twice.rows).toEqual([[0]]);
    expect(a.stats().state).toBe('running');
    expect(b.stats().state).toBe('running');
    expect(a.stats().rowsDelivered + b.stats().rowsDelivered).toBe(6000);
  });
});

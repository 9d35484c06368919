/**
 * A delivery that follows assigned shards, when a shard is released and assigned again while a batch of it is
 * still being written (a lease that left and came back during a slow write): that batch must not open the way for
 * the records it covers to be loaded a second time.
 */
import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryStream, warehouseDestination, type DeliveryDestination } from '../../src/delivery/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { appendTransactions, eventually, openLog, openWarehouse, scalar, tempDir, transactions } from './helpers.ts';

const STREAM = 'toll_transactions';

describe('a shard released and assigned again during a write', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  it('loads every record once when the write of its old batch commits after the shard was taken again', async () => {
    const dir = await tempDir();
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const log: StreamLog = await openLog(dir);
    cleanups.push(() => log.close());
    const warehouse: Warehouse = await openWarehouse(dir);
    cleanups.push(() => warehouse.close());
    await log.createStream(STREAM, { shardCount: 1 });
    const [shard] = (await log.describeStream(STREAM)).shards.map((s) => s.shardId);
    const txs = transactions(500);
    await appendTransactions(log, STREAM, txs.slice(0, 50));

    // The first write waits at a gate until the test opens it.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let writes = 0;
    let firstWriteStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstWriteStarted = resolve));
    const real = warehouseDestination(warehouse, 'toll_transactions');
    const gated: DeliveryDestination = {
      ...real,
      write: async (batch) => {
        if (++writes === 1) {
          firstWriteStarted();
          await gate;
        }
        return real.write(batch);
      },
    };
    const delivery = new DeliveryStream({ name: 'gated', log, stream: STREAM, destination: gated, buffering: { intervalSeconds: 0.02 }, readMaxRecords: 100, maxBatchRecords: 200, shards: 'assigned' });
    cleanups.push(() => delivery.stop());
    await delivery.start();
    await delivery.assignShard(shard!);
    await started;
    // The lease leaves and comes back while the first batch (records 1..50) is being written; the shard is read
    // again from the start (the warehouse holds nothing yet) and more records arrive.
    await delivery.releaseShard(shard!);
    await delivery.assignShard(shard!);
    await appendTransactions(log, STREAM, txs.slice(50));
    await eventually('the shard read again past the first batch', () => delivery.stats().bufferedRecords >= 200);
    // The first batch commits now; the next one (records 1..200 read again) must not load 1..50 a second time.
    openGate();
    await eventually('all 500 records accounted for', async () => Number(await scalar(warehouse, 'SELECT count(*) FROM toll_transactions')) >= 500);
    await new Promise((r) => setTimeout(r, 300));
    expect(await scalar(warehouse, 'SELECT count(*) - count(DISTINCT sequence_number) FROM toll_transactions')).toBe(0);
    expect(await scalar(warehouse, 'SELECT count(*) FROM toll_transactions')).toBe(500);
    expect(delivery.stats().state).toBe('running');
  });
});

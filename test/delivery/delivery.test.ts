import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TollstreamError } from '../../src/core/errors.ts';
import { DeliveryStream, warehouseDestination, type DeliveryDestination, type TransformFunction } from '../../src/delivery/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { appendRaw, appendTransactions, eventually, openLog, openWarehouse, scalar, tempDir, transactions } from './helpers.ts';

const STREAM = 'toll_transactions';
const FAST = { intervalSeconds: 0.05 };
const QUICK_RETRY = { initialDelayMs: 20, maxDelayMs: 100 };

describe('delivery from the embedded log into DuckDB', () => {
  let dir: string;
  let log: StreamLog;
  let warehouse: Warehouse;
  const running: DeliveryStream[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir);
    warehouse = await openWarehouse(dir);
    await log.createStream(STREAM, { shardCount: 2 });
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop();
    await warehouse.close();
    await log.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function delivery(options: { destination?: DeliveryDestination; transform?: TransformFunction } = {}): DeliveryStream {
    const d = new DeliveryStream({
      name: 'tolls-to-warehouse',
      log,
      stream: STREAM,
      destination: options.destination ?? warehouseDestination(warehouse, 'toll_transactions'),
      buffering: FAST,
      retry: QUICK_RETRY,
      readMaxRecords: 300,
      ...(options.transform ? { transform: options.transform } : {}),
    });
    running.push(d);
    return d;
  }

  const rowCount = async () => Number(await scalar(warehouse, 'SELECT count(*) FROM toll_transactions'));

  async function expectExactlyOnce(expected: readonly { transaction_id: string; amount_cents: number }[]): Promise<void> {
    const result = await warehouse.query('SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents)::BIGINT FROM toll_transactions');
    expect(result.rows[0]).toEqual([expected.length, expected.length, expected.reduce((s, t) => s + t.amount_cents, 0)]);
  }

  it('delivers every record exactly once across a stop and restart midway', async () => {
    const txs = transactions(3000);
    await appendTransactions(log, STREAM, txs.slice(0, 2000));
    const first = delivery();
    await first.start();
    await eventually('a first batch', async () => (await rowCount()) > 0);
    await first.stop();
    const afterStop = await rowCount();
    expect(afterStop).toBeGreaterThan(0);

    await appendTransactions(log, STREAM, txs.slice(2000));
    const second = delivery();
    await second.start();
    await eventually('all 3000 rows', async () => (await rowCount()) >= 3000);
    await second.stop();
    await expectExactlyOnce(txs);
    expect(second.stats().rowsDelivered).toBe(3000 - afterStop);

    // The stored positions are the last record of each shard.
    const description = await log.describeStream(STREAM);
    const expected: Record<string, string> = {};
    for (const shard of description.shards) {
      const read = await log.read(STREAM, shard.shardId, { type: 'TRIM_HORIZON' }, { maxRecords: 10_000 });
      const last = read.records[read.records.length - 1];
      if (last) expected[shard.shardId] = last.sequenceNumber;
    }
    expect(await warehouse.positions(STREAM, 'toll_transactions')).toEqual(expected);
  });

  it('keeps the columns of each transaction, money as integer cents', async () => {
    const [tx] = transactions(1);
    await appendTransactions(log, STREAM, [tx!]);
    const d = delivery();
    await d.start();
    await eventually('the row', async () => (await rowCount()) === 1);
    const result = await warehouse.query('SELECT transaction_id, customer_id, plaza_id, lane, vehicle_class, amount_cents, currency, event_time FROM toll_transactions');
    expect(result.rows[0]).toEqual([tx!.transaction_id, tx!.customer_id, tx!.plaza_id, tx!.lane, tx!.vehicle_class, tx!.amount_cents, tx!.currency, tx!.event_time]);
    expect(result.columns.find((c) => c.name === 'amount_cents')?.type).toBe('BIGINT');
  });

  it('sends bad records to the error output with their type, counts them, and delivers the rest', async () => {
    const txs = transactions(60);
    const isP01 = (t: { plaza_id: string }) => t.plaza_id === 'P01';
    const isP02 = (t: { plaza_id: string }) => t.plaza_id === 'P02';
    const base = txs.find((t) => !isP01(t) && !isP02(t))!;
    const payloads: string[] = txs.map((t) => JSON.stringify(t));
    payloads.push('{"transaction_id": "tx-broken", ');
    payloads.push(JSON.stringify({ ...base, transaction_id: 'tx-float', amount_cents: 12.5 }));
    payloads.push(JSON.stringify({ ...base, transaction_id: 'tx-class', vehicle_class: 9 }));
    await appendRaw(log, STREAM, payloads);
    // The transform drops plaza P01, fails plaza P02, and passes the rest unchanged.
    const transform: TransformFunction = (records) =>
      records.map((r) => {
        const text = new TextDecoder().decode(r.data);
        if (text.includes('"plaza_id":"P01"')) return { recordId: r.recordId, result: 'Dropped' };
        if (text.includes('"plaza_id":"P02"')) return { recordId: r.recordId, result: 'ProcessingFailed', errorMessage: 'plaza P02 is under audit' };
        return { recordId: r.recordId, result: 'Ok', data: r.data };
      });
    const d = delivery({ transform });
    await d.start();
    await eventually('every record accounted for', () => {
      const s = d.stats();
      return s.rowsDelivered + s.recordsDropped + Object.values(s.errors).reduce((a, b) => a + b, 0) === payloads.length;
    });
    await expectExactlyOnce(txs.filter((t) => !isP01(t) && !isP02(t)));
    const failedByTransform = txs.filter(isP02).length;
    expect(failedByTransform).toBeGreaterThan(0);
    expect(d.stats().recordsDropped).toBe(txs.filter(isP01).length);
    expect(d.stats().errors).toEqual({ 'processing-failed': failedByTransform, 'format-conversion-failed': 3, 'destination-failed': 0 });
    const errors = await warehouse.query('SELECT error_type, error_code, count(*) FROM _delivery_errors GROUP BY ALL ORDER BY ALL');
    expect(errors.rows).toEqual([
      ['format-conversion-failed', 'invalid-json', 1],
      ['format-conversion-failed', 'schema-mismatch', 2],
      ['processing-failed', 'transform-processing-failed', failedByTransform],
    ]);
    const broken = await warehouse.query("SELECT raw_data_base64 FROM _delivery_errors WHERE error_code = 'invalid-json'");
    expect(Buffer.from(String(broken.rows[0]![0]), 'base64').toString()).toBe('{"transaction_id": "tx-broken", ');
  });

  it('fails the whole batch as processing-failed when the transform keeps throwing', async () => {
    const txs = transactions(20);
    await appendTransactions(log, STREAM, txs);
    let calls = 0;
    const d = delivery({
      transform: () => {
        calls++;
        throw new Error('lambda timed out');
      },
    });
    await d.start();
    await eventually('all records failed', () => d.stats().errors['processing-failed'] === 20);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(await rowCount()).toBe(0);
    expect(await scalar(warehouse, "SELECT count(*) FROM _delivery_errors WHERE error_code = 'transform-failed'")).toBe(20);
  });

  it('retries a failing destination with backoff and then catches up, exactly once', async () => {
    const txs = transactions(500);
    const real = warehouseDestination(warehouse, 'toll_transactions');
    let failing = true;
    const flaky: DeliveryDestination = {
      ...real,
      write: async (batch) => {
        if (failing) throw new TollstreamError('WAREHOUSE_UNAVAILABLE', 'the warehouse disk is unplugged');
        return real.write(batch);
      },
    };
    await appendTransactions(log, STREAM, txs.slice(0, 300));
    const d = delivery({ destination: flaky });
    await d.start();
    await eventually('a few retries', () => d.stats().destinationRetries >= 3);
    expect(d.stats().state).toBe('retrying');
    expect(d.stats().lastError).toMatch(/WAREHOUSE_UNAVAILABLE/);
    expect(await rowCount()).toBe(0);
    await appendTransactions(log, STREAM, txs.slice(300));
    failing = false;
    await eventually('all rows after recovery', async () => (await rowCount()) >= 500);
    await d.stop();
    await expectExactlyOnce(txs);
    expect(d.stats().state).toBe('stopped');
  });

  it('sends rows the destination refuses to the error output as destination-failed and delivers the others', async () => {
    const txs = transactions(200);
    const refused = new Set([txs[17]!.transaction_id, txs[150]!.transaction_id]);
    const real = warehouseDestination(warehouse, 'toll_transactions');
    const picky: DeliveryDestination = {
      ...real,
      write: async (batch) => {
        if (batch.rows.some((r) => refused.has(String(r.transaction_id)))) throw new TollstreamError('WAREHOUSE_REJECTED', 'value out of range for the column');
        return real.write(batch);
      },
    };
    await appendTransactions(log, STREAM, txs);
    const d = delivery({ destination: picky });
    await d.start();
    await eventually('every record accounted for', () => d.stats().rowsDelivered + d.stats().errors['destination-failed'] === 200);
    await expectExactlyOnce(txs.filter((t) => !refused.has(t.transaction_id)));
    const errors = await warehouse.query("SELECT error_type, error_code FROM _delivery_errors");
    expect(errors.rows).toEqual([
      ['destination-failed', 'WAREHOUSE_REJECTED'],
      ['destination-failed', 'WAREHOUSE_REJECTED'],
    ]);
  });

  it('follows a reshard: parents are read to their end, then their children', async () => {
    const txs = transactions(1200);
    await appendTransactions(log, STREAM, txs.slice(0, 400));
    const d = delivery();
    await d.start();
    await eventually('the first rows', async () => (await rowCount()) === 400);
    await log.updateShardCount(STREAM, 4);
    await appendTransactions(log, STREAM, txs.slice(400, 800));
    await eventually('rows written after the reshard', async () => (await rowCount()) === 800);
    await d.stop();
    await appendTransactions(log, STREAM, txs.slice(800));
    const again = delivery();
    await again.start();
    await eventually('all rows', async () => (await rowCount()) >= 1200);
    await again.stop();
    await expectExactlyOnce(txs);
    const shards = await warehouse.query('SELECT count(DISTINCT shard_id) FROM toll_transactions');
    expect(shards.rows[0]![0]).toBe(6);
  });

  it('refuses buffering hints outside Firehose ranges', () => {
    const make = (buffering: { sizeMiB?: number; intervalSeconds?: number }) => () =>
      new DeliveryStream({ name: 'x', log, stream: STREAM, destination: warehouseDestination(warehouse, 'toll_transactions'), buffering });
    expect(make({ sizeMiB: 0 })).toThrow(/sizeMiB must be from 1 to 128/);
    expect(make({ sizeMiB: 129 })).toThrow(/sizeMiB/);
    expect(make({ intervalSeconds: 901 })).toThrow(/intervalSeconds must be from 0 to 900/);
  });
});

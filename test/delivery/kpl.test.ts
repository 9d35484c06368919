/**
 * Delivery of KPL aggregated records: each user record becomes a row, a batch (and so a committed position,
 * which is a Kinesis sequence number) never ends inside an aggregate, and a malformed aggregate becomes an
 * error record named as such.
 */
import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryStream, warehouseDestination, type DeliveryDestination } from '../../src/delivery/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { aggregateWithBrokenProtobuf, encodeAggregate } from '../support/kpl-aggregate.ts';
import { eventually, openLog, openWarehouse, scalar, tempDir, transactions } from './helpers.ts';

const STREAM = 'toll_transactions';

describe('delivery of KPL aggregated records', () => {
  let dir: string;
  let log: StreamLog;
  let warehouse: Warehouse;
  let delivery: DeliveryStream | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir);
    warehouse = await openWarehouse(dir);
    await log.createStream(STREAM, { shardCount: 1 });
  });
  afterEach(async () => {
    await delivery?.stop();
    await warehouse.close();
    await log.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads every user record once, in batches that end on whole aggregates, and names a malformed aggregate', async () => {
    const txs = transactions(40);
    // Four aggregates of 10 user records each, a malformed aggregate between the second and the third.
    const aggregates = [0, 1, 2, 3].map((a) => encodeAggregate(txs.slice(a * 10, a * 10 + 10).map((t) => ({ partitionKey: t.customer_id, data: JSON.stringify(t) }))));
    await log.append(STREAM, [{ partitionKey: 'a0', data: aggregates[0]! }, { partitionKey: 'a1', data: aggregates[1]! }]);
    await log.append(STREAM, [{ partitionKey: 'bad', data: aggregateWithBrokenProtobuf() }]);
    await log.append(STREAM, [{ partitionKey: 'a2', data: aggregates[2]! }, { partitionKey: 'a3', data: aggregates[3]! }]);

    const inner = warehouseDestination(warehouse, 'toll_transactions');
    const batches: { rows: number; errors: number }[] = [];
    const destination: DeliveryDestination = {
      description: inner.description,
      schema: inner.schema,
      positions: (s) => inner.positions(s),
      write: async (batch) => {
        await inner.write(batch);
        batches.push({ rows: batch.rows.length, errors: batch.errors.length });
      },
    };
    // A batch of at most 3 records would cut an aggregate; it is stretched to the aggregate's end instead.
    delivery = new DeliveryStream({ name: 'kpl', log, stream: STREAM, destination, buffering: { intervalSeconds: 0.05 }, maxBatchRecords: 3 });
    await delivery.start();
    await eventually('40 rows and the error record', async () => Number(await scalar(warehouse, 'SELECT count(*) FROM toll_transactions')) === 40 && Number(await scalar(warehouse, 'SELECT count(*) FROM _delivery_errors')) === 1);

    for (const b of batches) expect(b.rows % 10).toBe(0);
    expect(Number(await scalar(warehouse, 'SELECT count(DISTINCT transaction_id) FROM toll_transactions'))).toBe(40);
    const ids = (await warehouse.query('SELECT transaction_id FROM toll_transactions ORDER BY sequence_number, transaction_id')).rows.map((r) => r[0]);
    expect(new Set(ids)).toEqual(new Set(txs.map((t) => t.transaction_id)));
    const error = (await warehouse.query('SELECT error_type, error_code, error_message FROM _delivery_errors')).rows[0]!;
    expect(error[0]).toBe('format-conversion-failed');
    expect(error[1]).toBe('kpl-aggregate-malformed');
    expect(String(error[2])).toMatch(/KPL aggregated record is malformed: the aggregate's protobuf cannot be read/);
  });
});

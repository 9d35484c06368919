/**
 * Delivery from the real embedded log into PostgreSQL: exactly once across a stop and restart midway, rows the
 * server refuses to the error output, and spend alerts into threshold_breaches.
 */
import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import { SPEND_ALERT_REPORTS, THRESHOLD_BREACHES } from '../../src/apps/abc-tolls/index.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';
import { reportCatalog, runReport } from '../../src/reports/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { appendRaw, appendTransactions, eventually, openLog, tempDir, transactions } from '../delivery/helpers.ts';
import { postgresSchema, type PostgresSchema } from './server.ts';

const STREAM = 'toll_transactions';

describe('delivery from the embedded log into PostgreSQL', () => {
  let dir: string;
  let log: StreamLog;
  let place: PostgresSchema;
  let warehouse: Warehouse;
  const running: DeliveryStream[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    log = await openLog(dir);
    await log.createStream(STREAM, { shardCount: 2 });
    place = postgresSchema('delivery');
    warehouse = await place.open();
    await warehouse.ensureSchema([TOLL_TRANSACTIONS, THRESHOLD_BREACHES]);
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop();
    await warehouse.close();
    await place.cleanup();
    await log.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function delivery(): DeliveryStream {
    const d = new DeliveryStream({
      name: 'tolls-to-postgres',
      log,
      stream: STREAM,
      destination: warehouseDestination(warehouse, 'toll_transactions'),
      buffering: { intervalSeconds: 0.05 },
      retry: { initialDelayMs: 20, maxDelayMs: 100 },
      readMaxRecords: 300,
    });
    running.push(d);
    return d;
  }

  const rowCount = async () => Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]);

  it('delivers every record exactly once across a stop and restart midway', async () => {
    const txs = transactions(3000);
    await appendTransactions(log, STREAM, txs.slice(0, 2000));
    const first = delivery();
    await first.start();
    await eventually('a first batch', async () => (await rowCount()) > 0);
    await first.stop();
    const afterStop = await rowCount();
    expect(afterStop).toBeGreaterThan(0);
    expect(afterStop).toBeLessThanOrEqual(2000);

    await appendTransactions(log, STREAM, txs.slice(2000));
    // A new warehouse connection, as after a process restart: the positions come from PostgreSQL.
    await warehouse.close();
    warehouse = await place.open();
    await warehouse.ensureSchema([TOLL_TRANSACTIONS, THRESHOLD_BREACHES]);
    const second = delivery();
    await second.start();
    await eventually('all 3000 rows', async () => (await rowCount()) >= 3000);
    await second.stop();

    const totals = await warehouse.query('SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents)::BIGINT FROM toll_transactions');
    expect(totals.rows[0]).toEqual([3000, 3000, txs.reduce((s, t) => s + t.amount_cents, 0)]);
    expect(second.stats().rowsDelivered).toBe(3000 - afterStop);
    // Each (shard, sequence number) once, and the stored positions are the last record of each shard.
    const perRecord = await warehouse.query('SELECT count(*) FROM (SELECT shard_id, sequence_number FROM toll_transactions GROUP BY 1, 2 HAVING count(*) > 1) AS twice');
    expect(perRecord.rows).toEqual([[0]]);
    const expected: Record<string, string> = {};
    for (const shard of (await log.describeStream(STREAM)).shards) {
      const read = await log.read(STREAM, shard.shardId, { type: 'TRIM_HORIZON' }, { maxRecords: 10_000 });
      const last = read.records[read.records.length - 1];
      if (last) expected[shard.shardId] = last.sequenceNumber;
    }
    expect(await warehouse.positions(STREAM, 'toll_transactions')).toEqual(expected);
    // The columns came through as sent.
    const [tx] = txs;
    const row = await warehouse.query('SELECT customer_id, plaza_id, lane, vehicle_class, amount_cents, currency, event_time FROM toll_transactions WHERE transaction_id = $id', { id: tx!.transaction_id });
    expect(row.rows).toEqual([[tx!.customer_id, tx!.plaza_id, tx!.lane, tx!.vehicle_class, tx!.amount_cents, tx!.currency, new Date(tx!.event_time).toISOString()]]);
  });

  it('sends records PostgreSQL cannot store to the error output and delivers the rest', async () => {
    const txs = transactions(40);
    const payloads = txs.map((t) => JSON.stringify(t));
    // Valid JSON and the right types, but text PostgreSQL cannot hold: refused by the destination, kept as an error.
    payloads.push(JSON.stringify({ ...txs[0]!, transaction_id: 'tx-nul', plate: 'AB\u0000C' }));
    await appendRaw(log, STREAM, payloads);
    const d = delivery();
    await d.start();
    await eventually('every record accounted for', () => d.stats().rowsDelivered + d.stats().errors['destination-failed'] === payloads.length);
    expect(await rowCount()).toBe(40);
    const errors = await warehouse.query('SELECT error_type, error_code, raw_data_base64 FROM _delivery_errors');
    expect(errors.rows).toEqual([['destination-failed', 'WAREHOUSE_REJECTED', Buffer.from(payloads[40]!).toString('base64')]]);
  });

  it('delivers spend alert messages from a spend_alerts stream into threshold_breaches', async () => {
    await log.createStream('spend_alerts', { shardCount: 1 });
    // The spend function's breach message (type, customer_id, month, threshold_cents, total_cents, breached_at,
    // cause) plus its idempotency key as breach_id; fields the table does not know are ignored.
    const messages = Array.from({ length: 25 }, (_, i) => ({
      type: 'threshold_breach',
      breach_id: `breach:C${i}:2026-11:${1000 * (1 + (i % 3))}`,
      customer_id: `C${i}`,
      month: '2026-11',
      threshold_cents: 1000 * (1 + (i % 3)),
      total_cents: 1000 * (1 + (i % 3)) + 10 + i,
      breached_at: new Date(Date.parse('2026-11-26T08:00:00Z') + i * 3600_000).toISOString(),
      cause: i % 5 === 0 ? 'threshold_change' : 'transaction',
    }));
    await appendRaw(log, 'spend_alerts', messages.map((m) => JSON.stringify(m)), (i) => messages[i]!.customer_id);
    const d = new DeliveryStream({ name: 'spend-alerts', log, stream: 'spend_alerts', destination: warehouseDestination(warehouse, 'threshold_breaches'), buffering: { intervalSeconds: 0.05 } });
    running.push(d);
    await d.start();
    await eventually('all breaches', () => d.stats().rowsDelivered === messages.length);
    const stored = await warehouse.query('SELECT count(*), count(DISTINCT breach_id), sum(total_cents - threshold_cents) FROM threshold_breaches');
    expect(stored.rows).toEqual([[25, 25, messages.reduce((s, m) => s + m.total_cents - m.threshold_cents, 0)]]);
    const report = await runReport(warehouse, 'threshold_breaches_per_day', { from: '2026-11-26', to: '2026-11-28' }, Date.now, reportCatalog(SPEND_ALERT_REPORTS));
    expect(report.rows.reduce((s, r) => s + Number(r[2]), 0)).toBe(25);
    expect(report.rows.map((r) => r[0])).toContain('2026-11-27');
  });
});

/**
 * Sending failed records again, end to end on one warehouse backend (test/delivery/redrive.test.ts runs it on
 * DuckDB, test/postgres/delivery-redrive.test.ts on PostgreSQL): a delivery whose transform fails plaza P02's
 * records lists them in `_delivery_errors`; with the transform fixed, each is loaded exactly once and leaves the list.
 */
import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { DeliveryStream, redriveDeliveryError, warehouseDestination, type TransformFunction } from '../../src/delivery/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import type { DeliveryErrorKey, Warehouse } from '../../src/warehouse/index.ts';
import { appendTransactions, eventually, openLog, scalar, tempDir, transactions } from './helpers.ts';

const STREAM = 'toll_transactions';
const decoder = new TextDecoder();

/** Fails plaza P02's records (`ProcessingFailed`) and passes the rest: the transform before its fix. */
const auditP02: TransformFunction = (records) =>
  records.map((r) =>
    decoder.decode(r.data).includes('"plaza_id":"P02"')
      ? { recordId: r.recordId, result: 'ProcessingFailed', errorMessage: 'plaza P02 is under audit' }
      : { recordId: r.recordId, result: 'Ok', data: r.data },
  );
/** The transform fixed. */
const passAll: TransformFunction = (records) => records.map((r) => ({ recordId: r.recordId, result: 'Ok', data: r.data }));

export function describeDeliveryRedrive(name: string, open: () => Promise<{ warehouse: Warehouse; cleanup(): Promise<void> }>): void {
  describe(`failed deliveries sent again: ${name}`, () => {
    let dir: string;
    let log: StreamLog;
    let warehouse: Warehouse;
    let cleanup: () => Promise<void>;
    const txs = transactions(200);
    const failing = txs.filter((t) => t.plaza_id === 'P02');

    beforeEach(async () => {
      dir = await tempDir();
      log = await openLog(dir);
      ({ warehouse, cleanup } = await open());
      await log.createStream(STREAM, { shardCount: 2 });
      await appendTransactions(log, STREAM, txs);
      const delivery = new DeliveryStream({ name: 'tolls', log, stream: STREAM, destination: warehouseDestination(warehouse, 'toll_transactions'), buffering: { intervalSeconds: 0.05 }, transform: auditP02 });
      await delivery.start();
      await eventually('every record delivered or failed', () => delivery.stats().rowsDelivered + delivery.stats().errors['processing-failed'] === txs.length);
      await delivery.stop();
    });
    afterEach(async () => {
      await warehouse.close();
      await cleanup();
      await log.close();
      await fs.rm(dir, { recursive: true, force: true });
    });

    const count = async (sql = 'SELECT count(*) FROM toll_transactions') => Number(await scalar(warehouse, sql));
    const keyOf = (e: DeliveryErrorKey): DeliveryErrorKey => ({ stream: e.stream, table: e.table, shardId: e.shardId, sequenceNumber: e.sequenceNumber });
    const loadedTimes = (id: string) => count(`SELECT count(*) FROM toll_transactions WHERE transaction_id = '${id}'`);

    it('loads each failed record exactly once with the fixed transform, and refuses a second redrive with CONDITION_FAILED', async () => {
      expect(failing.length).toBeGreaterThan(1);
      const listed = await warehouse.deliveryErrors({ limit: 1000 });
      expect(listed).toHaveLength(failing.length);
      expect(listed.every((e) => e.errorCode === 'transform-processing-failed')).toBe(true);
      const before = await count();
      expect(before).toBe(txs.length - failing.length);

      const first = keyOf(listed[0]!);
      const id = (JSON.parse(decoder.decode(listed[0]!.rawData)) as { transaction_id: string }).transaction_id;
      expect(await redriveDeliveryError(warehouse, first, { transform: passAll })).toEqual({ key: first, loaded: 1, dropped: 0, failedAgain: [] });
      expect(await loadedTimes(id)).toBe(1);
      expect(await warehouse.deliveryErrors({ limit: 1000 })).toHaveLength(failing.length - 1);

      const again = redriveDeliveryError(warehouse, first, { transform: passAll });
      await expect(again).rejects.toSatisfy((err) => isTollstreamError(err, 'CONDITION_FAILED') && typeof err.context.redrivenAt === 'string');
      expect(await loadedTimes(id)).toBe(1);

      // Two redrives of one record at once: one loads it, the other is refused.
      const second = keyOf(listed[1]!);
      const racing = await Promise.allSettled([redriveDeliveryError(warehouse, second, { transform: passAll }), redriveDeliveryError(warehouse, second, { transform: passAll })]);
      expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(racing.filter((r) => r.status === 'rejected' && isTollstreamError(r.reason, 'CONDITION_FAILED'))).toHaveLength(1);

      for (const e of await warehouse.deliveryErrors({ limit: 1000 })) await redriveDeliveryError(warehouse, keyOf(e), { transform: passAll });
      expect(await warehouse.deliveryErrors()).toEqual([]);
      expect(await count()).toBe(txs.length);
      expect(await count('SELECT count(DISTINCT transaction_id) FROM toll_transactions')).toBe(txs.length);
    });

    it('keeps a record that fails again listed with its new error, loading nothing', async () => {
      const [failed] = await warehouse.deliveryErrors();
      const key = keyOf(failed!);
      const stillFailing: TransformFunction = (records) => records.map((r) => ({ recordId: r.recordId, result: 'ProcessingFailed', errorMessage: 'the audit is not over' }));
      const result = await redriveDeliveryError(warehouse, key, { transform: stillFailing });
      expect(result).toEqual({ key, loaded: 0, dropped: 0, failedAgain: [{ errorType: 'processing-failed', errorCode: 'transform-processing-failed', errorMessage: 'the audit is not over' }] });
      expect(await count()).toBe(txs.length - failing.length);
      const listed = await warehouse.deliveryErrors({ limit: 1000 });
      expect(listed).toHaveLength(failing.length);
      expect(listed.filter((e) => e.errorMessage === 'the audit is not over').map(keyOf)).toEqual([key]);
      // Listed anew, so it may be sent again once the cause is fixed.
      expect(await redriveDeliveryError(warehouse, key, { transform: passAll })).toMatchObject({ loaded: 1 });
    });

    it('sends the failed user records of one KPL aggregate again together, once', async () => {
      const [a, b] = transactions(2, 99);
      const failure = (t: unknown) => ({ shardId: 'shardId-000000000001', sequenceNumber: '77', errorType: 'processing-failed', errorCode: 'transform-processing-failed', errorMessage: 'under audit', rawData: new TextEncoder().encode(JSON.stringify(t)), arrivalTime: Date.now() }) as const;
      // Both user records of one aggregate failed: they share its shard and sequence number.
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [], errors: [failure(a), failure(b)], source: { stream: STREAM, positions: {} } });
      const key = { stream: STREAM, table: 'toll_transactions', shardId: 'shardId-000000000001', sequenceNumber: '77' };
      expect(await redriveDeliveryError(warehouse, key, { transform: passAll })).toMatchObject({ loaded: 2, failedAgain: [] });
      expect(await count("SELECT count(*) FROM toll_transactions WHERE sequence_number = '77'")).toBe(2);
      await expect(redriveDeliveryError(warehouse, key, { transform: passAll })).rejects.toSatisfy((err) => isTollstreamError(err, 'CONDITION_FAILED'));
      expect(await count("SELECT count(*) FROM toll_transactions WHERE sequence_number = '77'")).toBe(2);
    });

    it('answers NOT_FOUND for a record the error table never held', async () => {
      const missing = redriveDeliveryError(warehouse, { stream: STREAM, table: 'toll_transactions', shardId: 'shardId-000000000000', sequenceNumber: '1' });
      await expect(missing).rejects.toSatisfy((err) => isTollstreamError(err, 'NOT_FOUND'));
    });
  });
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FunctionContext, FunctionEvent, FunctionRecord } from '../../functions/index.ts';
import { silentLogger } from '../../core/logger.ts';
import { SpendLedger } from './ledger.ts';
import { transactionsHandler, validateWindow, type SpendPathStats } from './spend-function.ts';
import { ensureTables, TABLES } from './tables.ts';
import { openStores, tempDir, type Stores } from './testing/harness.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function record(sequenceNumber: string, data: string): FunctionRecord {
  const bytes = encoder.encode(data);
  return {
    stream: 'toll_transactions',
    shardId: 'shardId-000000000000',
    sequenceNumber,
    partitionKey: 'C1',
    data: bytes,
    arrivalTime: 0,
    text: () => decoder.decode(bytes),
    json: <T>() => JSON.parse(decoder.decode(bytes)) as T,
  };
}

describe('transactionsHandler', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let stores: Stores;

  beforeEach(async () => {
    temp = await tempDir();
    stores = await openStores(temp.dir);
    ensureTables(stores.tables);
    stores.notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
    await stores.log.createStream('toll_transactions_errors', { shardCount: 1, dedupe: { mode: 'key' } });
  });

  afterEach(async () => {
    await stores.close();
    await temp.remove();
  });

  it('stores each error record once when a batch is handed over again after a crash before its commit', async () => {
    const stats: SpendPathStats = { stream: 'toll_transactions', recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 };
    const handler = transactionsHandler({ ledger: new SpendLedger(), log: stores.log, errorStream: 'toll_transactions_errors', currency: 'USD', stats });
    const tx = { transaction_id: 't1', customer_id: 'C1', tag_id: 'T', plate: 'P', plaza_id: 'P01', lane: 1, vehicle_class: 2, amount_cents: 300, currency: 'USD', event_time: '2026-11-02T10:00:00Z' };
    const event: FunctionEvent = {
      mapping: 'm',
      stream: 'toll_transactions',
      shardId: 'shardId-000000000000',
      records: [record('100', JSON.stringify(tx)), record('101', 'not json'), record('102', JSON.stringify({ ...tx, transaction_id: 't2', lane: 0 }))],
    };
    const context = (crash: boolean): FunctionContext => ({
      mapping: 'm',
      attempt: 1,
      logger: silentLogger,
      tables: stores.tables,
      transact: (fn) =>
        stores.tables.transaction((t) => {
          const out = fn(t);
          if (crash) throw new Error('crashed before the commit');
          return out;
        }),
    });

    await expect(handler(event, context(true))).rejects.toThrow(/crashed/);
    await handler(event, context(false));

    const errors = (await stores.log.read('toll_transactions_errors', 'shardId-000000000000', { type: 'TRIM_HORIZON' })).records;
    expect(errors.map((r) => JSON.parse(decoder.decode(r.data)).sequenceNumber)).toEqual(['101', '102']);
    expect(stores.tables.get(TABLES.counters, { pk: 'toll_transactions' })?.value).toEqual({ invalid_records: 2, outside_cutover: 0 });
    expect(stores.tables.get(TABLES.monthlyTotals, { pk: 'C1', sk: '2026-11' })?.value).toEqual({ total_cents: 300, transactions: 1 });
    expect(stats).toMatchObject({ recordsApplied: 1, recordsInvalid: 2 });
  });
});

describe('validateWindow', () => {
  const window = { customer_id: 'C1', window_start: '2026-03-02T08:00:00.000Z', window_end: '2026-03-02T08:10:00.000Z', total_cents: 100, transactions: 1 };

  it('takes a day within the month, and refuses one outside it or not on the calendar', () => {
    expect(validateWindow({ ...window, month: '2026-02', day: '2026-02-28' })).toMatchObject({ spend: { day: '2026-02-28' } });
    expect(validateWindow({ ...window, month: '2026-03', day: '2026-02-28' })).toBe('day 2026-02-28 is not in month 2026-03');
    expect(validateWindow({ ...window, day: '2026-02-30' })).toBe('day, when given, must be a date YYYY-MM-DD');
  });
});

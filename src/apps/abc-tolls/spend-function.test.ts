import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FunctionContext, FunctionEvent, FunctionRecord } from '../../functions/index.ts';
import { silentLogger } from '../../core/logger.ts';
import { SpendLedger } from './ledger.ts';
import { Customers } from './customers.ts';
import { transactionsHandler, validateWindow, windowsHandler, type SpendPathStats } from './spend-function.ts';
import { ensureStoreTables, TABLES } from './tables.ts';
import { openStores, settledInbox, tempDir, type Stores } from './testing/harness.ts';
import { sqliteTableStore } from '../../tables/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function record(sequenceNumber: string, data: string, stream = 'toll_transactions'): FunctionRecord {
  const bytes = encoder.encode(data);
  return {
    stream,
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
    await ensureStoreTables(stores.store);
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
      tables: sqliteTableStore(stores.tables),
      transact: (fn) =>
        sqliteTableStore(stores.tables).transaction(async (t) => {
          const out = await fn(t);
          if (crash) throw new Error('crashed before the commit');
          return out;
        }),
    });

    await expect(handler(event, context(true))).rejects.toThrow(/crashed/);
    await handler(event, context(false));

    const errors = (await stores.log.read('toll_transactions_errors', 'shardId-000000000000', { type: 'TRIM_HORIZON' })).records;
    expect(errors.map((r) => JSON.parse(decoder.decode(r.data)).sequenceNumber)).toEqual(['101', '102']);
    expect(stores.tables.get(TABLES.counters, { pk: 'toll_transactions' })?.value).toEqual({ invalid_records: 2, outside_cutover: 0 });
    expect(stores.tables.get(TABLES.monthlyTotals, { pk: 'C1', sk: '2026-11' })?.value).toEqual({ total_cents: 300, transactions: 1, day_cents: { '02': 300 }, day_transactions: { '02': 1 } });
    expect(stats).toMatchObject({ recordsApplied: 1, recordsInvalid: 2 });
  });
});

describe('windowsHandler', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let stores: Stores;

  beforeEach(async () => {
    temp = await tempDir();
    stores = await openStores(temp.dir);
    await ensureStoreTables(stores.store);
    stores.notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
    stores.notify.start();
    await stores.log.createStream('customer_spend_errors', { shardCount: 1, dedupe: { mode: 'key' } });
  });

  afterEach(async () => {
    await stores.close();
    await temp.remove();
  });

  it('names the window in the middle of a batch whose total first crossed the threshold, once, with the totals of every window', async () => {
    const customers = await Customers.open({ store: stores.store });
    await customers.create({ id: 'C1', name: 'Ada', email: 'ada@example.com' });
    await customers.create({ id: 'C2', name: 'Bo', email: 'bo@example.com' });
    await customers.setThreshold('C1', 1000);
    await customers.setThreshold('C2', 100);
    const stats: SpendPathStats = { stream: 'customer_spend', recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 };
    const handler = windowsHandler({ ledger: new SpendLedger(), log: stores.log, errorStream: 'customer_spend_errors', stats });
    const window = (minute: number, customer: string, cents: number, transactions: number) => ({
      window_start: `2026-11-02T10:0${minute}:00.000Z`,
      window_end: `2026-11-02T10:0${minute + 1}:00.000Z`,
      customer_id: customer,
      month: '2026-11',
      day: '2026-11-02',
      total_cents: cents,
      transactions,
    });
    const rows = [window(0, 'C1', 400, 2), window(0, 'C2', 50, 1), window(1, 'C1', 500, 1), window(2, 'C1', 300, 3), window(2, 'C2', 80, 1), window(3, 'C1', 200, 1), window(4, 'C1', 900, 2)];
    const event: FunctionEvent = {
      mapping: 'm',
      stream: 'customer_spend',
      shardId: 'shardId-000000000000',
      records: rows.map((r, i) => record(String(200 + i), JSON.stringify(r), 'customer_spend')),
    };
    const context: FunctionContext = { mapping: 'm', attempt: 1, logger: silentLogger, tables: sqliteTableStore(stores.tables), transact: (fn) => sqliteTableStore(stores.tables).transaction(fn) };
    await handler(event, context);

    // The month item holds the day's total too: one row per customer and month.
    expect(stores.tables.get(TABLES.monthlyTotals, { pk: 'C1', sk: '2026-11' })?.value).toEqual({ total_cents: 2300, transactions: 9, day_cents: { '02': 2300 }, day_transactions: { '02': 9 } });
    expect(stores.tables.get(TABLES.monthlyTotals, { pk: 'C2', sk: '2026-11' })?.value).toEqual({ total_cents: 130, transactions: 2, day_cents: { '02': 130 }, day_transactions: { '02': 2 } });
    expect(stores.tables.query(TABLES.dailyTotals, 'C1').items).toEqual([]);
    // 400 + 500 = 900 is not past 1000; the third window of C1 takes it to 1200.
    expect((await settledInbox(stores.notify, 'spend-alerts', 'C1')).map((e) => e.message)).toEqual([
      {
        type: 'threshold_breach',
        customer_id: 'C1',
        month: '2026-11',
        threshold_cents: 1000,
        total_cents: 1200,
        breached_at: '2026-11-02T10:02:00.000Z',
        cause: 'window',
        window: { start: '2026-11-02T10:02:00.000Z', end: '2026-11-02T10:03:00.000Z' },
      },
    ]);
    expect((await settledInbox(stores.notify, 'spend-alerts', 'C2')).map((e) => [e.message.total_cents, (e.message.window as { start: string }).start])).toEqual([
      [130, '2026-11-02T10:02:00.000Z'],
    ]);
    expect(stats).toMatchObject({ recordsApplied: 7, recordsInvalid: 0, breachesPublished: 2 });
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

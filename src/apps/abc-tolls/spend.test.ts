import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Customers } from './customers.ts';
import { SpendLedger } from './ledger.ts';
import { SpendReader } from './spend.ts';
import { TABLES } from './tables.ts';
import { openStores, settledInbox, tempDir, type Stores } from './testing/harness.ts';

const TOPIC = 'spend-alerts';
const at = (iso: string) => Date.parse(iso);

describe('monthly totals and breaches', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let stores: Stores;

  beforeEach(async () => {
    temp = await tempDir();
    stores = await openStores(temp.dir);
    stores.notify.createTopic(TOPIC, { kind: 'inbox', customerField: 'customer_id' });
    stores.notify.start();
    await (await Customers.open({ store: stores.store })).create({ id: 'C1', name: 'Ada', email: 'ada@example.com' });
  });

  afterEach(async () => {
    await stores.close();
    await temp.remove();
  });

  function spender(timeZone = 'UTC') {
    const ledger = new SpendLedger({ timeZone });
    let n = 0;
    return (iso: string, cents: number) =>
      stores.store.transaction((tx) => ledger.applySpend(tx, 'C1', at(iso), cents, { kind: 'transaction', transactionId: `t${++n}` }));
  }

  it('starts a new month from zero, and breaches again in it', async () => {
    await (await Customers.open({ store: stores.store })).setThreshold('C1', 1000);
    const spend = spender();
    expect((await spend('2026-10-30T10:00:00Z', 800)).totalCents).toBe(800);
    expect(await spend('2026-10-31T23:59:59Z', 300)).toEqual({ month: '2026-10', totalCents: 1100, breachedThresholdCents: 1000 });
    expect(await spend('2026-11-01T00:00:00Z', 700)).toEqual({ month: '2026-11', totalCents: 700 });
    expect(await spend('2026-11-02T08:00:00Z', 400)).toEqual({ month: '2026-11', totalCents: 1100, breachedThresholdCents: 1000 });
    const inbox = await settledInbox(stores.notify, TOPIC, 'C1');
    expect(inbox.map((e) => e.idempotencyKey)).toEqual(['breach:C1:2026-10:1000', 'breach:C1:2026-11:1000']);
    expect(inbox[1]!.message).toEqual({
      type: 'threshold_breach',
      customer_id: 'C1',
      month: '2026-11',
      threshold_cents: 1000,
      total_cents: 1100,
      breached_at: '2026-11-02T08:00:00.000Z',
      cause: 'transaction',
      transaction_id: 't4',
    });
  });

  it('counts a late transaction in the month of its event time, and can breach that month', async () => {
    await (await Customers.open({ store: stores.store })).setThreshold('C1', 1000);
    const spend = spender();
    await spend('2026-10-31T20:00:00Z', 900);
    await spend('2026-11-01T00:10:00Z', 200);
    // Event time in October, arriving after November has begun.
    expect(await spend('2026-10-31T23:50:00Z', 150)).toEqual({ month: '2026-10', totalCents: 1050, breachedThresholdCents: 1000 });
    const reader = new SpendReader({ store: stores.store });
    expect(await reader.monthTotal('C1', '2026-10')).toBe(1050);
    expect(await reader.monthTotal('C1', '2026-11')).toBe(200);
    expect((await settledInbox(stores.notify, TOPIC, 'C1')).map((e) => e.message.month)).toEqual(['2026-10']);
  });

  it('cuts months in the configured time zone', async () => {
    const utc = new SpendLedger();
    const newYork = new SpendLedger({ timeZone: 'America/New_York' });
    const tokyo = new SpendLedger({ timeZone: 'Asia/Tokyo' });
    // 03:00 UTC on Nov 1 is still October 31 in New York; 20:00 UTC on Oct 31 is already November in Tokyo.
    expect(utc.calendar.month(at('2026-11-01T03:00:00Z'))).toBe('2026-11');
    expect(newYork.calendar.month(at('2026-11-01T03:00:00Z'))).toBe('2026-10');
    expect(newYork.calendar.day(at('2026-11-01T03:00:00Z'))).toBe('2026-10-31');
    expect(tokyo.calendar.month(at('2026-10-31T20:00:00Z'))).toBe('2026-11');

    const spend = spender('America/New_York');
    expect((await spend('2026-11-01T03:00:00Z', 500)).month).toBe('2026-10');
    expect((await spend('2026-11-01T05:00:00Z', 700)).month).toBe('2026-11');
    const reader = new SpendReader({ store: stores.store, timeZone: 'America/New_York' });
    expect(await reader.monthTotal('C1', '2026-10')).toBe(500);
    expect(await reader.monthTotal('C1', '2026-11')).toBe(700);
    expect(() => new SpendLedger({ timeZone: 'Nowhere/Special' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('reads month to date with a per-day breakdown and the threshold', async () => {
    const spend = spender();
    await spend('2026-10-31T12:00:00Z', 999);
    await spend('2026-11-01T08:00:00Z', 250);
    await spend('2026-11-01T17:30:00Z', 300);
    await spend('2026-11-03T07:45:00Z', 125);
    await (await Customers.open({ store: stores.store })).setThreshold('C1', 10_000);
    const reader = new SpendReader({ store: stores.store });
    expect(await reader.monthToDate('C1', at('2026-11-03T09:00:00Z'))).toEqual({
      customerId: 'C1',
      month: '2026-11',
      timeZone: 'UTC',
      totalCents: 675,
      transactions: 3,
      thresholdCents: 10_000,
      days: [
        { day: '2026-11-01', totalCents: 550, transactions: 2 },
        { day: '2026-11-03', totalCents: 125, transactions: 1 },
      ],
    });
    expect(await reader.thresholdOf('C1')).toBe(10_000);
    expect(await reader.monthToDate('C2', at('2026-11-03T09:00:00Z'))).toEqual({ customerId: 'C2', month: '2026-11', timeZone: 'UTC', totalCents: 0, transactions: 0, days: [] });
    expect(await reader.thresholdOf('C2')).toBeUndefined();
  });

  it('keeps counting on totals written by the earlier shape, a row per day beside the month row', async () => {
    // What the version before month items left in a data directory: the month's row and a row per day.
    stores.tables.transaction((tx) => {
      tx.put(TABLES.monthlyTotals, { pk: 'C1', sk: '2026-11' }, { total_cents: 800, transactions: 3 });
      tx.put(TABLES.dailyTotals, { pk: 'C1', sk: '2026-11-01' }, { total_cents: 500, transactions: 2 });
      tx.put(TABLES.dailyTotals, { pk: 'C1', sk: '2026-11-02' }, { total_cents: 300, transactions: 1 });
      tx.put(TABLES.dailyTotals, { pk: 'C1', sk: '2026-10-31' }, { total_cents: 999, transactions: 1 });
    });
    await stores.close();
    stores = await openStores(temp.dir);
    stores.notify.start();
    await (await Customers.open({ store: stores.store })).setThreshold('C1', 1000);
    const ledger = new SpendLedger();
    const window = (iso: string, cents: number) => ({
      customerId: 'C1',
      eventTimeMs: at(iso),
      cents,
      source: { kind: 'window' as const, windowStart: iso, windowEnd: new Date(at(iso) + 1000).toISOString(), transactions: 1, month: iso.slice(0, 7), day: iso.slice(0, 10) },
    });
    expect(await stores.store.transaction((tx) => ledger.applySpendBatch(tx, [window('2026-11-02T10:00:00.000Z', 150)]))).toBe(0);
    // 950 + 100 crosses 1000: the month's total is the one the earlier shape wrote, added to.
    expect(await stores.store.transaction((tx) => ledger.applySpendBatch(tx, [window('2026-11-03T10:00:00.000Z', 100)]))).toBe(1);
    expect((await settledInbox(stores.notify, TOPIC, 'C1')).map((e) => e.message.total_cents)).toEqual([1050]);
    expect(await new SpendReader({ store: stores.store }).monthToDate('C1', at('2026-11-03T12:00:00Z'))).toEqual({
      customerId: 'C1',
      month: '2026-11',
      timeZone: 'UTC',
      totalCents: 1050,
      transactions: 5,
      thresholdCents: 1000,
      days: [
        { day: '2026-11-01', totalCents: 500, transactions: 2 },
        { day: '2026-11-02', totalCents: 450, transactions: 2 },
        { day: '2026-11-03', totalCents: 100, transactions: 1 },
      ],
    });
  });

  it('counts a window that names only its month in that month, and its day in the day of its start', async () => {
    const ledger = new SpendLedger();
    const start = '2026-11-01T00:00:05.000Z';
    const entry = { customerId: 'C1', eventTimeMs: at(start), cents: 70, source: { kind: 'window' as const, windowStart: start, windowEnd: '2026-11-01T00:00:06.000Z', transactions: 2, month: '2026-10' } };
    await stores.store.transaction((tx) => ledger.applySpendBatch(tx, [entry, { ...entry, cents: 30 }]));
    await stores.store.transaction((tx) => ledger.applySpend(tx, entry.customerId, entry.eventTimeMs, 5, entry.source));
    const reader = new SpendReader({ store: stores.store });
    expect(await reader.monthToDate('C1', at('2026-10-31T12:00:00Z'))).toMatchObject({ month: '2026-10', totalCents: 105, transactions: 6, days: [] });
    expect(await reader.monthToDate('C1', at('2026-11-01T12:00:00Z'))).toMatchObject({ month: '2026-11', totalCents: 0, transactions: 0, days: [{ day: '2026-11-01', totalCents: 105, transactions: 6 }] });
  });
});

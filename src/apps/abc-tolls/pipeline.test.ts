/**
 * The pipeline end to end in one process, on the real embedded log, tables and notifications: simulator
 * traffic in, monthly totals and inbox notifications out, compared with the simulator's oracle.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FunctionsRuntime } from '../../functions/index.ts';
import { sqliteTableStore } from '../../tables/index.ts';
import { Customers } from './customers.ts';
import { resolveSpendAlertsConfig, startSpendAlerts, type SpendAlertsConfig, type SpendSourceKind } from './pipeline.ts';
import { SpendReader } from './spend.ts';
import {
  allInbox,
  appendRecords,
  caughtUp,
  createTransactionsStream,
  monthlyTotalsOf,
  openStores,
  oracleTotals,
  settledInbox,
  tempDir,
  trafficPlan,
  waitFor,
  type Stores,
  type TrafficPlan,
} from './testing/harness.ts';

const TOPIC = 'spend-alerts';
const MAPPING = 'abc-tolls-spend-transactions';
/** 22:00 UTC on Oct 31: at 2 events per second the traffic crosses into November after 14400 records. */
const START = Date.UTC(2026, 9, 31, 22);

describe('spend alerts pipeline', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let stores: Stores;

  beforeEach(async () => {
    temp = await tempDir();
    stores = await openStores(temp.dir);
    await createTransactionsStream(stores.log);
    stores.notify.start();
  });

  afterEach(async () => {
    await stores.close();
    await temp.remove();
  });

  async function registerCustomers(plan: TrafficPlan): Promise<Set<string>> {
    const customers = await Customers.open({ store: stores.store, timeZone: plan.timeZone });
    const ids = new Set(plan.records.map((r) => r.customer_id));
    for (const id of ids) await customers.create({ id, name: `Customer ${id}`, email: `${id.toLowerCase()}@example.com` });
    return ids;
  }

  async function setThresholds(plan: TrafficPlan): Promise<void> {
    const customers = await Customers.open({ store: stores.store, timeZone: plan.timeZone, now: () => START });
    for (const [id, cents] of plan.thresholds) expect((await customers.setThreshold(id, cents)).breached).toBe(false);
  }

  async function expectBreachesAsOracle(plan: TrafficPlan): Promise<number> {
    let notified = 0;
    for (const customerId of plan.thresholds.keys()) {
      const inbox = await settledInbox(stores.notify, TOPIC, customerId);
      const expected = plan.oracle.breachList.filter((b) => b.customerId === customerId);
      expect(inbox.map((e) => [e.message.month, e.message.threshold_cents, e.message.transaction_id, e.message.total_cents]).sort()).toEqual(
        expected.map((b) => [b.month, b.thresholdCents, b.transactionId, b.totalCents]).sort(),
      );
      notified += inbox.length;
    }
    return notified;
  }

  it('sums traffic to the oracle and notifies each predicted breach once, across a stop and restart mid-stream', async () => {
    const plan = trafficPlan({ count: 20_000, seed: 7, customers: 60, withThresholds: 20, startTime: START, eventsPerSecond: 2 });
    const ids = await registerCustomers(plan);
    await setThresholds(plan);
    const half = plan.records.length / 2;
    await appendRecords(stores.log, 'toll_transactions', plan.records.slice(0, half));

    let alerts = await startSpendAlerts({ ...stores, config: { source: 'transactions', batchSize: 200 } });
    await waitFor('some spend to be applied', () => alerts.stats()[0]!.recordsApplied > 1000);
    await alerts.stop();
    const appliedBeforeStop = alerts.stats()[0]!.recordsApplied;
    expect(appliedBeforeStop).toBeLessThan(plan.oracle.uniqueTransactions);

    // A fresh runtime, as after a restart; the rest of the traffic arrives while it runs.
    const functions = new FunctionsRuntime({ log: stores.log, store: sqliteTableStore(stores.tables) });
    alerts = await startSpendAlerts({ ...stores, functions, config: { source: 'transactions', batchSize: 200 } });
    await appendRecords(stores.log, 'toll_transactions', plan.records.slice(half));
    await waitFor('the pipeline to catch up', () => caughtUp(stores, MAPPING, 'toll_transactions'));
    await functions.stop();

    expect(monthlyTotalsOf(stores.tables, ids)).toEqual(oracleTotals(plan.oracle));
    expect(appliedBeforeStop + alerts.stats()[0]!.recordsApplied).toBe(plan.oracle.uniqueTransactions);
    const months = new Set([...oracleTotals(plan.oracle).keys()].map((k) => k.split('/')[1]));
    expect(months).toEqual(new Set(['2026-10', '2026-11']));

    expect(plan.oracle.breachList.length).toBeGreaterThanOrEqual(20);
    expect(await expectBreachesAsOracle(plan)).toBe(plan.oracle.breachList.length);
    // Customers without a threshold hear nothing.
    const quiet = [...ids].find((id) => !plan.thresholds.has(id))!;
    expect(await settledInbox(stores.notify, TOPIC, quiet)).toEqual([]);

    // The days add up to the month.
    const reader = new SpendReader({ store: stores.store });
    const someone = plan.oracle.breachList[0]!.customerId;
    const mtd = await reader.monthToDate(someone, Date.UTC(2026, 10, 1, 12));
    expect(mtd.totalCents).toBe(plan.oracle.total(someone, '2026-11'));
    expect(mtd.days.reduce((s, d) => s + d.totalCents, 0)).toBe(mtd.totalCents);
    expect(await alerts.invalidCount()).toBe(0);
  });

  it('changes nothing when committed batches are delivered again', async () => {
    const plan = trafficPlan({ count: 6000, seed: 21, customers: 40, withThresholds: 20, startTime: START + 6 * 3_600_000 - 1_800_000, eventsPerSecond: 1 });
    const ids = await registerCustomers(plan);
    await setThresholds(plan);
    await appendRecords(stores.log, 'toll_transactions', plan.records);
    const alerts = await startSpendAlerts({ ...stores, config: { source: 'transactions', batchSize: 100 } });
    await waitFor('the pipeline to catch up', () => caughtUp(stores, MAPPING, 'toll_transactions'));
    await alerts.stop();
    const totals = monthlyTotalsOf(stores.tables, ids);
    expect(totals).toEqual(oracleTotals(plan.oracle));
    const notified = await expectBreachesAsOracle(plan);
    const inboxes = await Promise.all([...plan.thresholds.keys()].map(async (id) => (await allInbox(stores.notify, id)).filter((e) => e.message.type !== 'test_barrier')));

    // Move each shard's checkpoint back to its first record: everything after it is read and handed over again.
    const consumer = `function:${MAPPING}`;
    for (const shard of (await stores.log.describeStream('toll_transactions')).shards) {
      const first = await stores.log.read('toll_transactions', shard.shardId, { type: 'TRIM_HORIZON' }, { maxRecords: 1 });
      stores.tables.transaction((tx) => tx.setCheckpoint(consumer, 'toll_transactions', shard.shardId, first.records[0]!.sequenceNumber));
    }
    const functions = new FunctionsRuntime({ log: stores.log, store: sqliteTableStore(stores.tables) });
    await startSpendAlerts({ ...stores, functions, config: { source: 'transactions', batchSize: 100 } });
    await waitFor('the redelivery to finish', () => caughtUp(stores, MAPPING, 'toll_transactions'));
    const stats = functions.stats()[0]!;
    await functions.stop();

    expect(stats.recordsSkippedAsDone).toBeGreaterThan(plan.oracle.uniqueTransactions / 2);
    expect(monthlyTotalsOf(stores.tables, ids)).toEqual(totals);
    expect(await expectBreachesAsOracle(plan)).toBe(notified);
    expect(await Promise.all([...plan.thresholds.keys()].map(async (id) => (await allInbox(stores.notify, id)).filter((e) => e.message.type !== 'test_barrier')))).toEqual(inboxes);
  });

  it('sends invalid records to the error stream with their reason, counts them, and applies the rest', async () => {
    const valid = (id: string, cents: number) => ({
      transaction_id: id,
      customer_id: 'C1',
      tag_id: 'TAG1',
      plate: 'ABC-1234',
      plaza_id: 'P01',
      lane: 1,
      vehicle_class: 2,
      amount_cents: cents,
      currency: 'USD',
      event_time: '2026-11-20T10:00:00Z',
    });
    const records: unknown[] = [
      valid('ok-1', 300),
      '{"transaction_id": "broken',
      { ...valid('bad-1', 0), amount_cents: 12.5 },
      { ...valid('bad-2', 100), currency: 'EUR' },
      { ...valid('bad-3', 100), event_time: '2026-11-20 10:00' },
      valid('bad-4', Number.MAX_SAFE_INTEGER),
      valid('ok-2', 450),
    ];
    await appendRecords(stores.log, 'toll_transactions', records, 10);
    const alerts = await startSpendAlerts({ ...stores, config: { source: 'transactions' } });
    await waitFor('the pipeline to catch up', () => caughtUp(stores, MAPPING, 'toll_transactions'));

    expect(await alerts.invalidCount()).toBe(5);
    expect(alerts.stats()[0]).toMatchObject({ recordsApplied: 2, recordsInvalid: 5 });
    expect(await new SpendReader({ store: stores.store }).monthTotal('C1', '2026-11')).toBe(750);

    const errors = (await stores.log.read('toll_transactions_errors', 'shardId-000000000000', { type: 'TRIM_HORIZON' })).records.map(
      (r) => JSON.parse(new TextDecoder().decode(r.data)) as { reason: string; record: string; stream: string; shardId: string; sequenceNumber: string },
    );
    expect(errors.map((e) => e.reason).sort()).toEqual(
      [
        'the record is not JSON',
        'amount_cents must be a whole number of cents, 0 or more (money is never a fraction)',
        'currency EUR is not the account currency USD',
        'event_time must be an ISO 8601 date and time with a zone, e.g. 2026-11-26T08:15:00Z',
        'amount_cents 9007199254740991 is above the limit of 100000000 for one toll',
      ].sort(),
    );
    for (const error of errors) {
      expect(error.stream).toBe('toll_transactions');
      const original = await stores.log.read('toll_transactions', error.shardId, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: error.sequenceNumber }, { maxRecords: 1 });
      expect(new TextDecoder().decode(original.records[0]!.data)).toBe(error.record);
    }
  });

  it('sums window totals from customer_spend, and splits at a cutover when both paths run', async () => {
    const customers = await Customers.open({ store: stores.store, now: () => Date.UTC(2026, 10, 1) });
    await customers.create({ id: 'C1', name: 'Ada', email: 'ada@example.com' });
    await customers.setThreshold('C1', 1000);
    const cutoverAt = Date.UTC(2026, 10, 20, 12);
    const tx = (id: string, iso: string, cents: number) => ({
      transaction_id: id,
      customer_id: 'C1',
      tag_id: 'TAG1',
      plate: 'ABC-1234',
      plaza_id: 'P01',
      lane: 1,
      vehicle_class: 2,
      amount_cents: cents,
      currency: 'USD',
      event_time: iso,
    });
    const window = (start: string, end: string, cents: number, transactions: number) => ({ customer_id: 'C1', window_start: start, window_end: end, total_cents: cents, transactions });
    await appendRecords(stores.log, 'toll_transactions', [
      tx('t1', '2026-11-20T11:00:00Z', 400),
      tx('t2', '2026-11-20T11:59:59Z', 300),
      // Counted by the windows path, which owns event time from the cutover on.
      tx('t3', '2026-11-20T12:00:00Z', 250),
    ]);
    await stores.log.createStream('customer_spend', { shardCount: 1 });
    await appendRecords(stores.log, 'customer_spend', [
      // Before the cutover: the transactions path already counted it.
      window('2026-11-20T11:00:00Z', '2026-11-20T12:00:00Z', 700, 2),
      window('2026-11-20T12:00:00Z', '2026-11-20T13:00:00Z', 250, 1),
      window('2026-11-20T13:00:00Z', '2026-11-20T14:00:00Z', 125, 1),
      { customer_id: 'C1', window_start: 'noon', window_end: '2026-11-20T14:00:00Z', total_cents: 5, transactions: 1 },
    ]);
    const alerts = await startSpendAlerts({ ...stores, config: { source: 'both', cutoverAt } });
    expect(alerts.mappings).toEqual([MAPPING, 'abc-tolls-spend-windows']);
    await waitFor('both paths to catch up', async () => (await caughtUp(stores, MAPPING, 'toll_transactions')) && (await caughtUp(stores, 'abc-tolls-spend-windows', 'customer_spend')));

    const mtd = await new SpendReader({ store: stores.store }).monthToDate('C1', cutoverAt);
    expect(mtd).toMatchObject({ totalCents: 1075, transactions: 4 });
    expect(alerts.stats().map((s) => [s.stream, s.recordsApplied, s.recordsOutsideCutover, s.recordsInvalid])).toEqual([
      ['toll_transactions', 2, 1, 0],
      ['customer_spend', 2, 1, 1],
    ]);
    expect(await alerts.invalidCount('customer_spend')).toBe(1);
    const inbox = await settledInbox(stores.notify, TOPIC, 'C1');
    expect(inbox.map((e) => e.message)).toEqual([
      {
        type: 'threshold_breach',
        customer_id: 'C1',
        month: '2026-11',
        threshold_cents: 1000,
        total_cents: 1075,
        breached_at: '2026-11-20T13:00:00.000Z',
        cause: 'window',
        window: { start: '2026-11-20T13:00:00Z', end: '2026-11-20T14:00:00Z' },
      },
    ]);
  });

  it('rejects a config it cannot honour, naming the key', () => {
    const bad = (config: SpendAlertsConfig) => () => resolveSpendAlertsConfig(config);
    expect(bad({ source: 'both' })).toThrow(/cutoverAt/);
    // The server's sources are the config schema's; the library adds only its own two.
    expect(bad({ source: 'lambda' as SpendSourceKind })).toThrow("alerts.source must be one of 'sql', 'transactions', got \"lambda\" (spend alerts config, which also takes 'windows' and 'both')");
    expect(resolveSpendAlertsConfig({ source: 'windows' }).source).toBe('windows');
    expect(bad({ batchSize: 0 })).toThrow(/batchSize/);
    expect(bad({ windowBatchSize: 10_001 })).toThrow(/windowBatchSize/);
    expect(bad({ currency: 'usd' })).toThrow(/currency/);
    expect(bad({ maxAmountCents: 1.5 })).toThrow(/maxAmountCents/);
    expect(bad({ timezone: 'UTC' } as SpendAlertsConfig)).toThrow(/unknown key 'timezone'/);
    expect(resolveSpendAlertsConfig({ currency: null }).currency).toBeUndefined();
    expect(resolveSpendAlertsConfig().transactionsErrorStream).toBe('toll_transactions_errors');
  });
});

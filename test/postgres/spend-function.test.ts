/**
 * The ABC Tolls spend threshold function on tables in PostgreSQL, as a cluster node runs it: the functions
 * runtime commits the totals, the breach notifications (the outbox of the notifications on PostgreSQL) and its checkpoints in one
 * PostgreSQL transaction. Runtimes die mid-stream (after a commit the runtime never heard of, and inside a
 * transaction before its commit); the next one on the same schema redelivers from the stored checkpoints. At
 * the end the totals equal the oracle and every breach reached the customer's inbox exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureStoreTables, SpendLedger, SpendReader, TABLES, transactionsHandler, type SpendPathStats } from '../../src/apps/abc-tolls/index.ts';
import { appendRecords, createTransactionsStream, oracleTotals, settledInbox, trafficPlan, waitFor } from '../../src/apps/abc-tolls/testing/harness.ts';
import { FunctionsRuntime, type MappingStats } from '../../src/functions/index.ts';
import { openEmbeddedLog, type EmbeddedStreamLog } from '../../src/log/index.ts';
import { openPostgresNotify, publishToPostgresNotify, type PostgresNotify } from '../../src/notify/index.ts';
import { openPostgresTables, type StoreTx, type TableStore } from '../../src/tables/index.ts';
import { postgresSchema, type PostgresSchema } from './server.ts';

const MAPPING = 'abc-tolls-spend';
const STREAM = 'toll_transactions';
const TOPIC = 'spend-alerts';
/** Crosses midnight of October 31st, so months roll over and late records land in the month before. */
const TRAFFIC = { count: 2400, seed: 21, customers: 24, withThresholds: 8, startTime: Date.UTC(2026, 9, 31, 23), eventsPerSecond: 0.5 } as const;

/**
 * A process that dies in the middle of its work: its `crashAt`-th transaction that applies spend either commits
 * and then the process is gone before it hears so (`after-commit`), or is gone inside the transaction, which
 * therefore rolls back (`before-commit`). Nothing the dead process calls reaches the store afterwards.
 */
function dyingStore(store: TableStore, crashAt: number, when: 'after-commit' | 'before-commit'): { store: TableStore; dead: () => boolean } {
  let spendCommits = 0;
  let dead = false;
  const gone = () => new Error('the process is gone');
  const wrapped: TableStore = Object.create(store) as TableStore;
  for (const name of ['get', 'put', 'delete', 'update', 'query', 'scan', 'getCheckpoint', 'listCheckpoints', 'createTable', 'deleteTable', 'listTables', 'describeTable', 'deleteCheckpoints'] as const) {
    const method = (store[name] as (...args: unknown[]) => Promise<unknown>).bind(store);
    Object.defineProperty(wrapped, name, { value: (...args: unknown[]) => (dead ? Promise.reject(gone()) : method(...args)) });
  }
  Object.defineProperty(wrapped, 'transaction', {
    value: async <T>(fn: (tx: StoreTx) => Promise<T> | T, options?: Parameters<TableStore['transaction']>[1]): Promise<T> => {
      if (dead) throw gone();
      let appliesSpend = false;
      const result = await store.transaction(async (tx) => {
        const watched: Record<string, unknown> = {};
        for (const name of ['get', 'put', 'delete', 'update', 'query', 'scan', 'getCheckpoint', 'listCheckpoints', 'setCheckpoint', 'transaction', 'publish'] as const) {
          const method = (tx[name] as (...args: unknown[]) => unknown).bind(tx);
          watched[name] = (...args: unknown[]) => {
            if (name === 'update') appliesSpend = true;
            return method(...args);
          };
        }
        const out = await fn(watched as unknown as StoreTx);
        if (appliesSpend && when === 'before-commit' && ++spendCommits === crashAt) {
          dead = true;
          throw gone();
        }
        return out;
      }, options);
      if (dead) throw gone();
      if (appliesSpend && when === 'after-commit' && ++spendCommits === crashAt) {
        dead = true;
        throw gone();
      }
      return result;
    },
  });
  return { store: wrapped, dead: () => dead };
}

describe('the spend threshold function on PostgreSQL tables', () => {
  let schema: PostgresSchema;
  let dir: string;
  let log: EmbeddedStreamLog;
  let store: TableStore;
  let notify: PostgresNotify;

  beforeEach(async () => {
    schema = postgresSchema('fn_spend');
    dir = await mkdtemp(path.join(tmpdir(), 'tollstream-pg-spend-'));
    log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval', fsyncIntervalMs: 50 });
    store = await openPostgresTables({ connectionString: schema.url, schema: schema.schema });
    publishToPostgresNotify(store, { schema: `${schema.schema}_notify` });
    notify = await openPostgresNotify({ connectionString: schema.url, schema: `${schema.schema}_notify`, pollIntervalMs: 50 });
    await notify.createTopic(TOPIC, { kind: 'inbox', customerField: 'customer_id' });
  });

  afterEach(async () => {
    await notify.close();
    await schema.admin(`DROP SCHEMA IF EXISTS "${schema.schema}_notify" CASCADE`);
    await store.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
    await schema.cleanup();
  });

  /** One run of the mapping on `runStore` until `done`; returns its counters as they were at the end. */
  async function run(runStore: TableStore, done: () => boolean | Promise<boolean>): Promise<MappingStats> {
    const runtime = new FunctionsRuntime({ log, store: runStore });
    const stats: SpendPathStats = { stream: STREAM, recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 };
    await log.createStream(`${STREAM}_errors`, { shardCount: 1, dedupe: { mode: 'key' } }).catch(() => undefined);
    await runtime.start({
      name: MAPPING,
      stream: STREAM,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 100,
      // Two lanes per shard: a lane's commit and the shard checkpoint are apart, so a crash between them
      // redelivers records that are already applied.
      parallelizationFactor: 2,
      retryBaseDelayMs: 10,
      handler: transactionsHandler({ ledger: new SpendLedger(), log, errorStream: `${STREAM}_errors`, currency: 'USD', stats }),
    });
    try {
      await waitFor('the run to end', done, 120_000);
      return { ...runtime.stats()[0]! };
    } finally {
      await runtime.stop();
    }
  }

  async function caughtUp(): Promise<boolean> {
    for (const shard of log.stats().shards) {
      if (shard.stream !== STREAM || shard.latestSequenceNumber === undefined) continue;
      const checkpoint = (await store.getCheckpoint(`function:${MAPPING}`, STREAM, shard.shardId))?.sequenceNumber;
      if (checkpoint === undefined || checkpoint < shard.latestSequenceNumber) return false;
    }
    return true;
  }

  it('sums every toll once and notifies every breach once across runtimes that die before and after a commit', { timeout: 240_000 }, async () => {
    const plan = trafficPlan(TRAFFIC);
    const ids = [...new Set(plan.records.map((r) => r.customer_id))];
    await ensureStoreTables(store);
    await store.transaction(async (tx) => {
      for (const id of ids) {
        const threshold = plan.thresholds.get(id);
        await tx.put(TABLES.customers, { pk: id }, { customer_id: id, name: id, email: `${id.toLowerCase()}@example.com`, created_at: 0, ...(threshold === undefined ? {} : { threshold_cents: threshold }) });
      }
    });
    await createTransactionsStream(log, STREAM);
    await appendRecords(log, STREAM, plan.records);
    notify.start();

    const first = dyingStore(store, 5, 'after-commit');
    await run(first.store, first.dead);
    const second = dyingStore(store, 3, 'before-commit');
    const secondStats = await run(second.store, second.dead);
    const lastStats = await run(store, caughtUp);

    // Records the first runtime had committed came again, and were recognized and skipped.
    expect(secondStats.recordsSkippedAsDone + lastStats.recordsSkippedAsDone).toBeGreaterThan(0);

    const totals = new Map<string, number>();
    for (const id of ids) {
      for (const item of (await store.query(TABLES.monthlyTotals, id, { limit: 1000 })).items) totals.set(`${id}/${item.sk}`, item.value.total_cents as number);
    }
    expect(totals).toEqual(oracleTotals(plan.oracle));

    await waitFor('the outbox to be fanned out', async () => (await notify.stats()).outboxPending === 0);
    expect(plan.oracle.breachList.length).toBeGreaterThanOrEqual(8);
    for (const customerId of plan.thresholds.keys()) {
      const inbox = await settledInbox(notify, TOPIC, customerId);
      const expected = plan.oracle.breachList.filter((b) => b.customerId === customerId);
      expect(inbox.map((e) => [e.message.month, e.message.threshold_cents, e.message.transaction_id, e.message.total_cents]).sort()).toEqual(
        expected.map((b) => [b.month, b.thresholdCents, b.transactionId, b.totalCents]).sort(),
      );
    }
  });

  it('adds to totals a schema holds in the earlier shape, a row per day beside the month row, and reads both', async () => {
    await ensureStoreTables(store);
    // What the version before month items left in a schema.
    await store.transaction(async (tx) => {
      await tx.put(TABLES.customers, { pk: 'C1' }, { customer_id: 'C1', name: 'C1', email: 'c1@example.com', created_at: 0, threshold_cents: 1000 });
      await tx.put(TABLES.monthlyTotals, { pk: 'C1', sk: '2026-11' }, { total_cents: 800, transactions: 3 });
      await tx.put(TABLES.dailyTotals, { pk: 'C1', sk: '2026-11-01' }, { total_cents: 500, transactions: 2 });
      await tx.put(TABLES.dailyTotals, { pk: 'C1', sk: '2026-11-02' }, { total_cents: 300, transactions: 1 });
    });
    await store.close();
    store = await openPostgresTables({ connectionString: schema.url, schema: schema.schema });
    publishToPostgresNotify(store, { schema: `${schema.schema}_notify` });
    notify.start();
    const ledger = new SpendLedger();
    const window = (iso: string, cents: number) => ({
      customerId: 'C1',
      eventTimeMs: Date.parse(iso),
      cents,
      source: { kind: 'window' as const, windowStart: iso, windowEnd: new Date(Date.parse(iso) + 1000).toISOString(), transactions: 1, month: iso.slice(0, 7), day: iso.slice(0, 10) },
    });
    expect(await store.transaction((tx) => ledger.applySpendBatch(tx, [window('2026-11-02T10:00:00.000Z', 150), window('2026-11-03T10:00:00.000Z', 100)]))).toBe(1);
    await waitFor('the outbox to be fanned out', async () => (await notify.stats()).outboxPending === 0);
    expect((await settledInbox(notify, TOPIC, 'C1')).map((e) => e.message.total_cents)).toEqual([1050]);
    expect(await new SpendReader({ store }).monthToDate('C1', Date.parse('2026-11-03T12:00:00Z'))).toEqual({
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
});

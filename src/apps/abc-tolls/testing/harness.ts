/**
 * Test support: the real embedded log, tables and notifications in one directory, the way a server opens
 * them, plus deterministic ABC Tolls traffic and a way to append it. Used by the tests in this folder and
 * by `crash-child.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../../core/logger.ts';
import { FunctionsRuntime } from '../../../functions/index.ts';
import { openEmbeddedLog, type EmbeddedStreamLog, type StreamLog } from '../../../log/index.ts';
import { openNotify, type InboxEntry, type Notifications, type Notify } from '../../../notify/index.ts';
import { SpendOracle, TrafficGenerator, type TollTransaction, type TrafficOptions } from '../../../simulator/index.ts';
import { openTables, sqliteTableStore, type Tables, type TableStore } from '../../../tables/index.ts';

export interface Stores {
  readonly dir: string;
  readonly log: EmbeddedStreamLog;
  readonly tables: Tables;
  /** `tables` through the asynchronous door, as the functions runtime and the app use them. */
  readonly store: TableStore;
  readonly notify: Notify;
  readonly functions: FunctionsRuntime;
  /** Stops the runtime and the dispatcher, then closes tables and log. */
  close(): Promise<void>;
}

export async function tempDir(prefix = 'tollstream-abc-tolls-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function openStores(dir: string, options: { logger?: Logger; now?: () => number } = {}): Promise<Stores> {
  // `interval` and `normal` survive a process crash (SIGKILL), which is what these tests exercise; power loss is not.
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval', fsyncIntervalMs: 50, ...(options.logger ? { logger: options.logger } : {}) });
  const tables = openTables({ path: path.join(dir, 'tables.db'), synchronous: 'normal', ...(options.now ? { now: options.now } : {}) });
  const notify = openNotify({ tables, pollIntervalMs: 50, ...(options.now ? { now: options.now } : {}) });
  const store = sqliteTableStore(tables);
  const functions = new FunctionsRuntime({ log, store, ...(options.logger ? { logger: options.logger } : {}) });
  return {
    dir,
    log,
    tables,
    store,
    notify,
    functions,
    close: async () => {
      await functions.stop();
      await notify.stop();
      tables.close();
      await log.close();
    },
  };
}

/** Creates the transactions stream as the default config declares it: 2 shards, deduped by transaction_id. */
export async function createTransactionsStream(log: StreamLog, name = 'toll_transactions'): Promise<void> {
  await log.createStream(name, { shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 3600 } });
}

const encoder = new TextEncoder();

/** Appends records partitioned by customer (as the simulator's sinks do), retrying records a shard refused. */
export async function appendRecords(log: StreamLog, stream: string, records: readonly unknown[], batchSize = 500): Promise<void> {
  for (let i = 0; i < records.length; i += batchSize) {
    let pending = records.slice(i, i + batchSize).map((r) => ({
      data: encoder.encode(typeof r === 'string' ? r : JSON.stringify(r)),
      partitionKey: typeof r === 'object' && r !== null && typeof (r as { customer_id?: unknown }).customer_id === 'string' ? (r as { customer_id: string }).customer_id : 'invalid',
    }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 50) throw new Error(`the log kept refusing ${pending.length} records`);
      const results = await log.append(stream, pending);
      pending = pending.filter((_, k) => !results[k]!.ok);
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export interface TrafficPlan {
  /** Every record to send, duplicates (producer retries) included, in send order. */
  readonly records: readonly TollTransaction[];
  /** Thresholds of the customers that have one, in cents. */
  readonly thresholds: ReadonlyMap<string, number>;
  /** What the system must conclude once every record is applied. */
  readonly oracle: SpendOracle;
  readonly timeZone: string;
}

/**
 * Deterministic traffic that crosses a month boundary (with out-of-order, late and retried records), and
 * thresholds for the `withThresholds` busiest customers set so that each is breached in some month.
 */
export function trafficPlan(options: { count: number; seed: number; customers: number; withThresholds: number; startTime: number; eventsPerSecond: number; timeZone?: string }): TrafficPlan {
  const timeZone = options.timeZone ?? 'UTC';
  const trafficOptions: TrafficOptions = {
    seed: options.seed,
    customers: options.customers,
    plazas: 8,
    startTime: options.startTime,
    eventsPerSecond: options.eventsPerSecond,
    lateShare: 0.01,
    outOfOrderShare: 0.05,
    duplicateShare: 0.02,
  };
  const generator = new TrafficGenerator(trafficOptions);
  const records: TollTransaction[] = [];
  for (let i = 0; i < options.count; i++) records.push(generator.next().transaction);
  // A first pass without thresholds finds each customer's quietest month; the threshold is 60% of it, so the
  // customers that spend in every month of the traffic are breached in each of them.
  const dry = new SpendOracle(new Map(), timeZone);
  for (const r of records) dry.add(r);
  const monthCount = new Set([...dry.entries()].map((e) => e.month)).size;
  const least = new Map<string, { months: number; cents: number }>();
  for (const e of dry.entries()) {
    const prev = least.get(e.customerId);
    least.set(e.customerId, { months: (prev?.months ?? 0) + 1, cents: Math.min(prev?.cents ?? Infinity, e.totalCents) });
  }
  const busiest = [...least]
    .map(([customer, l]) => [customer, l.months === monthCount ? l.cents : 0] as const)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.withThresholds);
  const thresholds = new Map(busiest.map(([customer, cents]) => [customer, Math.floor((cents * 0.6) / 100) * 100]));
  const oracle = new SpendOracle(thresholds, timeZone);
  for (const r of records) oracle.add(r);
  return { records, thresholds, oracle, timeZone };
}

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let barriers = 0;

/**
 * The customer's inbox once every notification committed so far has been fanned out: a barrier message is
 * published after them and awaited (fan-out goes in outbox order), then left out of the result. The
 * dispatcher must be running (`notify.start()`).
 */
export async function settledInbox(notify: Notifications, topic: string, customerId: string): Promise<InboxEntry[]> {
  const key = `test-barrier:${process.pid}:${++barriers}`;
  await notify.publish(topic, { type: 'test_barrier', customer_id: customerId }, { idempotencyKey: key });
  let entries: InboxEntry[] = [];
  await waitFor(`the inbox of ${customerId} to settle`, async () => {
    entries = await allInbox(notify, customerId);
    return entries.some((e) => e.idempotencyKey === key);
  });
  return entries.filter((e) => e.message.type !== 'test_barrier');
}

/** Every entry of the customer's inbox, oldest first. */
export async function allInbox(notify: Notifications, customerId: string): Promise<InboxEntry[]> {
  const out: InboxEntry[] = [];
  for (;;) {
    const page = await notify.listInbox(customerId, { limit: 500, after: out.length ? out[out.length - 1]!.id : 0 });
    out.push(...page);
    if (page.length < 500) return out;
  }
}

/** True when the mapping's shard checkpoints have reached the newest record of every shard of `stream`. */
export async function caughtUp(stores: { readonly log: EmbeddedStreamLog; readonly store: TableStore }, mapping: string, stream: string): Promise<boolean> {
  for (const shard of stores.log.stats().shards) {
    if (shard.stream !== stream || shard.latestSequenceNumber === undefined) continue;
    const checkpoint = (await stores.store.getCheckpoint(`function:${mapping}`, stream, shard.shardId))?.sequenceNumber;
    if (checkpoint === undefined || checkpoint < shard.latestSequenceNumber) return false;
  }
  return true;
}

/** Every (customer, month) total in the tables, as `customer/month -> cents`. */
export function monthlyTotalsOf(tables: Tables, customerIds: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const customerId of customerIds) {
    for (const item of tables.query('monthly_totals', customerId, { limit: 1000 }).items) out.set(`${customerId}/${item.sk}`, item.value.total_cents as number);
  }
  return out;
}

/** The oracle's totals in the shape of `monthlyTotalsOf`. */
export function oracleTotals(oracle: SpendOracle): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of oracle.entries()) out.set(`${e.customerId}/${e.month}`, e.totalCents);
  return out;
}

/** The traffic of the crash test, shared by the test and its child process. */
export const CRASH_TRAFFIC = { count: 20_000, seed: 9, customers: 60, withThresholds: 20, startTime: Date.UTC(2026, 9, 31, 22), eventsPerSecond: 2 } as const;

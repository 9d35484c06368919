/**
 * What the scale-of-state benchmark reads back from a running server and its data directory: the warehouse's
 * row count (through `POST /v1/warehouse/query`), the lag gauges and progress counters of `/metrics` (the
 * e2e benchmark's sampler), and the customers' totals (through the tables door, once the tolls are in).
 */
import { TABLES } from '../../src/apps/abc-tolls/index.ts';
import type { MonthItem } from '../../src/apps/abc-tolls/tables.ts';
import { openTables } from '../../src/tables/index.ts';
import type { Sample } from '../e2e/sampler.ts';
import { tablesDatabasePath } from './seed.ts';

/** A lag gauge at or below this counts as caught up (about one delivery buffer interval and one SQL window). */
export const CAUGHT_UP_LAG_MS = 1000;

export interface WarehouseCount {
  readonly rows: number;
  readonly distinctTransactions: number;
}

/** Rows of `toll_transactions` in the warehouse, and how many distinct transaction ids they hold. */
export async function warehouseCount(url: string): Promise<WarehouseCount> {
  const res = await fetch(`${url}/v1/warehouse/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT count(*), count(DISTINCT transaction_id) FROM toll_transactions' }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /v1/warehouse/query answered ${res.status}: ${text.slice(0, 300)}`);
  const row = (JSON.parse(text) as { rows: unknown[][] }).rows[0] ?? [];
  return { rows: Number(row[0]), distinctTransactions: Number(row[1]) };
}

/**
 * Delivery behind latest and query lag at most `CAUGHT_UP_LAG_MS` (a gauge the server does not report yet does
 * not count). The function iterator age is left out: it keeps the age of the last record a function took, so
 * with no traffic it stays where it was; the totals check says whether the functions are done.
 */
export function liveLagsCaughtUp(s: Sample): boolean {
  const ok = (v: number | undefined) => v !== undefined && v <= CAUGHT_UP_LAG_MS;
  return ok(s.deliveryBehindMs) && ok(s.queryLagMs);
}

export interface TotalsCheck {
  /** Customers whose daily totals were read: every customer the run's tolls went to. */
  readonly customers: number;
  /** Transactions in those customers' daily totals (the seeded state has none, so all are this run's). */
  readonly counted: number;
  /** Customers whose count differs from the tolls acknowledged for them. */
  readonly customersDiffering: number;
  /** How long the check took. */
  readonly ms: number;
}

/**
 * Sums the `transactions` of the daily totals of every customer in `expected`, through the tables door on the
 * data directory's tables database. Another process may hold it: SQLite in WAL mode lets this read beside the
 * server's writes.
 */
export function checkTotals(dataDir: string, expected: ReadonlyMap<string, number>): TotalsCheck {
  const started = performance.now();
  return withTables(dataDir, (count) => {
    let counted = 0;
    let customersDiffering = 0;
    for (const [customer, acknowledged] of expected) {
      const mine = count(customer);
      counted += mine;
      if (mine !== acknowledged) customersDiffering++;
    }
    return { customers: expected.size, counted, customersDiffering, ms: Math.round(performance.now() - started) };
  });
}

/**
 * Whether the totals have caught up with the tolls acknowledged, asked again and again while the server works:
 * each call re-reads only the customers whose totals were still short (a count only grows), so polling costs
 * little once most are there. `expected` must be final when this is made. `checkTotals` is the exact check.
 */
export class TotalsProgress {
  #pending: Set<string>;

  constructor(
    private readonly dataDir: string,
    private readonly expected: ReadonlyMap<string, number>,
  ) {
    this.#pending = new Set(expected.keys());
  }

  caughtUp(): boolean {
    if (this.#pending.size === 0) return true;
    withTables(this.dataDir, (count) => {
      for (const customer of this.#pending) if (count(customer) >= this.expected.get(customer)!) this.#pending.delete(customer);
    });
    return this.#pending.size === 0;
  }
}

function withTables<T>(dataDir: string, fn: (count: (customer: string) => number) => T): T {
  const tables = openTables({ path: tablesDatabasePath(dataDir), busyTimeoutMs: 30_000 });
  try {
    return fn((customer) => {
      // The days' transactions (the seeded month totals have none): in the month items, and in day rows
      // where an earlier version wrote them.
      let total = 0;
      for (const table of [TABLES.monthlyTotals, TABLES.dailyTotals]) {
        let cursor: string | undefined;
        do {
          const page = tables.query(table, customer, { limit: 1000, ...(cursor ? { cursor } : {}) });
          for (const item of page.items) {
            if (table === TABLES.dailyTotals) total += Number(item.value.transactions ?? 0);
            else for (const n of Object.values((item.value as unknown as MonthItem).day_transactions ?? {})) total += n;
          }
          cursor = page.cursor;
        } while (cursor);
      }
      return total;
    });
  } finally {
    tables.close();
  }
}

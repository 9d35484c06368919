/**
 * The state a deployment with N customers has before any traffic of this benchmark: each customer with a
 * monthly threshold, and a month-to-date total for the current month. Written straight into the data
 * directory's tables database through the tables door (`openTables`), as `tollstream up` opens it, in large
 * transactions: seeding millions through the customer API would take longer than the measurement itself.
 */
import path from 'node:path';
import { ensureStoreTables, TABLES } from '../../src/apps/abc-tolls/index.ts';
import { openTables, sqliteTableStore } from '../../src/tables/index.ts';

/** The tables database of a data directory, where the server's spending alerts keep their state (src/apps/abc-tolls/app.ts). */
export function tablesDatabasePath(dataDir: string): string {
  return path.join(dataDir, 'tables.db');
}

/** `C0000001` .. : the simulator's customer ids, so a toll for customer i finds the seeded customer i. */
export function customerId(index: number): string {
  return `C${String(index).padStart(7, '0')}`;
}

/**
 * Far above any month-to-date total this benchmark produces: no seeded customer breaches, so the run measures
 * state, not a flood of notifications.
 */
export const SEEDED_THRESHOLD_CENTS = 100_000_000;

/** Customers written per transaction: large enough that the commit's fsync is a small share, small enough for progress lines. */
const CUSTOMERS_PER_TRANSACTION = 25_000;

export interface SeedResult {
  readonly customers: number;
  /** Customers written; less than `customers` when the deadline cut the seeding short. */
  readonly seeded: number;
  readonly seconds: number;
  /** Customers (each two items) written per second. */
  readonly customersPerSecond: number;
  readonly complete: boolean;
}

export interface SeedOptions {
  readonly dataDir: string;
  readonly customers: number;
  /** `performance.now()` after which seeding stops (between transactions), or when the projection says it would pass it. */
  readonly deadline: number;
  /** The UTC month of the totals, `YYYY-MM` (the server's default alerts time zone is UTC). */
  readonly month: string;
  readonly log: (line: string) => void;
}

/**
 * Writes customers 1..N. Stops early, with `complete: false`, once the rate measured so far says the rest
 * would not be done before `deadline`: the caller then reports the size as not run, with that rate.
 */
export async function seedCustomers(options: SeedOptions): Promise<SeedResult> {
  const { customers, month, log } = options;
  const tables = openTables({ path: tablesDatabasePath(options.dataDir) });
  const started = performance.now();
  let seeded = 0;
  let lastProgress = started;
  try {
    await ensureStoreTables(sqliteTableStore(tables));
    const createdAt = Date.now();
    while (seeded < customers) {
      const from = seeded + 1;
      const to = Math.min(customers, seeded + CUSTOMERS_PER_TRANSACTION);
      tables.transaction((tx) => {
        for (let i = from; i <= to; i++) {
          const id = customerId(i);
          tx.put(TABLES.customers, { pk: id }, { customer_id: id, name: `Customer ${i}`, email: `${id.toLowerCase()}@example.com`, threshold_cents: SEEDED_THRESHOLD_CENTS, created_at: createdAt });
          // A spread of month-to-date spend, from nothing to a few hundred dollars.
          const cents = (i * 7919) % 40_000;
          tx.put(TABLES.monthlyTotals, { pk: id, sk: month }, { total_cents: cents, transactions: Math.ceil(cents / 450) });
        }
      });
      seeded = to;
      const now = performance.now();
      const rate = seeded / ((now - started) / 1000);
      if (seeded < customers && now + ((customers - seeded) / rate) * 1000 > options.deadline) {
        log(`  seeding stopped at ${seeded.toLocaleString('en-US')} customers: at ${Math.round(rate).toLocaleString('en-US')} customers/s the rest would not fit the time budget`);
        return result(customers, seeded, started, false);
      }
      if (now - lastProgress >= 5000) {
        lastProgress = now;
        log(`  seeded ${seeded.toLocaleString('en-US')} / ${customers.toLocaleString('en-US')} customers (${Math.round(rate).toLocaleString('en-US')}/s)`);
      }
    }
    return result(customers, seeded, started, true);
  } finally {
    tables.close();
  }
}

function result(customers: number, seeded: number, started: number, complete: boolean): SeedResult {
  const seconds = (performance.now() - started) / 1000;
  return { customers, seeded, seconds: Math.round(seconds * 10) / 10, customersPerSecond: seeded > 0 ? Math.round(seeded / seconds) : 0, complete };
}

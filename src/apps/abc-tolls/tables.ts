/**
 * The tables of the ABC Tolls app, their item shapes (read back with a cast: tables hold JSON objects), and
 * the one place that creates them.
 */
import type { TableStore } from '../../tables/index.ts';

export const TABLES = {
  /** pk customer id. */
  customers: 'customers',
  /** pk SHA-256 (hex) of a customer token: which customer it belongs to. */
  tokens: 'customer_tokens',
  /** pk customer id, sk token id: the tokens of a customer, to list and revoke them. */
  tokensByCustomer: 'customer_tokens_by_customer',
  /** pk customer id, sk `YYYY-MM` in the configured time zone: a `MonthItem`, the month's total with its days'. */
  monthlyTotals: 'monthly_totals',
  /**
   * pk customer id, sk `YYYY-MM-DD` in the configured time zone: day totals as earlier versions wrote them, one
   * row each. Read (added to the days of the month items), never written any more.
   */
  dailyTotals: 'daily_totals',
  /** pk the source stream name: counts of records the pipeline did not apply. */
  counters: 'spend_alert_counters',
} as const;

export interface CustomerItem {
  readonly customer_id: string;
  readonly name: string;
  readonly email: string;
  /** For display; months are cut in the pipeline's time zone so that every total means the same period. */
  readonly time_zone?: string;
  /** The monthly threshold in cents; absent means no alerts. */
  readonly threshold_cents?: number;
  /** True once the customer stopped alert emails (in the app or with the link in an email); absent, they get them. */
  readonly email_alerts_off?: boolean;
  readonly created_at: number;
}

export interface TotalItem {
  readonly total_cents: number;
  readonly transactions: number;
}

/**
 * A customer's month: its total, and the totals of its days keyed by day of the month (`DD`), in one item so
 * that a window record costs one row read and one row write. Two flat maps rather than an object per day keep
 * the item small (about 22 bytes a day of spend), since it is parsed and encoded again at every write.
 */
export interface MonthItem extends TotalItem {
  readonly day_cents?: Readonly<Record<string, number>>;
  readonly day_transactions?: Readonly<Record<string, number>>;
}

export type TokenItem = {
  readonly customer_id: string;
  readonly token_id: string;
  readonly created_at: number;
};

export interface CounterItem {
  /** Records sent to the error stream. */
  readonly invalid_records: number;
  /** Records left to the other path of a cutover (see `cutoverAt`). */
  readonly outside_cutover: number;
}

/** Every table of the app, and whether it has a sort key. */
const TABLE_SPECS: readonly (readonly [string, boolean])[] = [
  [TABLES.customers, false],
  [TABLES.tokens, false],
  [TABLES.tokensByCustomer, true],
  [TABLES.monthlyTotals, true],
  [TABLES.dailyTotals, true],
  [TABLES.counters, false],
];

/** Creates the app's tables where missing (on SQLite or PostgreSQL). */
export async function ensureStoreTables(store: TableStore): Promise<void> {
  for (const [name, sortKey] of TABLE_SPECS) await store.createTable(name, { sortKey, ifNotExists: true });
}

/** The read side for the customer API: month-to-date spend with its days, and the threshold. */
import type { TableStore } from '../../tables/index.ts';
import { createCalendar, type Calendar } from './calendar.ts';
import { monthTotalIn, thresholdIn } from './ledger.ts';
import { TABLES, type MonthItem, type TotalItem } from './tables.ts';

export interface DaySpend {
  /** `YYYY-MM-DD` in the configured time zone. */
  readonly day: string;
  readonly totalCents: number;
  readonly transactions: number;
}

export interface MonthToDate {
  readonly customerId: string;
  /** `YYYY-MM` in `timeZone`. */
  readonly month: string;
  readonly timeZone: string;
  readonly totalCents: number;
  readonly transactions: number;
  readonly thresholdCents?: number;
  /** Days with spend, in order. */
  readonly days: readonly DaySpend[];
}

export interface SpendReaderOptions {
  /** The tables the pipeline writes the totals to (SQLite or PostgreSQL). */
  readonly store: TableStore;
  /** Must be the pipeline's zone, or months would be cut differently from the totals. @default 'UTC' */
  readonly timeZone?: string;
}

export class SpendReader {
  readonly #store: TableStore;
  readonly #calendar: Calendar;

  constructor(options: SpendReaderOptions) {
    this.#store = options.store;
    this.#calendar = createCalendar(options.timeZone ?? 'UTC');
  }

  /** The zone months and days are cut in. */
  get timeZone(): string {
    return this.#calendar.timeZone;
  }

  /** The spend of the month `now` falls in (ms since the epoch), with a per-day breakdown. */
  async monthToDate(customerId: string, now: number = Date.now()): Promise<MonthToDate> {
    const month = this.#calendar.month(now);
    const monthItem = (await this.#store.get(TABLES.monthlyTotals, { pk: customerId, sk: month }))?.value as unknown as MonthItem | undefined;
    const byDay = new Map<string, { totalCents: number; transactions: number }>();
    const cents = monthItem?.day_cents ?? {};
    const counts = monthItem?.day_transactions ?? {};
    for (const dd of Object.keys(cents)) byDay.set(`${month}-${dd}`, { totalCents: cents[dd]!, transactions: counts[dd] ?? 0 });
    // Days counted by earlier versions are rows of their own (and, during a rolling upgrade, may still be written).
    let cursor: string | undefined;
    do {
      const page = await this.#store.query(TABLES.dailyTotals, customerId, { sk: { beginsWith: `${month}-` }, limit: 100, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) {
        const v = item.value as unknown as TotalItem;
        const day = byDay.get(item.sk!);
        if (day) {
          day.totalCents += v.total_cents;
          day.transactions += v.transactions;
        } else byDay.set(item.sk!, { totalCents: v.total_cents, transactions: v.transactions });
      }
      cursor = page.cursor;
    } while (cursor);
    const days: DaySpend[] = [...byDay.keys()].sort().map((day) => ({ day, ...byDay.get(day)! }));
    const thresholdCents = await thresholdIn(this.#store, customerId);
    return {
      customerId,
      month,
      timeZone: this.#calendar.timeZone,
      totalCents: monthItem?.total_cents ?? 0,
      transactions: monthItem?.transactions ?? 0,
      ...(thresholdCents !== undefined ? { thresholdCents } : {}),
      days,
    };
  }

  /** The total of one month (`YYYY-MM`), 0 when nothing was spent. */
  monthTotal(customerId: string, month: string): Promise<number> {
    return monthTotalIn(this.#store, customerId, month);
  }

  /** The customer's monthly threshold in cents, or undefined when none is set. */
  thresholdOf(customerId: string): Promise<number | undefined> {
    return thresholdIn(this.#store, customerId);
  }
}

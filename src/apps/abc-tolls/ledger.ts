/**
 * The core both spend paths share: add spend to a customer's month and day, and publish a breach
 * notification when the month's total crosses the customer's threshold. It writes only through the
 * transaction it is given (the asynchronous door `StoreTx`, on SQLite or PostgreSQL), so whoever calls it decides
 * what commits together (a function batch with its checkpoint; a threshold change with the threshold).
 */
import type { Item, StoreOps, StoreTx } from '../../tables/index.ts';
import { createCalendar, type Calendar } from './calendar.ts';
import { TABLES, type CustomerItem, type MonthItem, type TotalItem } from './tables.ts';

/** The topic breach notifications go to; an inbox topic keyed by `customer_id`. */
export const DEFAULT_TOPIC = 'spend-alerts';

/** Where a piece of spend came from, named in the breach message. */
export type SpendSource =
  | { readonly kind: 'transaction'; readonly transactionId: string }
  | {
      readonly kind: 'window';
      /** ISO 8601 bounds of the window, as the window record gave them. */
      readonly windowStart: string;
      readonly windowEnd: string;
      /** Transactions the window total holds. */
      readonly transactions: number;
      /** The month the window producer assigned, `YYYY-MM`; wins over the month of the window's start. */
      readonly month?: string;
      /** The day the window producer assigned, `YYYY-MM-DD`; wins over the day of the window's start. */
      readonly day?: string;
    };

export interface BreachMessage {
  readonly [key: string]: string | number | { readonly start: string; readonly end: string };
  readonly type: 'threshold_breach';
  readonly customer_id: string;
  readonly month: string;
  readonly threshold_cents: number;
  readonly total_cents: number;
  /** ISO 8601: the event time of the spend that crossed, or when a lowered threshold was set. */
  readonly breached_at: string;
  /** `transaction`, `window` or `threshold_change`: what made the total exceed the threshold. */
  readonly cause: string;
}

export interface ApplyResult {
  readonly month: string;
  readonly totalCents: number;
  /** The threshold crossed by this spend, if any (its notification is published in the same transaction). */
  readonly breachedThresholdCents?: number;
}

export interface LedgerOptions {
  /** IANA zone where months and days begin. @default 'UTC' */
  readonly timeZone?: string;
  /** @default 'spend-alerts' */
  readonly topic?: string;
}

/** The idempotency key of the one notification per (customer, month, threshold). */
export function breachKey(customerId: string, month: string, thresholdCents: number): string {
  return `breach:${customerId}:${month}:${thresholdCents}`;
}

export class SpendLedger {
  readonly calendar: Calendar;
  readonly topic: string;

  constructor(options: LedgerOptions = {}) {
    this.calendar = createCalendar(options.timeZone ?? 'UTC');
    this.topic = options.topic ?? DEFAULT_TOPIC;
  }

  /**
   * Adds `cents` to the customer's month and day of `eventTimeMs` (a late record counts in its own month)
   * and, when this takes the month past the customer's current threshold, publishes the breach in `tx`.
   * A crossing is `before <= threshold < after`; the idempotency key makes a repeat of the same crossing
   * (redelivery, or the same threshold set again) a no-op.
   */
  async applySpend(tx: StoreTx, customerId: string, eventTimeMs: number, cents: number, source: SpendSource): Promise<ApplyResult> {
    const month = source.kind === 'window' ? (source.month ?? source.day?.slice(0, 7) ?? this.calendar.month(eventTimeMs)) : this.calendar.month(eventTimeMs);
    const count = source.kind === 'window' ? source.transactions : 1;
    const day = source.kind === 'window' && source.day !== undefined ? source.day : this.calendar.day(eventTimeMs);
    const spend: MonthSpend = { customer: undefined, period: month, cents, transactions: count, runningCents: 0, days: [] };
    // A day outside the month (a window record naming only its month) goes to its own month's item.
    const dayMonth = day.slice(0, 7);
    const dayOwner: MonthSpend = dayMonth === month ? spend : { customer: undefined, period: dayMonth, cents: 0, transactions: 0, runningCents: 0, days: [] };
    addTo(dayOwner.days, day.slice(8), cents, count);
    const after = (await updateMonth(tx, customerId, spend)).total_cents;
    if (dayOwner !== spend) await updateMonth(tx, customerId, dayOwner);
    const before = after - cents;
    const threshold = thresholdOf(await tx.get(TABLES.customers, { pk: customerId }));
    if (threshold === undefined || !(before <= threshold && after > threshold)) return { month, totalCents: after };
    const message = breachMessage({ customerId, eventTimeMs, cents, source }, month, threshold, after);
    await tx.publish(this.topic, message, { idempotencyKey: breachKey(customerId, month, threshold) });
    return { month, totalCents: after, breachedThresholdCents: threshold };
  }

  /**
   * Applies `entries` in `tx` with exactly the effects of `applySpend` on each in order: the same totals and
   * transaction counts, and the same breach notifications (each naming the entry whose spend first took its
   * month past the threshold, published in entry order), but one update per (customer, month), which holds
   * the month's days too, and one threshold read per customer. Items are written once per batch, so their
   * `version` grows by one per batch instead of per entry. Returns how many entries crossed a threshold.
   */
  async applySpendBatch(tx: StoreTx, entries: readonly SpendEntry[]): Promise<number> {
    // Grouped by customer id (no key strings built per entry); a customer's few months and days are scanned.
    const customers = new Map<string, CustomerSpend>();
    const monthOf: MonthSpend[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const { customerId, eventTimeMs, cents, source } = entries[i]!;
      let day: string | undefined;
      let month: string;
      if (source.kind === 'window' && (source.month !== undefined || source.day !== undefined)) {
        month = source.month ?? source.day!.slice(0, 7);
        day = source.day;
      } else {
        day = this.calendar.day(eventTimeMs);
        month = day.slice(0, 7);
      }
      day ??= this.calendar.day(eventTimeMs);
      const transactions = source.kind === 'window' ? source.transactions : 1;
      let customer = customers.get(customerId);
      if (customer === undefined) customers.set(customerId, (customer = { customerId, months: [], thresholdCents: undefined }));
      const m = (monthOf[i] = monthIn(customer, month));
      m.cents += cents;
      m.transactions += transactions;
      // A day outside the month (a window record naming only its month) goes to its own month's item.
      const dayMonth = day.slice(0, 7);
      addTo((dayMonth === month ? m : monthIn(customer, dayMonth)).days, day.slice(8), cents, transactions);
    }
    for (const customer of customers.values()) {
      const { customerId } = customer;
      for (const m of customer.months) {
        // The month's total before this batch; the walk below adds the entries back one by one.
        m.runningCents = (await updateMonth(tx, customerId, m)).total_cents - m.cents;
      }
      customer.thresholdCents = thresholdOf(await tx.get(TABLES.customers, { pk: customerId }));
    }
    // In entry order, as applying them one by one would: each crossing is published when it happens.
    let crossed = 0;
    for (let i = 0; i < entries.length; i++) {
      const m = monthOf[i]!;
      const threshold = m.customer!.thresholdCents;
      const entry = entries[i]!;
      const before = m.runningCents;
      const after = (m.runningCents = before + entry.cents);
      if (threshold === undefined || !(before <= threshold && after > threshold)) continue;
      await tx.publish(this.topic, breachMessage(entry, m.period, threshold, after), { idempotencyKey: breachKey(entry.customerId, m.period, threshold) });
      crossed++;
    }
    return crossed;
  }

  /**
   * Called in the transaction that sets a threshold: if the month of `nowMs` is already past it, the breach
   * is published now. Returns the month's total and whether it is past the threshold.
   */
  async checkThreshold(tx: StoreTx, customerId: string, thresholdCents: number, nowMs: number): Promise<{ month: string; totalCents: number; breached: boolean }> {
    const month = this.calendar.month(nowMs);
    const totalCents = await monthTotalIn(tx, customerId, month);
    if (totalCents <= thresholdCents) return { month, totalCents, breached: false };
    const message: BreachMessage = {
      type: 'threshold_breach',
      customer_id: customerId,
      month,
      threshold_cents: thresholdCents,
      total_cents: totalCents,
      breached_at: new Date(nowMs).toISOString(),
      cause: 'threshold_change',
    };
    await tx.publish(this.topic, message, { idempotencyKey: breachKey(customerId, month, thresholdCents) });
    return { month, totalCents, breached: true };
  }
}

/** One piece of spend for `applySpendBatch`: the arguments of one `applySpend` call. */
export interface SpendEntry {
  readonly customerId: string;
  /** ms since the epoch: the toll's event time, or the window's start. */
  readonly eventTimeMs: number;
  readonly cents: number;
  readonly source: SpendSource;
}

/** A customer's spend in one batch, and its threshold once read. */
interface CustomerSpend {
  readonly customerId: string;
  readonly months: MonthSpend[];
  thresholdCents: number | undefined;
}

/** The sum of one batch's entries for one customer and month, or for one day (`DD`) of it. */
interface PeriodSpend {
  readonly period: string;
  cents: number;
  transactions: number;
}

/** A month's spend in one batch, with the spend of its days (whose entries may count in another month). */
interface MonthSpend extends PeriodSpend {
  /** Undefined for `applySpend`'s single entry. */
  readonly customer: CustomerSpend | undefined;
  readonly days: PeriodSpend[];
  /** The month's total as the entries are walked in order. */
  runningCents: number;
}

/** The customer's month in this batch, created empty the first time. */
function monthIn(customer: CustomerSpend, month: string): MonthSpend {
  const { months } = customer;
  for (let k = 0; k < months.length; k++) if (months[k]!.period === month) return months[k]!;
  const m: MonthSpend = { customer, period: month, cents: 0, transactions: 0, runningCents: 0, days: [] };
  months.push(m);
  return m;
}

function addTo(periods: PeriodSpend[], period: string, cents: number, transactions: number): void {
  for (let k = 0; k < periods.length; k++) {
    const p = periods[k]!;
    if (p.period === period) {
      p.cents += cents;
      p.transactions += transactions;
      return;
    }
  }
  periods.push({ period, cents, transactions });
}

/** Adds a month's spend and its days' to the month item, in one update (one row read, one row written). */
async function updateMonth(tx: StoreTx, customerId: string, m: MonthSpend): Promise<MonthItem> {
  const add: Record<string, number> = { total_cents: m.cents, transactions: m.transactions };
  for (const d of m.days) {
    add[`day_cents.${d.period}`] = d.cents;
    add[`day_transactions.${d.period}`] = d.transactions;
  }
  return (await tx.update(TABLES.monthlyTotals, { pk: customerId, sk: m.period }, { add })).value as unknown as MonthItem;
}

function breachMessage(entry: SpendEntry, month: string, thresholdCents: number, totalCents: number): BreachMessage {
  const { source } = entry;
  return {
    type: 'threshold_breach',
    customer_id: entry.customerId,
    month,
    threshold_cents: thresholdCents,
    total_cents: totalCents,
    breached_at: new Date(entry.eventTimeMs).toISOString(),
    cause: source.kind,
    ...(source.kind === 'transaction' ? { transaction_id: source.transactionId } : { window: { start: source.windowStart, end: source.windowEnd } }),
  };
}

export async function thresholdIn(tx: Pick<StoreOps, 'get'>, customerId: string): Promise<number | undefined> {
  return thresholdOf(await tx.get(TABLES.customers, { pk: customerId }));
}

/** The threshold of a customer item (undefined without a customer or a threshold). */
function thresholdOf(customer: Item | undefined): number | undefined {
  return (customer?.value as unknown as CustomerItem | undefined)?.threshold_cents;
}

export async function monthTotalIn(tx: Pick<StoreOps, 'get'>, customerId: string, month: string): Promise<number> {
  return ((await tx.get(TABLES.monthlyTotals, { pk: customerId, sk: month }))?.value as unknown as TotalItem | undefined)?.total_cents ?? 0;
}

/**
 * The core both spend paths share: add spend to a customer's month and day, and publish a breach
 * notification when the month's total crosses the customer's threshold. It writes only through the
 * transaction it is given, so whoever calls it decides what commits together (a function batch with its
 * checkpoint, a threshold change).
 */
import type { TableTx } from '../../tables/index.ts';
import { createCalendar, type Calendar } from './calendar.ts';
import { TABLES, type CustomerItem, type TotalItem } from './tables.ts';

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
  applySpend(tx: TableTx, customerId: string, eventTimeMs: number, cents: number, source: SpendSource): ApplyResult {
    const month = source.kind === 'window' ? (source.month ?? source.day?.slice(0, 7) ?? this.calendar.month(eventTimeMs)) : this.calendar.month(eventTimeMs);
    const count = source.kind === 'window' ? source.transactions : 1;
    const add = { total_cents: cents, transactions: count };
    const after = (tx.update(TABLES.monthlyTotals, { pk: customerId, sk: month }, { add }).value as unknown as TotalItem).total_cents;
    const day = source.kind === 'window' && source.day !== undefined ? source.day : this.calendar.day(eventTimeMs);
    tx.update(TABLES.dailyTotals, { pk: customerId, sk: day }, { add });
    const before = after - cents;
    const threshold = thresholdIn(tx, customerId);
    if (threshold === undefined || !(before <= threshold && after > threshold)) return { month, totalCents: after };
    const message = breachMessage({ customerId, eventTimeMs, cents, source }, month, threshold, after);
    tx.publish(this.topic, message, { idempotencyKey: breachKey(customerId, month, threshold) });
    return { month, totalCents: after, breachedThresholdCents: threshold };
  }

  /**
   * Applies `entries` in `tx` with exactly the effects of `applySpend` on each in order: the same totals and
   * transaction counts, and the same breach notifications (each naming the entry whose spend first took its
   * month past the threshold, published in entry order), but one update per (customer, month) and per
   * (customer, day), and one threshold read per customer. Items are written once per batch, so their
   * `version` grows by one per batch instead of per entry. Returns how many entries crossed a threshold.
   */
  applySpendBatch(tx: TableTx, entries: readonly SpendEntry[]): number {
    // Groups keep their first entry's position (Map order), and list their entries in order.
    const months = new Map<string, Group>();
    const days = new Map<string, Group>();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const { customerId, eventTimeMs, source } = entry;
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
      const count = source.kind === 'window' ? source.transactions : 1;
      addTo(months, customerId, month, entry, i, count);
      addTo(days, customerId, day, entry, i, count);
    }
    for (const group of days.values()) {
      tx.update(TABLES.dailyTotals, { pk: group.customerId, sk: group.period }, { add: { total_cents: group.cents, transactions: group.transactions } });
    }
    const thresholds = new Map<string, number | undefined>();
    const breaches: { index: number; message: BreachMessage; key: string }[] = [];
    for (const group of months.values()) {
      const { customerId, period: month } = group;
      const add = { total_cents: group.cents, transactions: group.transactions };
      const total = (tx.update(TABLES.monthlyTotals, { pk: customerId, sk: month }, { add }).value as unknown as TotalItem).total_cents;
      let threshold = thresholds.get(customerId);
      if (threshold === undefined && !thresholds.has(customerId)) thresholds.set(customerId, (threshold = thresholdIn(tx, customerId)));
      if (threshold === undefined) continue;
      // The month's total before and after each entry, as applying them one by one would see it.
      let after = total - group.cents;
      for (let k = 0; k < group.entries.length; k++) {
        const entry = group.entries[k]!;
        const before = after;
        after += entry.cents;
        if (before <= threshold && after > threshold) {
          breaches.push({ index: group.indexes[k]!, message: breachMessage(entry, month, threshold, after), key: breachKey(customerId, month, threshold) });
        }
      }
    }
    if (breaches.length > 1) breaches.sort((a, b) => a.index - b.index);
    for (const breach of breaches) tx.publish(this.topic, breach.message, { idempotencyKey: breach.key });
    return breaches.length;
  }

  /**
   * Called in the transaction that sets a threshold: if the month of `nowMs` is already past it, the breach
   * is published now. Returns the month's total and whether it is past the threshold.
   */
  checkThreshold(tx: TableTx, customerId: string, thresholdCents: number, nowMs: number): { month: string; totalCents: number; breached: boolean } {
    const month = this.calendar.month(nowMs);
    const totalCents = monthTotalIn(tx, customerId, month);
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
    tx.publish(this.topic, message, { idempotencyKey: breachKey(customerId, month, thresholdCents) });
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

/** The entries of one batch that add to one (customer, month) or (customer, day). */
interface Group {
  readonly customerId: string;
  readonly period: string;
  cents: number;
  transactions: number;
  readonly entries: SpendEntry[];
  /** Positions of `entries` in the batch. */
  readonly indexes: number[];
}

function addTo(groups: Map<string, Group>, customerId: string, period: string, entry: SpendEntry, index: number, transactions: number): void {
  // Months and days never hold a space, so the first space ends the period and the key is unambiguous.
  const key = `${period} ${customerId}`;
  const group = groups.get(key);
  if (group === undefined) {
    groups.set(key, { customerId, period, cents: entry.cents, transactions, entries: [entry], indexes: [index] });
    return;
  }
  group.cents += entry.cents;
  group.transactions += transactions;
  group.entries.push(entry);
  group.indexes.push(index);
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

export function thresholdIn(tx: Pick<TableTx, 'get'>, customerId: string): number | undefined {
  const customer = tx.get(TABLES.customers, { pk: customerId })?.value as unknown as CustomerItem | undefined;
  return customer?.threshold_cents;
}

export function monthTotalIn(tx: Pick<TableTx, 'get'>, customerId: string, month: string): number {
  return (tx.get(TABLES.monthlyTotals, { pk: customerId, sk: month })?.value as unknown as TotalItem | undefined)?.total_cents ?? 0;
}

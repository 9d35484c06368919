/**
 * What the system should conclude from the traffic the simulator sent: monthly spend per customer with
 * retried transactions counted once, in the month of each transaction's event time, and the threshold
 * breaches that follow. Tests compare the running system with this.
 */
import type { TollTransaction } from './toll-transactions.ts';

export interface Breach {
  readonly customerId: string;
  /** `YYYY-MM` in the oracle's time zone. */
  readonly month: string;
  readonly thresholdCents: number;
  /** The transaction that took the month's total past the threshold, in the order records were sent. */
  readonly transactionId: string;
  readonly totalCents: number;
}

export class SpendOracle {
  private readonly seen = new Set<string>();
  /** customer -> month -> total cents */
  private readonly totals = new Map<string, Map<string, number>>();
  private readonly breaches: Breach[] = [];
  private readonly monthOf: (ms: number) => string;

  /**
   * @param thresholds monthly threshold per customer, in cents
   * @param timeZone the IANA zone in which a month starts. @default 'UTC'
   */
  constructor(
    private readonly thresholds: ReadonlyMap<string, number> = new Map(),
    timeZone = 'UTC',
  ) {
    this.monthOf = monthKeyFn(timeZone);
  }

  /** Accounts one sent record (duplicates by transaction_id are ignored). */
  add(tx: TollTransaction): void {
    if (this.seen.has(tx.transaction_id)) return;
    this.seen.add(tx.transaction_id);
    const month = this.monthOf(Date.parse(tx.event_time));
    let months = this.totals.get(tx.customer_id);
    if (!months) this.totals.set(tx.customer_id, (months = new Map()));
    const before = months.get(month) ?? 0;
    const after = before + tx.amount_cents;
    months.set(month, after);
    const threshold = this.thresholds.get(tx.customer_id);
    if (threshold !== undefined && before <= threshold && after > threshold) {
      this.breaches.push({ customerId: tx.customer_id, month, thresholdCents: threshold, transactionId: tx.transaction_id, totalCents: after });
    }
  }

  total(customerId: string, month: string): number {
    return this.totals.get(customerId)?.get(month) ?? 0;
  }

  /** Every (customer, month, total) with a non-zero total. */
  *entries(): Generator<{ customerId: string; month: string; totalCents: number }> {
    for (const [customerId, months] of this.totals) for (const [month, totalCents] of months) yield { customerId, month, totalCents };
  }

  get uniqueTransactions(): number {
    return this.seen.size;
  }

  get breachList(): readonly Breach[] {
    return this.breaches;
  }
}

/** Returns a function from epoch ms to `YYYY-MM` in `timeZone`, cached per 15-minute bucket. */
export function monthKeyFn(timeZone: string): (ms: number) => string {
  if (timeZone === 'UTC') return (ms) => new Date(ms).toISOString().slice(0, 7);
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' });
  const cache = new Map<number, string>();
  return (ms) => {
    // Zone offsets are whole quarter hours, so every instant of a 15-minute bucket is in the same month.
    const bucket = Math.floor(ms / 900_000);
    let key = cache.get(bucket);
    if (key === undefined) {
      const parts = format.formatToParts(new Date(ms));
      key = `${parts.find((p) => p.type === 'year')!.value}-${parts.find((p) => p.type === 'month')!.value}`;
      if (cache.size > 10_000) cache.clear();
      cache.set(bucket, key);
    }
    return key;
  };
}

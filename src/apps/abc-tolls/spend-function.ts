/**
 * The handlers of the spend mappings. Both paths check each record, send the ones they cannot apply to an
 * error stream (never dropping one silently), and apply the rest through `SpendLedger.applySpend` inside the
 * batch's `ctx.transact`, so totals, breach notifications, counters and the checkpoint commit together and
 * a redelivered batch has no second effect.
 *
 * - `transactionsHandler`: records of `toll_transactions`, one toll each (the path used until streaming SQL
 *   runs on the live log).
 * - `windowsHandler`: records of `customer_spend`, per-customer window totals written by the SQL job.
 */
import type { FunctionHandler, FunctionRecord } from '../../functions/index.ts';
import { appendAll, type StreamLog } from '../../log/index.ts';
import type { StoreTx } from '../../tables/index.ts';
import { isDayKey, isMonthKey } from './calendar.ts';
import type { SpendEntry, SpendLedger } from './ledger.ts';
import { parseIsoTimestamp } from '../../core/iso-time.ts';
import { isCustomerId, MAX_CUSTOMER_ID_LENGTH, validateTransaction } from './schema.ts';
import { TABLES } from './tables.ts';

/** Counters since start, for metrics; the persistent counts are in the `spend_alert_counters` table. */
export interface SpendPathStats {
  readonly stream: string;
  recordsApplied: number;
  recordsInvalid: number;
  /** Left to the other path by `cutoverAt`. */
  recordsOutsideCutover: number;
  breachesPublished: number;
}

export interface SpendHandlerOptions {
  readonly ledger: SpendLedger;
  readonly log: StreamLog;
  /** Receives `{ reason, record, stream, shardId, sequenceNumber }` for each record that cannot be applied. */
  readonly errorStream: string;
  /**
   * ms since the epoch. The transactions path applies events before it, the windows path windows starting at
   * or after it, so both can run during a switch without counting anything twice.
   */
  readonly cutoverAt?: number;
  /** Only this currency is summed; other records are invalid. Undefined accepts any (single-currency deployments). */
  readonly currency?: string;
  /**
   * Larger amounts (of one toll or one window) are invalid: a garbage amount near 2^53 would push a month's
   * total past what integers hold exactly, and that batch would then fail forever. Undefined for no limit.
   */
  readonly maxAmountCents?: number;
  readonly stats: SpendPathStats;
}

/** The per-customer window total the SQL job writes to `customer_spend`. */
export interface WindowSpend {
  readonly customer_id: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly total_cents: number;
  readonly transactions: number;
  readonly month?: string;
  /** `YYYY-MM-DD` of the transactions' event time in the deployment's zone; wins over the day of `window_start`. */
  readonly day?: string;
}

/** Longest record text copied into an error record, so the error record stays within the log's 1 MiB. */
const MAX_ERROR_TEXT = 256 * 1024;
const encoder = new TextEncoder();

/** A record that cannot be applied, and why: it goes to the error stream. */
export interface Rejected {
  readonly record: FunctionRecord;
  readonly text: string;
  readonly reason: string;
}

/** A toll that passed `checkToll`. */
export interface ValidTransaction {
  readonly record: FunctionRecord;
  readonly customerId: string;
  readonly transactionId: string;
  readonly eventTimeMs: number;
  readonly cents: number;
}

/**
 * One record of the transactions stream: a toll that may be summed, or the reason it may not (not JSON, not
 * the schema, another currency, an amount above the limit).
 */
export function checkToll(record: FunctionRecord, options: { readonly currency?: string; readonly maxAmountCents?: number }): ValidTransaction | Rejected {
  const { currency, maxAmountCents } = options;
  const text = record.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { record, text, reason: 'the record is not JSON' };
  }
  const checked = validateTransaction(value);
  if (!checked.ok) return { record, text, reason: checked.reason };
  if (currency !== undefined && checked.tx.currency !== currency) {
    return { record, text, reason: `currency ${checked.tx.currency} is not the account currency ${currency}` };
  }
  if (maxAmountCents !== undefined && checked.tx.amount_cents > maxAmountCents) {
    return { record, text, reason: `amount_cents ${checked.tx.amount_cents} is above the limit of ${maxAmountCents} for one toll` };
  }
  return { record, customerId: checked.tx.customer_id, transactionId: checked.tx.transaction_id, eventTimeMs: checked.eventTimeMs, cents: checked.tx.amount_cents };
}

export function transactionsHandler(options: SpendHandlerOptions): FunctionHandler {
  const { ledger, cutoverAt, stats } = options;
  return async (event, ctx) => {
    const valid: ValidTransaction[] = [];
    const rejected: Rejected[] = [];
    let outside = 0;
    for (const record of event.records) {
      const checked = checkToll(record, options);
      if ('reason' in checked) {
        rejected.push(checked);
        continue;
      }
      if (cutoverAt !== undefined && checked.eventTimeMs >= cutoverAt) {
        outside++;
        continue;
      }
      valid.push(checked);
    }
    if (rejected.length > 0) await sendToErrorStream(options, rejected);
    const entries: SpendEntry[] = valid.map((v) => ({
      customerId: v.customerId,
      eventTimeMs: v.eventTimeMs,
      cents: v.cents,
      source: { kind: 'transaction', transactionId: v.transactionId },
    }));
    const breaches = await ctx.transact(async (tx) => {
      const crossed = await ledger.applySpendBatch(tx, entries);
      await countUnapplied(tx, event.stream, rejected.length, outside);
      return crossed;
    });
    stats.recordsApplied += valid.length;
    stats.recordsInvalid += rejected.length;
    stats.recordsOutsideCutover += outside;
    stats.breachesPublished += breaches;
  };
}

export function windowsHandler(options: SpendHandlerOptions): FunctionHandler {
  const { ledger, cutoverAt, maxAmountCents, stats } = options;
  // The records of a batch share a few windows: their bounds are parsed once per run of equal text.
  const bounds = new WindowBounds();
  return async (event, ctx) => {
    const valid: SpendEntry[] = [];
    const rejected: Rejected[] = [];
    let outside = 0;
    for (const record of event.records) {
      const text = record.text();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        rejected.push({ record, text, reason: 'the record is not JSON' });
        continue;
      }
      const checked = validateWindow(value, bounds);
      if (typeof checked === 'string') {
        rejected.push({ record, text, reason: checked });
        continue;
      }
      if (maxAmountCents !== undefined && checked.spend.total_cents > maxAmountCents) {
        rejected.push({ record, text, reason: `total_cents ${checked.spend.total_cents} is above the limit of ${maxAmountCents} for one window` });
        continue;
      }
      if (cutoverAt !== undefined && checked.startMs < cutoverAt) {
        outside++;
        continue;
      }
      const { spend, startMs } = checked;
      valid.push({
        customerId: spend.customer_id,
        eventTimeMs: startMs,
        cents: spend.total_cents,
        source: { kind: 'window', windowStart: spend.window_start, windowEnd: spend.window_end, transactions: spend.transactions, month: spend.month, day: spend.day },
      });
    }
    if (rejected.length > 0) await sendToErrorStream(options, rejected);
    const breaches = await ctx.transact(async (tx) => {
      const crossed = await ledger.applySpendBatch(tx, valid);
      await countUnapplied(tx, event.stream, rejected.length, outside);
      return crossed;
    });
    stats.recordsApplied += valid.length;
    stats.recordsInvalid += rejected.length;
    stats.recordsOutsideCutover += outside;
    stats.breachesPublished += breaches;
  };
}

/** The last window bounds read, with their instants: consecutive window records mostly repeat them. */
export class WindowBounds {
  #startText = '';
  #startMs: number | undefined;
  #endText = '';
  #endMs: number | undefined;

  start(text: string): number | undefined {
    if (text !== this.#startText) {
      this.#startMs = parseIsoTimestamp(text);
      this.#startText = text;
    }
    return this.#startMs;
  }

  end(text: string): number | undefined {
    if (text !== this.#endText) {
      this.#endMs = parseIsoTimestamp(text);
      this.#endText = text;
    }
    return this.#endMs;
  }
}

/** The window record, or the reason it is not one. `bounds` remembers the last window read, for a run of records. */
export function validateWindow(value: unknown, bounds: WindowBounds = new WindowBounds()): { spend: WindowSpend; startMs: number } | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the record is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.customer_id !== 'string' || !isCustomerId(v.customer_id)) return `customer_id must be 1 to ${MAX_CUSTOMER_ID_LENGTH} visible ASCII characters`;
  const startMs = typeof v.window_start === 'string' ? bounds.start(v.window_start) : undefined;
  if (startMs === undefined) return 'window_start must be an ISO 8601 date and time with a zone';
  const endMs = typeof v.window_end === 'string' ? bounds.end(v.window_end) : undefined;
  if (endMs === undefined || endMs <= startMs) return 'window_end must be an ISO 8601 date and time with a zone, after window_start';
  if (typeof v.total_cents !== 'number' || !Number.isSafeInteger(v.total_cents) || v.total_cents < 0) {
    return 'total_cents must be a whole number of cents, 0 or more (money is never a fraction)';
  }
  if (typeof v.transactions !== 'number' || !Number.isSafeInteger(v.transactions) || v.transactions < 0) return 'transactions must be an integer, 0 or more';
  if (v.month !== undefined && !isMonthKey(v.month)) return 'month, when given, must be YYYY-MM';
  if (v.day !== undefined) {
    if (!isDayKey(v.day)) return 'day, when given, must be a date YYYY-MM-DD';
    if (v.month !== undefined && !v.day.startsWith(`${v.month as string}-`)) return `day ${v.day} is not in month ${v.month as string}`;
  }
  return { spend: value as WindowSpend, startMs };
}

/**
 * Appends the rejected records to the error stream before the batch's transaction. A crash in between
 * appends them again on redelivery with the same idempotency keys, which the stream's key dedupe drops.
 */
export async function sendToErrorStream(options: { readonly log: StreamLog; readonly errorStream: string }, rejected: readonly Rejected[]): Promise<void> {
  const records = rejected.map(({ record, text, reason }) => {
    const truncated = text.length > MAX_ERROR_TEXT;
    const body = {
      reason,
      record: truncated ? text.slice(0, MAX_ERROR_TEXT) : text,
      ...(truncated ? { truncated: true } : {}),
      stream: record.stream,
      shardId: record.shardId,
      sequenceNumber: record.sequenceNumber,
    };
    return {
      data: encoder.encode(JSON.stringify(body)),
      partitionKey: record.shardId,
      idempotencyKey: `${record.stream}/${record.shardId}/${record.sequenceNumber}`,
    };
  });
  // A failure retries the batch: a record may not be skipped before its error record is stored.
  await appendAll(options.log, options.errorStream, records, 'store invalid records');
}

export async function countUnapplied(tx: StoreTx, stream: string, invalid: number, outside: number): Promise<void> {
  if (invalid === 0 && outside === 0) return;
  await tx.update(TABLES.counters, { pk: stream }, { add: { invalid_records: invalid, outside_cutover: outside } });
}

/**
 * The first step of the SQL path: the mapping handler that checks each toll of `toll_transactions` and passes
 * the valid ones on to `toll_transactions_valid`, which the customer spend query reads. Invalid records go to
 * the error stream with the reason and are counted, as on the direct path.
 *
 * Appending to a log stream is outside the tables transaction, so the order is: append the valid records
 * (idempotency key = transaction_id, on a stream with key dedupe), append the error records (keyed by their
 * position), then commit the counters with the checkpoint. A crash in between hands the batch over again;
 * both appends are then dropped as repeats, and the counters commit once.
 */
import type { FunctionHandler } from '../../functions/index.ts';
import { appendAll, type AppendRecord, type StreamLog } from '../../log/index.ts';
import { checkToll, countUnapplied, sendToErrorStream, type Rejected, type SpendPathStats, type ValidTransaction } from './spend-function.ts';

export interface ValidationHandlerOptions {
  readonly log: StreamLog;
  /** Valid tolls are appended here, unchanged. Create it with `dedupe: { mode: 'key' }`. */
  readonly validStream: string;
  /** Receives `{ reason, record, stream, shardId, sequenceNumber }` for each invalid record. */
  readonly errorStream: string;
  /** Only this currency is valid. Undefined accepts any. */
  readonly currency?: string;
  /** Larger amounts of one toll are invalid. Undefined for no limit. */
  readonly maxAmountCents?: number;
  /** `recordsApplied` counts the tolls passed on. */
  readonly stats: SpendPathStats;
  /** Called after valid records were appended (the window closer learns that a window has data). */
  readonly onPassed?: () => void;
}

export function validationHandler(options: ValidationHandlerOptions): FunctionHandler {
  const { log, validStream, stats } = options;
  return async (event, ctx) => {
    const valid: ValidTransaction[] = [];
    const rejected: Rejected[] = [];
    for (const record of event.records) {
      const checked = checkToll(record, options);
      if ('reason' in checked) rejected.push(checked);
      else valid.push(checked);
    }
    if (valid.length > 0) {
      const records: AppendRecord[] = valid.map((v) => ({ data: v.record.data, partitionKey: v.customerId, idempotencyKey: v.transactionId }));
      await appendAll(log, validStream, records, 'pass valid tolls on');
      options.onPassed?.();
    }
    if (rejected.length > 0) await sendToErrorStream(options, rejected);
    await ctx.transact((tx) => countUnapplied(tx, event.stream, rejected.length, 0));
    stats.recordsApplied += valid.length;
    stats.recordsInvalid += rejected.length;
  };
}

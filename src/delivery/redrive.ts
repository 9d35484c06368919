/**
 * Sending a failed record of `_delivery_errors` again, once its cause is fixed (a widened column, a fixed
 * transform): its raw bytes go through the same transform and format conversion as delivery, and the warehouse
 * loads the row and takes the record off the list in one transaction (`Warehouse.redriveDeliveryError`).
 *
 * The unit is one record of the log: a KPL aggregate's failed user records share its shard and sequence number
 * and are sent again together, as delivery never splits an aggregate either.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { DeliveryErrorKey, DeliveryErrorRow, Row, StoredDeliveryError, Warehouse } from '../warehouse/index.ts';
import { failed, prepareRecords, type BufferedRecord, type TransformPolicy } from './convert.ts';
import type { TransformFunction } from './types.ts';

/** The most rows one record can have in the error table: a KPL aggregate's user records. */
const MAX_ROWS_PER_RECORD = 100_000;

export interface DeliveryRedriveOptions {
  /** The transform the record's delivery runs, if any. @default none */
  readonly transform?: TransformFunction;
  readonly transformPolicy?: TransformPolicy;
}

export interface DeliveryRedriveResult {
  readonly key: DeliveryErrorKey;
  /** Rows loaded into the table. */
  readonly loaded: number;
  /** Records the transform answered `Dropped`: taken off the list, nothing loaded. */
  readonly dropped: number;
  /** Records that failed again: listed anew with these errors. */
  readonly failedAgain: ReadonlyArray<Pick<DeliveryErrorRow, 'errorType' | 'errorCode' | 'errorMessage'>>;
}

/**
 * Sends the failed record `key` again. Throws NOT_FOUND when the error table has no such record,
 * CONDITION_FAILED when it was sent again before (or by a concurrent redrive), and WAREHOUSE_UNAVAILABLE
 * (retriable) when the warehouse cannot be written; a record that fails again is no error, it is listed anew.
 */
export async function redriveDeliveryError(warehouse: Warehouse, key: DeliveryErrorKey, options: DeliveryRedriveOptions = {}): Promise<DeliveryRedriveResult> {
  const context = { ...key };
  const stored = await warehouse.deliveryErrors({ key, limit: MAX_ROWS_PER_RECORD });
  if (stored.length === 0) {
    throw new TollstreamError('NOT_FOUND', `no failed record ${key.shardId}/${key.sequenceNumber} of '${key.stream}' into '${key.table}' is in the error table`, { context });
  }
  const listed = stored.filter((e) => e.redrivenAt === null);
  if (listed.length === 0) {
    const at = new Date(Math.max(...stored.map((e) => e.redrivenAt ?? 0))).toISOString();
    throw new TollstreamError('CONDITION_FAILED', `the failed record ${key.shardId}/${key.sequenceNumber} of '${key.stream}' into '${key.table}' was sent again before (at ${at})`, {
      context: { ...context, redrivenAt: at },
    });
  }
  const schema = warehouse.tableSchema(key.table);
  if (!schema) throw new TollstreamError('NOT_FOUND', `the warehouse has no table '${key.table}' to load the record into`, { context });
  const records = listed.map((e, i) => buffered(e, listed.length > 1 ? i : undefined));
  const prepared = await prepareRecords(records, schema, options.transform, options.transformPolicy);
  const rows: Row[] = [];
  const errors: DeliveryErrorRow[] = [];
  let dropped = 0;
  for (const { outcome } of prepared) {
    if (outcome.kind === 'row') rows.push(outcome.row);
    else if (outcome.kind === 'error') errors.push(outcome.error);
    else dropped++;
  }
  try {
    await warehouse.redriveDeliveryError({ key, listed: listed.length, rows, errors });
    return { key, loaded: rows.length, dropped, failedAgain: errors.map(describe) };
  } catch (err) {
    if (!isTollstreamError(err, 'WAREHOUSE_REJECTED')) throw err;
    // The table refused a row: the whole record is listed anew with that refusal, as delivery lists a refused row.
    const refused = records.map((r) => failed(r, 'destination-failed', err.code, err.message).error);
    await warehouse.redriveDeliveryError({ key, listed: listed.length, rows: [], errors: refused });
    return { key, loaded: 0, dropped: 0, failedAgain: refused.map(describe) };
  }
}

/** The reason within the message `prepareRecords` gives an unreadable aggregate. */
const MALFORMED_REASON = /^the KPL aggregated record is malformed: (.*); none of its user records were delivered$/s;

/** A listed error row as the record delivery read from the log. */
function buffered(e: StoredDeliveryError, subSequenceNumber: number | undefined): BufferedRecord {
  return {
    shardId: e.shardId,
    record: { sequenceNumber: e.sequenceNumber, ...(subSequenceNumber === undefined ? {} : { subSequenceNumber }), partitionKey: '', data: e.rawData, arrivalTime: e.arrivalTime },
    // An aggregate that could not be read is kept whole; reading it again gives the same answer.
    ...(e.errorCode === 'kpl-aggregate-malformed' ? { malformed: MALFORMED_REASON.exec(e.errorMessage)?.[1] ?? e.errorMessage } : {}),
  };
}

function describe(e: DeliveryErrorRow): DeliveryRedriveResult['failedAgain'][number] {
  return { errorType: e.errorType, errorCode: e.errorCode, errorMessage: e.errorMessage };
}

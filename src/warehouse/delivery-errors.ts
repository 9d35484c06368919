/**
 * Reading and sending again the rows of `_delivery_errors`: the SQL both backends share (each binds its own
 * placeholders and reads timestamps as epoch milliseconds its own way).
 */
import { TollstreamError } from '../core/errors.ts';
import type { DeliveryErrorQuery, DeliveryErrorRedrive, DeliveryErrorType, StoredDeliveryError } from './types.ts';

/** The text columns of a listed row, in the order `storedDeliveryError` reads them (the three timestamps follow). */
export const DELIVERY_ERROR_COLUMNS = 'stream, table_name, shard_id, sequence_number, error_type, error_code, error_message, raw_data_base64';

const DEFAULT_LIMIT = 100;

/** The WHERE clause of a query: one record's rows (listed or not), or every listed row. */
export function deliveryErrorFilter(query: DeliveryErrorQuery, placeholder: (name: string) => string): { sql: string; params: Record<string, string>; limit: number } {
  const limit = query.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new TollstreamError('INVALID_ARGUMENT', `limit must be a positive integer (got ${limit})`, { context: { limit } });
  if (!query.key) return { sql: 'redriven_at IS NULL', params: {}, limit };
  const { stream, table, shardId, sequenceNumber } = query.key;
  return {
    sql: `stream = ${placeholder('stream')} AND table_name = ${placeholder('table')} AND shard_id = ${placeholder('shard')} AND sequence_number = ${placeholder('seq')}`,
    params: { stream, table, shard: shardId, seq: sequenceNumber },
    limit,
  };
}

/** A row read with `DELIVERY_ERROR_COLUMNS` and the three timestamps as epoch milliseconds. */
export function storedDeliveryError(row: readonly unknown[]): StoredDeliveryError {
  const ms = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    stream: String(row[0]),
    table: String(row[1]),
    shardId: String(row[2]),
    sequenceNumber: String(row[3]),
    errorType: String(row[4]) as DeliveryErrorType,
    errorCode: String(row[5]),
    errorMessage: String(row[6]),
    rawData: new Uint8Array(Buffer.from(String(row[7]), 'base64')),
    arrivalTime: ms(row[8]) ?? 0,
    failedAt: ms(row[9]) ?? 0,
    redrivenAt: ms(row[10]),
  };
}

/** Another redrive of the record committed between the caller's read and this transaction. */
export function redriveConflict(redrive: DeliveryErrorRedrive, found: number): TollstreamError {
  const { stream, table, shardId, sequenceNumber } = redrive.key;
  return new TollstreamError('CONDITION_FAILED', `the failed record ${shardId}/${sequenceNumber} of '${stream}' into '${table}' was sent again meanwhile (${found} of its ${redrive.listed} rows still listed); nothing was loaded`, {
    context: { stream, table, shardId, sequenceNumber, listed: redrive.listed, found },
  });
}

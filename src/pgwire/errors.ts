/**
 * Errors as PostgreSQL clients know them: each Tollstream code has one SQLSTATE, in this one place (as
 * src/gateway/errors.ts does for HTTP). A client retries on a class it knows (53 resources, 57 operator
 * intervention), shows the message, and the Tollstream code travels as the detail.
 */
import { isTollstreamError, toTollstreamError, type ErrorCode } from '../core/errors.ts';

const SQLSTATE: Partial<Record<ErrorCode, string>> = {
  WAREHOUSE_READ_ONLY: '25006', // read_only_sql_transaction
  WAREHOUSE_RESULT_TOO_LARGE: '54000', // program_limit_exceeded
  WAREHOUSE_QUERY_TIMEOUT: '57014', // query_canceled
  WAREHOUSE_OUT_OF_MEMORY: '53200', // out_of_memory
  WAREHOUSE_TOO_MANY_QUERIES: '53300', // too_many_connections
  WAREHOUSE_UNAVAILABLE: '58000', // system_error
  WAREHOUSE_CORRUPT: 'XX001', // data_corrupted
  INVALID_ARGUMENT: '42000', // syntax_error_or_access_rule_violation
  NOT_FOUND: '42704', // undefined_object
  UNAUTHORIZED: '28P01', // invalid_password
  MALFORMED_REQUEST: '08P01', // protocol_violation
  LIMIT_EXCEEDED: '53300',
};

export interface PgError {
  readonly code: string;
  readonly message: string;
  readonly detail: string;
}

export function pgError(err: unknown): PgError {
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: '57014', message: 'canceling statement due to user request', detail: 'cancelled' };
  }
  const e = isTollstreamError(err) ? err : toTollstreamError(err);
  return { code: SQLSTATE[e.code] ?? 'XX000', message: e.message, detail: e.code };
}

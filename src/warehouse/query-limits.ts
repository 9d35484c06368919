/**
 * The limits every warehouse query runs under, the same for both backends: a deadline that interrupts the
 * query (streaming included), cancellation when the caller goes away, and a cap on the rows a buffered answer
 * may hold. The backends only say how to interrupt their own query.
 */
import { TollstreamError } from '../core/errors.ts';
import type { QueryColumn, QueryOptions, QueryResult, QuerySink, QueryValue } from './types.ts';

/** The defaults of `warehouse.maxResultRows` and `warehouse.queryTimeoutMs` (src/config/schema.ts uses these). */
export const DEFAULT_MAX_RESULT_ROWS = 100_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000;

export interface QueryWatch {
  /** Throws the reason the query was stopped (timeout, or the caller's abort), if it was. */
  check(): void;
  /** The error to raise instead of `err` when the query was stopped: the backend's own error says only "interrupted". */
  explain(err: unknown): unknown;
  stop(): void;
}

/**
 * Calls `interrupt` when `timeoutMs` passes or `signal` aborts. A backend must call `check()` after every
 * fetch: an interrupted DuckDB stream can end as if it were complete, and only this watch knows it was cut.
 */
export function watchQuery(timeoutMs: number, signal: AbortSignal | undefined, interrupt: () => void): QueryWatch {
  let stopped: unknown;
  const fire = (reason: unknown) => {
    if (stopped !== undefined) return;
    stopped = reason;
    try {
      interrupt();
    } catch {
      // The query already ended: nothing left to interrupt.
    }
  };
  const timer = setTimeout(
    () =>
      fire(
        new TollstreamError('WAREHOUSE_QUERY_TIMEOUT', `the query ran longer than ${timeoutMs} ms and was stopped; narrow it (WHERE, LIMIT, fewer columns) or raise warehouse.queryTimeoutMs`, {
          context: { timeoutMs },
        }),
      ),
    timeoutMs,
  );
  timer.unref();
  const onAbort = () => fire(signal!.reason ?? new DOMException('the query was cancelled', 'AbortError'));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    check() {
      if (stopped !== undefined) throw stopped;
    },
    explain(err) {
      return stopped ?? err;
    },
    stop() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export function resultTooLarge(maxRows: number): TollstreamError {
  return new TollstreamError(
    'WAREHOUSE_RESULT_TOO_LARGE',
    `the query returns more than ${maxRows} rows, the most a JSON answer holds; add a LIMIT or aggregate, or ask for format=ndjson or format=csv, which stream any number of rows`,
    { context: { maxRows } },
  );
}

/**
 * `query` on top of a backend's `streamQuery`: collects the rows, and stops the query with
 * `WAREHOUSE_RESULT_TOO_LARGE` as soon as it passes `maxRows`, so a huge result is never held.
 */
export async function collectRows(
  stream: (sink: QuerySink, options: QueryOptions) => Promise<{ rowCount: number }>,
  maxRows: number,
  options: QueryOptions,
): Promise<QueryResult> {
  let columns: readonly QueryColumn[] = [];
  const rows: (readonly QueryValue[])[] = [];
  await stream(
    {
      columns(c) {
        columns = c;
      },
      rows(batch) {
        if (rows.length + batch.length > maxRows) throw resultTooLarge(maxRows);
        for (const row of batch) rows.push(row);
      },
    },
    options,
  );
  return { columns, rows };
}

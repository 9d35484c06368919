import { TollstreamError } from '../core/errors.ts';
import type { AppendRecord, AppendResult, StreamLog } from './types.ts';

/**
 * Appends records that must all be stored (a component passing records on before it commits its checkpoint):
 * a record the log did not take fails the whole call with `IO_ERROR`, saying `cannot <what>`, so the caller's
 * batch is retried; records stored already are dropped as repeats then, by their idempotency keys.
 */
export async function appendAll(log: StreamLog, stream: string, records: readonly AppendRecord[], what: string): Promise<readonly AppendResult[]> {
  const results = await log.append(stream, records);
  for (const r of results) {
    if (!r.ok) {
      throw new TollstreamError('IO_ERROR', `cannot ${what} (stream ${stream}): ${r.errorMessage}`, { context: { stream, errorCode: r.errorCode } });
    }
  }
  return results;
}

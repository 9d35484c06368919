/**
 * Where a new continuous query starts reading its inputs: the one place that knows the setting's values, its
 * default and its check (`/v1/queries` and `tollstream queries create` pass the text on as it is).
 *
 * - `TRIM_HORIZON` (the default): every record the input streams still keep.
 * - `LATEST`: the records that arrive from the moment the query is created on.
 * - a time (ISO 8601 such as `2026-12-07T08:00:00Z`, or ms since the epoch): the records that arrived at or
 *   after it.
 *
 * `LATEST` is kept as the creation time, so a time and `LATEST` are both an arrival time from which every
 * shard is read (`AT_TIMESTAMP`), shards split or merged later included, and a restart before the first
 * checkpoint starts from the same place rather than from a later "latest".
 */
import { TollstreamError } from '../core/errors.ts';

export const DEFAULT_START_POSITION = 'TRIM_HORIZON';

/** The arrival time (ms) from which the query reads, or null for the beginning of its inputs. */
export function resolveStartPosition(value: unknown, now: number): number | null {
  const text = value === undefined ? DEFAULT_START_POSITION : typeof value === 'number' ? String(value) : value;
  if (typeof text === 'string') {
    const upper = text.trim().toUpperCase();
    if (upper === 'TRIM_HORIZON') return null;
    if (upper === 'LATEST') return now;
    const at = /^\d+$/.test(text.trim()) ? Number(text.trim()) : /^\d{4}-\d\d-\d\dT/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
    if (Number.isSafeInteger(at)) return at;
  }
  throw new TollstreamError(
    'INVALID_ARGUMENT',
    `startPosition must be TRIM_HORIZON (every record kept, the default), LATEST (records from now on) or a time (ISO 8601 such as 2026-12-07T08:00:00Z, or ms since the epoch), got ${JSON.stringify(value)}`,
    { context: { field: 'startPosition' } },
  );
}

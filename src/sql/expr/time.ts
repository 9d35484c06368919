/** Reading timestamps from text: SQL's reading of ISO 8601 (see `IsoTimestampOptions.sql`). */
import { parseIsoTimestamp, parseIsoTimestampBytes as isoTimestampBytes, type IsoTimestampOptions } from '../../core/iso-time.ts';

const SQL_TIMESTAMP: IsoTimestampOptions = { sql: true, spaceSeparator: true, compactOffset: true };

/**
 * Timestamps in input and literals: ISO 8601 with or without `T`, with an offset or `Z`; without one the
 * text is UTC. Returns epoch milliseconds, or null when the text is not a timestamp.
 */
export function parseTimestampText(text: string): number | null {
  return parseIsoTimestamp(text, SQL_TIMESTAMP) ?? null;
}

/**
 * `parseTimestampText` of `YYYY-MM-DDTHH:MM:SS(.sss)Z` read from UTF-8 bytes `[start, end)` without making a
 * string; null for any other text, which the caller then reads as text.
 */
export function parseIsoTimestampBytes(b: Uint8Array, start: number, end: number): number | null {
  return isoTimestampBytes(b, start, end, SQL_TIMESTAMP) ?? null;
}

/** Reading timestamps from text: SQL's reading of ISO 8601 (see `IsoTimestampOptions.sql`). */
import { isCalendarDate, parseIsoTimestamp, parseIsoTimestampBytes as isoTimestampBytes, type IsoTimestampOptions } from '../../core/iso-time.ts';

const SQL_TIMESTAMP: IsoTimestampOptions = { sql: true, spaceSeparator: true, compactOffset: true };

/**
 * Timestamps in input and literals: ISO 8601 with or without `T`, with an offset or `Z`; without one the
 * text is UTC. Returns epoch milliseconds, or null when the text is not a timestamp, an impossible date or
 * time included (`2026-02-30`, hour 24): those are refused, never rolled over into another instant.
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

const DATE_TIME_SHAPE = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2}))?)?(?:\.\d+)?\s*(?:[Zz]|[+-](\d{2}):?(\d{2}))?\s*$/;

/**
 * Why text shaped like a date-time (`2026-02-30 10:00:00`) is not one: the part that is out of range, as
 * words for an error message; null when the text is not shaped like a date-time at all (or is a good one).
 */
export function impossibleDateTime(text: string): string | null {
  const m = DATE_TIME_SHAPE.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `month ${m[2]} is not 01 to 12`;
  if (!isCalendarDate(year, month, day)) return `${m[1]}-${m[2]} has no day ${m[3]}`;
  if (m[4] !== undefined && Number(m[4]) > 23) return `hour ${m[4]} is not 00 to 23`;
  if (m[5] !== undefined && Number(m[5]) > 59) return `minute ${m[5]} is not 00 to 59`;
  if (m[6] !== undefined && Number(m[6]) > 59) return `second ${m[6]} is not 00 to 59`;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return `the offset ${m[8]}:${m[9]} is not a time zone offset`;
  return null;
}

/** `'text' is not a timestamp`, with the part out of range when there is one. */
export function notTimestampMessage(text: string): string {
  const why = impossibleDateTime(text);
  return `'${text}' is not a timestamp${why === null ? '' : `: ${why}`}`;
}

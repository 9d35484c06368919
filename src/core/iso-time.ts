/**
 * ISO 8601 date-times read from text (or UTF-8 bytes) into ms since the epoch, written once for every reader:
 * records' event times, warehouse rows and SQL literals and inputs. Read character by character, without a
 * regex or `Date.parse` (together they cost about a third of checking a toll record), and the start of the
 * last day read is kept, since a stream's times fall on few days.
 *
 * By default the text must be `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with a zone (`Z` or `±hh:mm`), fractions of
 * 1 to 9 digits (cut to the ms), and a real instant: Feb 30, hour 24, minute or second 60 are refused.
 * Options widen what is read; see `IsoTimestampOptions`.
 */

export interface IsoTimestampOptions {
  /** A space may stand for the `T` between date and time (CSV files, SQL text). */
  readonly spaceSeparator?: boolean;
  /** An offset may also be written `±hhmm`. */
  readonly compactOffset?: boolean;
  /**
   * SQL's reading of timestamp text: a date alone (its midnight), no zone (UTC), white space around the text
   * and before the zone, lower-case `t` and `z`, any number of fraction digits (rounded to the ms). Parts out
   * of range are refused here too (`2026-02-30`, `2026-13-02`, hour 24): rolled over they would name another
   * instant than the text, silently.
   */
  readonly sql?: boolean;
}

/** The year, the days from the epoch to its Jan 1 read as ms; kept for the last day read. */
let cachedDayKey = -1;
let cachedDayStart = 0;
const MS_PER_400_YEARS = 146_097 * 86_400_000;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** ms since the epoch of `text`, or undefined when it is not a date-time of the form the options allow. */
export function parseIsoTimestamp(text: string, options?: IsoTimestampOptions): number | undefined {
  const sql = options?.sql === true;
  const fast = producerForm(text);
  if (fast !== null) return fast;
  const s = sql && (text.charCodeAt(0) <= 0x20 || text.charCodeAt(text.length - 1) <= 0x20) ? text.trim() : text;
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (year < 0 || month < 0 || day < 0) return undefined;
  let i = 10;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  const sep = s.charCodeAt(10);
  if (sep === 0x54 || (sep === 0x20 && options?.spaceSeparator === true) || (sep === 0x74 && sql)) {
    hour = digits(s, 11, 2);
    minute = digits(s, 14, 2);
    if (s.charCodeAt(13) === 0x3a && hour >= 0 && minute >= 0) {
      i = 16;
      if (s.charCodeAt(i) === 0x3a) {
        second = digits(s, 17, 2);
        if (second < 0) return undefined;
        i = 19;
        if (s.charCodeAt(i) === 0x2e) {
          const from = ++i;
          while (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
          const count = i - from;
          if (count === 0 || (count > 9 && !sql)) return undefined;
          ms = count === 3 ? digits(s, from, 3) : sql ? Math.round(Number(s.slice(from - 1, i)) * 1000) : Math.floor(Number(s.slice(from, i)) / 10 ** (count - 3));
        }
      }
    } else if (!sql) {
      return undefined;
    } else {
      hour = 0;
      minute = 0;
    }
  } else if (!sql) {
    return undefined;
  }
  if (sql) while (i < n && s.charCodeAt(i) <= 0x20) i++;
  let offsetMinutes = 0;
  if (i === n) {
    if (!sql) return undefined;
  } else {
    const z = s.charCodeAt(i);
    if (z === 0x5a || (z === 0x7a && sql)) {
      if (i + 1 !== n) return undefined;
    } else if (z === 0x2b || z === 0x2d) {
      const oh = digits(s, i + 1, 2);
      const colon = s.charCodeAt(i + 3) === 0x3a;
      if (!colon && !(options?.compactOffset === true || sql)) return undefined;
      const om = digits(s, colon ? i + 4 : i + 3, 2);
      if (oh < 0 || om < 0 || (colon ? i + 6 : i + 5) !== n) return undefined;
      if (oh > 23 || om > 59) return undefined;
      offsetMinutes = (z === 0x2d ? -1 : 1) * (oh * 60 + om);
    } else {
      return undefined;
    }
  }
  return instant(year, month, day, hour, minute, second, ms, offsetMinutes);
}

/**
 * `parseIsoTimestamp` of the form every producer of this platform writes, `YYYY-MM-DDTHH:MM:SSZ` or
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, read from UTF-8 bytes `[start, end)` without making a string. Undefined for any
 * other text, which the caller then reads as text; the result is the one the text gives with the same options.
 */
export function parseIsoTimestampBytes(b: Uint8Array, start: number, end: number, options?: IsoTimestampOptions): number | undefined {
  const n = end - start;
  if (n !== 24 && n !== 20) return undefined;
  if (b[start + 4] !== 0x2d || b[start + 7] !== 0x2d || b[start + 10] !== 0x54 || b[start + 13] !== 0x3a || b[start + 16] !== 0x3a || b[end - 1] !== 0x5a) return undefined;
  let ms = 0;
  if (n === 24) {
    if (b[start + 19] !== 0x2e) return undefined;
    ms = byteDigits(b, start + 20, 3);
  }
  const year = byteDigits(b, start, 4);
  const month = byteDigits(b, start + 5, 2);
  const day = byteDigits(b, start + 8, 2);
  const hour = byteDigits(b, start + 11, 2);
  const minute = byteDigits(b, start + 14, 2);
  const second = byteDigits(b, start + 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || ms < 0) return undefined;
  return instant(year, month, day, hour, minute, second, ms, 0);
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ`, the form nearly every record carries, read without
 * the general walk; null for any other text, which the general walk reads.
 */
function producerForm(t: string): number | undefined | null {
  const n = t.length;
  if ((n !== 24 && n !== 20) || t.charCodeAt(n - 1) !== 0x5a || t.charCodeAt(10) !== 0x54 || t.charCodeAt(4) !== 0x2d || t.charCodeAt(7) !== 0x2d) return null;
  if (t.charCodeAt(13) !== 0x3a || t.charCodeAt(16) !== 0x3a || (n === 24 && t.charCodeAt(19) !== 0x2e)) return null;
  const year = digits(t, 0, 4);
  const month = digits(t, 5, 2);
  const day = digits(t, 8, 2);
  const hour = digits(t, 11, 2);
  const minute = digits(t, 14, 2);
  const second = digits(t, 17, 2);
  const ms = n === 24 ? digits(t, 20, 3) : 0;
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || ms < 0) return null;
  return instant(year, month, day, hour, minute, second, ms, 0);
}

/** True for a real date of the proleptic Gregorian calendar (month 1 to 12, Feb 29 only in leap years). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return false;
  return !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

/** The decimal number of `count` ASCII digits at `at` in `text`, or -1 if one of them is not a digit. */
export function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

function byteDigits(b: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = b[i]! - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** The instant of the parts; undefined when one is out of range. */
function instant(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number, offsetMinutes: number): number | undefined {
  if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const dayKey = (year * 100 + month) * 100 + day;
  if (dayKey !== cachedDayKey) {
    // Date.UTC reads years 0 to 99 as 1900 to 1999; 400 years later the calendar is the same.
    cachedDayStart = year < 100 ? Date.UTC(year + 400, month - 1, day) - MS_PER_400_YEARS : Date.UTC(year, month - 1, day);
    cachedDayKey = dayKey;
  }
  return cachedDayStart + ((hour * 60 + minute) * 60 + second) * 1000 + ms - offsetMinutes * 60_000;
}

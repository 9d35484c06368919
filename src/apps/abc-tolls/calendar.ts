/**
 * Month and day keys (`YYYY-MM`, `YYYY-MM-DD`) of an instant in one IANA time zone. Spend is bucketed per
 * record, so keys are cached per 15-minute bucket: zone offsets are whole quarter hours, so every instant
 * of a bucket falls on the same local day.
 */
import { TollstreamError } from '../../core/errors.ts';
import { digits, isCalendarDate } from '../../core/iso-time.ts';

export interface Calendar {
  readonly timeZone: string;
  /** `YYYY-MM` of `ms` in the zone. */
  month(ms: number): string;
  /** `YYYY-MM-DD` of `ms` in the zone. */
  day(ms: number): string;
}

const BUCKET_MS = 900_000;
const CACHE_LIMIT = 10_000;
const MONTH_KEY = /^\d{4}-(0[1-9]|1[0-2])$/;

export function isMonthKey(value: unknown): value is string {
  return typeof value === 'string' && MONTH_KEY.test(value);
}

/**
 * A real calendar date `YYYY-MM-DD` (Feb 30 is not one). Checked digit by digit: it runs for every window
 * record, where a regex, a `Date.parse` and a `toISOString` cost more than the rest of the record's check.
 */
export function isDayKey(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 10 || value.charCodeAt(4) !== 0x2d || value.charCodeAt(7) !== 0x2d) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  return year >= 0 && isCalendarDate(year, month, day);
}

/** Throws CONFIG_INVALID for a zone the runtime does not know. */
export function createCalendar(timeZone = 'UTC'): Calendar {
  if (timeZone === 'UTC') {
    return { timeZone, month: (ms) => new Date(ms).toISOString().slice(0, 7), day: (ms) => new Date(ms).toISOString().slice(0, 10) };
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  } catch (err) {
    throw new TollstreamError('CONFIG_INVALID', `timeZone '${timeZone}' is not an IANA time zone this runtime knows (e.g. 'UTC', 'America/New_York')`, {
      context: { timeZone },
      cause: err,
    });
  }
  const cache = new Map<number, string>();
  const day = (ms: number): string => {
    const bucket = Math.floor(ms / BUCKET_MS);
    let key = cache.get(bucket);
    if (key === undefined) {
      let y = '';
      let m = '';
      let d = '';
      for (const part of format.formatToParts(new Date(ms))) {
        if (part.type === 'year') y = part.value;
        else if (part.type === 'month') m = part.value;
        else if (part.type === 'day') d = part.value;
      }
      key = `${y}-${m}-${d}`;
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(bucket, key);
    }
    return key;
  };
  return { timeZone, day, month: (ms) => day(ms).slice(0, 7) };
}

/** Throws CONFIG_INVALID unless `timeZone` is a zone the runtime knows. */
export function assertTimeZone(timeZone: string, what = 'timeZone'): void {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
  } catch (err) {
    throw new TollstreamError('INVALID_ARGUMENT', `${what} '${timeZone}' is not an IANA time zone (e.g. 'UTC', 'Europe/Paris')`, { context: { [what]: timeZone }, cause: err });
  }
}

/**
 * The toll transaction as roadside equipment sends it, and its check. `validateTransaction` runs once per
 * record at ingest rates, so it is a straight line of type checks: no closures or regexes built per call,
 * no exceptions for control flow, and the event time is parsed once and handed back.
 */
import type { TollTransaction } from '../../warehouse/index.ts';

/** The record checked: defined with the platform's `toll_transactions` table, which it is delivered into. */
export type { TollTransaction };

export type ValidationResult =
  | { readonly ok: true; readonly tx: TollTransaction; /** `event_time` in ms since the epoch. */ readonly eventTimeMs: number }
  | { readonly ok: false; readonly reason: string };

/** Longest accepted identifier; table keys take more, but no toll system sends longer ids. */
export const MAX_ID_LENGTH = 256;
/**
 * A customer id is 1 to 200 visible ASCII characters: it is part of the breach notification's idempotency
 * key (`breach:<customer>:<month>:<threshold>`, at most 256 visible ASCII characters), so anything else would
 * make every batch holding it fail.
 */
export const MAX_CUSTOMER_ID_LENGTH = 200;

const STRING_FIELDS = ['transaction_id', 'tag_id', 'plate', 'plaza_id'] as const;
// Date and time with a zone; fractions up to nanoseconds. Ranges of each part are checked after the match.
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
// In unicode mode a surrogate pair is one code point, so this matches only a lone (ill-formed) surrogate.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Checks one decoded record; `reason` names the first field that is wrong and how. */
export function validateTransaction(value: unknown): ValidationResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('the record is not a JSON object');
  const v = value as Record<string, unknown>;
  for (let i = 0; i < STRING_FIELDS.length; i++) {
    const name = STRING_FIELDS[i]!;
    const s = v[name];
    if (typeof s !== 'string') return fail(s === undefined ? `${name} is missing` : `${name} must be a string`);
    if (s.length === 0 || s.length > MAX_ID_LENGTH || LONE_SURROGATE.test(s)) return fail(`${name} must be 1 to ${MAX_ID_LENGTH} characters of well-formed Unicode`);
  }
  const customerId = v.customer_id;
  if (typeof customerId !== 'string') return fail(customerId === undefined ? 'customer_id is missing' : 'customer_id must be a string');
  if (!isCustomerId(customerId)) return fail(`customer_id must be 1 to ${MAX_CUSTOMER_ID_LENGTH} visible ASCII characters`);
  const lane = v.lane;
  if (typeof lane !== 'number' || !Number.isSafeInteger(lane) || lane < 1) return fail('lane must be an integer of 1 or more');
  const cls = v.vehicle_class;
  if (typeof cls !== 'number' || !Number.isInteger(cls) || cls < 1 || cls > 5) return fail('vehicle_class must be an integer from 1 to 5');
  const amount = v.amount_cents;
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
    return fail('amount_cents must be a whole number of cents, 0 or more (money is never a fraction)');
  }
  const currency = v.currency;
  if (typeof currency !== 'string' || !isCurrencyCode(currency)) return fail('currency must be three upper-case letters (ISO 4217)');
  const eventTime = v.event_time;
  if (typeof eventTime !== 'string') return fail(eventTime === undefined ? 'event_time is missing' : 'event_time must be a string');
  const eventTimeMs = parseIsoWithZone(eventTime);
  if (eventTimeMs === undefined) return fail('event_time must be an ISO 8601 date and time with a zone, e.g. 2026-11-26T08:15:00Z');
  return { ok: true, tx: value as TollTransaction, eventTimeMs };
}

function fail(reason: string): ValidationResult {
  return { ok: false, reason };
}

/** 1 to MAX_CUSTOMER_ID_LENGTH characters from `!` to `~`. */
export function isCustomerId(s: string): boolean {
  if (s.length === 0 || s.length > MAX_CUSTOMER_ID_LENGTH) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function isCurrencyCode(s: string): boolean {
  if (s.length !== 3) return false;
  for (let i = 0; i < 3; i++) {
    const c = s.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

/** ms since the epoch, or undefined when the text is not a real instant with a zone (Feb 30 and hour 24 are refused). */
export function parseIsoWithZone(text: string): number | undefined {
  const fast = parseUtcShape(text);
  if (fast !== null) return fast;
  const m = ISO_WITH_ZONE.exec(text);
  if (m === null) return undefined;
  if (!isCalendarDate(+m[1]!, +m[2]!, +m[3]!)) return undefined;
  if (+m[4]! > 23 || +m[5]! > 59 || (m[6] !== undefined && +m[6] > 59)) return undefined;
  if (m[7] !== undefined && (+m[7] > 23 || +m[8]! > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** True for a real date of the proleptic Gregorian calendar (month 1 to 12, Feb 29 only in leap years). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return false;
  return !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

/**
 * The two shapes nearly every record carries, `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-DDTHH:MM:SS.sssZ` (what
 * `Date#toISOString` and the SQL job write), read digit by digit: the regex, its match array and `Date.parse`
 * cost more than the rest of a record's check. Returns what the general path would (ms, or undefined for an
 * impossible date or time), or null for any other text, which the general path then reads. Years below 100
 * take the general path too, since `Date.UTC` maps them to 19xx.
 */
function parseUtcShape(text: string): number | undefined | null {
  const n = text.length;
  if (n !== 20 && n !== 24) return null;
  if (text.charCodeAt(n - 1) !== 0x5a || text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54) return null;
  if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a || (n === 24 && text.charCodeAt(19) !== 0x2e)) return null;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const ms = n === 24 ? digits(text, 20, 3) : 0;
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || ms < 0) return null;
  if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** The decimal number of `count` ASCII digits at `at`, or -1 if one of them is not a digit. */
export function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The toll transaction as roadside equipment sends it, and its check. `validateTransaction` runs once per
 * record at ingest rates, so it is a straight line of type checks: no closures or regexes built per call,
 * no exceptions for control flow, and the event time is parsed once and handed back.
 */
import { parseIsoTimestamp } from '../../core/iso-time.ts';
import type { TollTransaction } from '../../simulator/index.ts';

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
// In unicode mode a surrogate pair is one code point, so this matches only a lone (ill-formed) surrogate.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

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
  const eventTimeMs = parseIsoTimestamp(eventTime);
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

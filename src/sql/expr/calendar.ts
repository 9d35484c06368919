/**
 * Flink's TIMESTAMPDIFF and TIMESTAMPADD: counts and steps of a unit between instants. Units of fixed
 * length (MILLISECOND to WEEK) count whole units of elapsed time; MONTH, QUARTER and YEAR count calendar
 * months, a month added to the 31st landing on the last day of a shorter month (2026-01-31 plus a month is
 * 2026-02-28), as Calcite, under Flink, does.
 */
import { fixedUnitMs, type TimeUnit } from '../ast/index.ts';
import { RowError } from './types.ts';

const MONTHS: Partial<Record<TimeUnit, number>> = { MONTH: 1, QUARTER: 3, YEAR: 12 };

function unitOf(text: string, fn: string): TimeUnit {
  if (fixedUnitMs(text as TimeUnit) !== undefined || Object.hasOwn(MONTHS, text)) return text as TimeUnit;
  throw new RowError('EVAL_ERROR', `${fn}: '${text}' is not a time unit`);
}

/** The instant `months` calendar months after `ts`, its day of month kept or cut to the month's last day. */
export function addMonths(ts: number, months: number): number {
  const d = new Date(ts);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const timeOfDay = ts - Date.UTC(year, d.getUTCMonth(), d.getUTCDate());
  return Date.UTC(year, month, Math.min(d.getUTCDate(), lastDay)) + timeOfDay;
}

/** Whole calendar months from `a` to `b`: the most months that, added to `a`, do not pass `b` (negative when b < a). */
function monthsBetween(a: number, b: number): number {
  if (b < a) return -monthsBetween(b, a);
  const da = new Date(a);
  const db = new Date(b);
  let m = (db.getUTCFullYear() - da.getUTCFullYear()) * 12 + (db.getUTCMonth() - da.getUTCMonth());
  while (m > 0 && addMonths(a, m) > b) m--;
  return m;
}

/** TIMESTAMPDIFF(unit, t1, t2): the signed number of whole units from t1 to t2. */
export function timestampDiff(unitText: string, t1: number, t2: number): number {
  const unit = unitOf(unitText, 'TIMESTAMPDIFF');
  const fixed = fixedUnitMs(unit);
  const n = fixed !== undefined ? (t2 - t1) / fixed : monthsBetween(t1, t2) / MONTHS[unit]!;
  return Math.trunc(n) + 0;
}

/** TIMESTAMPADD(unit, n, t): t moved by n units (n a whole number, negative to go back). */
export function timestampAdd(unitText: string, n: number, t: number): number {
  const unit = unitOf(unitText, 'TIMESTAMPADD');
  if (!Number.isInteger(n)) throw new RowError('EVAL_ERROR', `TIMESTAMPADD moves by a whole number of ${unit}s, not ${n}`);
  const fixed = fixedUnitMs(unit);
  return fixed !== undefined ? t + n * fixed : addMonths(t, n * MONTHS[unit]!);
}

/** Values at run time, and the row shape every operator passes along. */
import type { SqlTypeName } from '../ast/index.ts';

export type { SqlTypeName };

/**
 * A SQL value: null, boolean, number (BIGINT values are safe integers, exact; TIMESTAMP values are epoch
 * milliseconds; INTERVAL values are milliseconds), or string.
 */
export type Value = null | boolean | number | string;

/** Rows are arrays; expressions are compiled against column positions, never names. */
export type Row = Value[];

export type CompiledFn = (row: Row) => Value;

/**
 * The watermark an operator last received, for CURRENT_WATERMARK: the operator writes it, the compiled
 * expressions of that operator read it. null until a watermark arrives.
 */
export interface WatermarkCell {
  current: number | null;
}

export interface CompiledExpr {
  readonly fn: CompiledFn;
  readonly type: SqlTypeName;
  /** True when the value never depends on the row (folded once at compile time). */
  readonly constant: boolean;
}

/** Integer types narrower than BIGINT, by their width in bits. */
const INTEGER_BITS: Readonly<Record<string, number>> = { TINYINT: 8, SMALLINT: 16, INT: 32, INTEGER: 32 };

/** The width of a type as written (`INTEGER`, `SMALLINT`, `TINYINT`), or undefined for any other type. */
export function integerBits(typeText: string): number | undefined {
  return INTEGER_BITS[/^\s*([A-Za-z]+)/.exec(typeText)?.[1]?.toUpperCase() ?? ''];
}

/** Whether an integer lies outside `bits` bits, two's complement. */
export function beyondBits(n: number, bits: number): boolean {
  return n < -(2 ** (bits - 1)) || n >= 2 ** (bits - 1);
}

/** Thrown by compiled expressions for one bad row (division by zero, failed CAST); the row goes to the error stream. */
export class RowError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const MILLIS_SUFFIX = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);
const HOURS_MINUTES = Array.from({ length: 1440 }, (_, i) => `${TWO_DIGITS[Math.floor(i / 60)]}:${TWO_DIGITS[i % 60]}:`);
const DAY_MS = 86_400_000;
/** Year 10000: beyond it toISOString writes six-digit years. */
const FAST_LIMIT = 253_402_300_800_000;
let cachedDay = Number.NaN;
let cachedDayText = '';
let cachedMinute = Number.NaN;
let cachedMinuteText = '';

/**
 * ISO 8601 text of epoch milliseconds, exactly as `Date.prototype.toISOString` writes it
 * (`2026-03-02T08:00:00.000Z`). Every timestamp leaving the engine goes through here, so the date part is
 * computed once per minute and the rest comes from tables: about ten times cheaper than toISOString.
 */
export function formatTimestamp(ms: number): string {
  if (!(ms >= 0 && ms < FAST_LIMIT) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const minute = Math.floor(ms / 60_000);
  if (minute !== cachedMinute) {
    const day = Math.floor(ms / DAY_MS);
    if (day !== cachedDay) {
      cachedDay = day;
      cachedDayText = new Date(day * DAY_MS).toISOString().slice(0, 11);
    }
    cachedMinute = minute;
    cachedMinuteText = cachedDayText + HOURS_MINUTES[minute - day * 1440]!;
  }
  const rest = ms - minute * 60_000;
  const second = Math.floor(rest / 1000);
  return cachedMinuteText + TWO_DIGITS[second]! + MILLIS_SUFFIX[rest - second * 1000]!;
}

/** A value as it leaves the engine in a JSON row. */
export function exportValue(v: Value, type: SqlTypeName): unknown {
  if (v === null) return null;
  if (type === 'TIMESTAMP' && typeof v === 'number') return Number.isFinite(v) ? formatTimestamp(v) : null;
  return v;
}

/** A function's argument as text. */
export function textArg(v: Value): string {
  return typeof v === 'string' ? v : String(v);
}

/** A function's argument as a number; the row is an error when it is not one. */
export function numberArg(v: Value, fn: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new RowError('EVAL_ERROR', `${fn}: '${String(v)}' is not a number`);
  return n;
}

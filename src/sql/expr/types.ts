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

export interface CompiledExpr {
  readonly fn: CompiledFn;
  readonly type: SqlTypeName;
  /** True when the value never depends on the row (folded once at compile time). */
  readonly constant: boolean;
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

export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** A value as it leaves the engine in a JSON row. */
export function exportValue(v: Value, type: SqlTypeName): unknown {
  if (v === null) return null;
  if (type === 'TIMESTAMP' && typeof v === 'number') return Number.isFinite(v) ? formatTimestamp(v) : null;
  return v;
}

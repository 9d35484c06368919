/**
 * The contract of a streaming operator. Operators are synchronous and work on batches: the task that runs
 * one awaits its queues, so there is no promise per row.
 */
import type { Row, Value } from '../expr/types.ts';

/** Where an operator puts its results. */
export interface Output {
  emit(row: Row): void;
  /** Sends a row that could not be processed to the error stream; never drop a row silently. */
  error(errorName: string, message: string, row: Row | Record<string, unknown>): void;
}

export interface Operator {
  /** One line for EXPLAIN. */
  readonly description: string;
  processBatch(rows: readonly Row[], input: number, out: Output): void;
  /** The merged watermark (the minimum over inputs) advanced to `time`. */
  handleWatermark(time: number, out: Output): void;
  /**
   * For an operator that may still emit rows whose time is behind the watermark it was given (a pattern
   * search waiting for rows): the time every row it emits later is at or after. The task forwards the
   * smaller of this and the watermark, so windows downstream wait for those rows. Without it the watermark
   * passes on as it came.
   */
  heldWatermark?(): number;
  /** Returns the operator's state as plain data (every row before the barrier included). */
  handleCheckpoint(id: number): unknown;
  /** Takes back a state `handleCheckpoint` returned, before any message arrives. */
  restoreState(state: unknown): void;
  /** Every input ended; the watermark already went to +Infinity. */
  handleEnd(out: Output): void;
}

/** A stable text key for a list of values (group keys, join keys). */
export function keyOf(values: readonly Value[]): string | number | boolean | null {
  if (values.length === 1) {
    const v = values[0]!;
    return typeof v === 'string' ? `s${v}` : v;
  }
  return JSON.stringify(values);
}

/** A stateless operator's checkpoint. */
export const NO_STATE = null;

/** A watermark from a snapshot: -Infinity may have been written as null (JSON). */
export function restoredTime(t: unknown): number {
  return typeof t === 'number' ? t : Number.NEGATIVE_INFINITY;
}

/**
 * Interval join of two streams: `a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts - X AND a.ts + Y`.
 * Both sides are buffered by key in time order. A row leaves the buffer once the watermark shows that no
 * future row of the other side can match it, counting how far behind the watermark that side may still
 * emit (its `lag`: a windowed aggregate emits a window only after the watermark passed it). A row that
 * arrives later than its own side's lag allows could have lost matches already: it goes to the error
 * stream as LATE_ROW, never silently.
 */
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError, formatTimestamp } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf, restoredTime } from '../runtime/operator.ts';
import { KeyedTimeBuffer } from './keyed-time-buffer.ts';

export interface IntervalJoinSide {
  readonly keyFns: readonly CompiledFn[];
  readonly timeFn: CompiledFn;
  /** Rows of this side can still arrive with a time down to watermark - lag (ms). */
  readonly lag: number;
}

const SIDE_NAMES = ['left', 'right'] as const;

export class IntervalJoinOperator implements Operator {
  private readonly buffers = [new KeyedTimeBuffer(), new KeyedTimeBuffer()];
  private watermark = Number.NEGATIVE_INFINITY;

  /**
   * Matching rows satisfy right.ts in [left.ts - lower, left.ts + upper]. Future right rows have
   * right.ts >= watermark - right lag, so a left row can still match while left.ts + upper >= that; future
   * left rows have left.ts >= watermark - left lag, so a right row can match while right.ts + lower >= that.
   */
  constructor(
    readonly description: string,
    private readonly sides: readonly [IntervalJoinSide, IntervalJoinSide],
    private readonly lower: number,
    private readonly upper: number,
    private readonly condition: (row: Row) => boolean,
  ) {}

  processBatch(rows: readonly Row[], input: number, out: Output): void {
    const side = this.sides[input]!;
    const other = this.buffers[1 - input]!;
    const mine = this.buffers[input]!;
    const lateBefore = this.watermark - side.lag;
    for (const row of rows) {
      try {
        const keys = side.keyFns.map((f) => f(row));
        const t = side.timeFn(row);
        // A row without a key or time satisfies no equality or BETWEEN: it has no match to wait for.
        if (keys.includes(null) || typeof t !== 'number') continue;
        if (t < lateBefore) {
          out.error(
            'LATE_ROW',
            `the ${SIDE_NAMES[input]} input's time ${formatTimestamp(t)} is behind the join's watermark ${formatTimestamp(this.watermark)}${side.lag ? ` minus ${side.lag} ms` : ''}: rows it would match may already be gone. Raise the WATERMARK delay (or allowed lateness) if such rows are expected.`,
            row,
          );
          continue;
        }
        const k = keyOf(keys);
        const candidates = other.get(k);
        if (candidates) {
          const list = candidates.rows;
          for (let i = candidates.head; i < list.length; i++) {
            const c = list[i]!;
            const joined = input === 0 ? row.concat(c) : c.concat(row);
            if (this.condition(joined)) out.emit(joined);
          }
        }
        mine.add(k, t, row);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  handleWatermark(time: number): void {
    this.watermark = time;
    this.buffers[0]!.evictBefore(time - this.sides[1].lag - this.upper);
    this.buffers[1]!.evictBefore(time - this.sides[0].lag - this.lower);
  }

  handleCheckpoint(): unknown {
    return { watermark: this.watermark, sides: this.buffers.map((b) => b.rows()) };
  }

  restoreState(state: unknown): void {
    // Older snapshots hold the two sides' rows only.
    const s = Array.isArray(state) ? { watermark: null, sides: state as Row[][] } : (state as { watermark: unknown; sides: Row[][] });
    this.watermark = restoredTime(s.watermark);
    s.sides.forEach((rows, input) => {
      const side = this.sides[input]!;
      for (const row of rows) {
        const t = side.timeFn(row);
        if (typeof t === 'number') this.buffers[input]!.add(keyOf(side.keyFns.map((f) => f(row))), t, row);
      }
    });
  }

  handleEnd(): void {}
}

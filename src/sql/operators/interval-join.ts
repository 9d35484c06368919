/**
 * Interval join of two streams: `a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts - X AND a.ts + Y`.
 * Both sides are buffered by key; a row is dropped from the buffer once the watermark shows no future row
 * of the other side can match it.
 */
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';

export interface IntervalJoinSide {
  readonly keyFns: readonly CompiledFn[];
  readonly timeFn: CompiledFn;
}

export class IntervalJoinOperator implements Operator {
  private readonly buffers = [new Map<unknown, Row[]>(), new Map<unknown, Row[]>()];

  /**
   * Matching rows satisfy right.ts in [left.ts - lower, left.ts + upper]. A left row can still match while
   * left.ts + upper >= watermark; a right row while right.ts + lower >= watermark.
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
    const other = 1 - input;
    for (const row of rows) {
      try {
        const keys = side.keyFns.map((f) => f(row));
        if (keys.includes(null)) continue;
        const k = keyOf(keys);
        const candidates = this.buffers[other]!.get(k);
        if (candidates) {
          for (const c of candidates) {
            const joined = input === 0 ? row.concat(c) : c.concat(row);
            if (this.condition(joined)) out.emit(joined);
          }
        }
        const mine = this.buffers[input]!;
        const list = mine.get(k);
        if (list) list.push(row);
        else mine.set(k, [row]);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  handleWatermark(time: number): void {
    const horizon = [this.upper, this.lower];
    for (let s = 0; s < 2; s++) {
      const timeFn = this.sides[s]!.timeFn;
      const keep = horizon[s]!;
      for (const [k, list] of this.buffers[s]!) {
        const rest = list.filter((r) => {
          const t = timeFn(r);
          return typeof t === 'number' && t + keep >= time;
        });
        if (rest.length === 0) this.buffers[s]!.delete(k);
        else if (rest.length !== list.length) this.buffers[s]!.set(k, rest);
      }
    }
  }

  handleCheckpoint(): unknown {
    return this.buffers.map((m) => [...m.values()].flat());
  }

  restoreState(state: unknown): void {
    (state as Row[][]).forEach((rows, side) => {
      const keyFns = this.sides[side]!.keyFns;
      for (const row of rows) {
        const k = keyOf(keyFns.map((f) => f(row)));
        const list = this.buffers[side]!.get(k);
        if (list) list.push(row);
        else this.buffers[side]!.set(k, [row]);
      }
    });
  }

  handleEnd(): void {}
}

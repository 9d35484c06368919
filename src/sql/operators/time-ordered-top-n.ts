/**
 * The first rows by event time: `ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts)` outside windows
 * (with `WHERE rn = 1`, Flink's deduplication keeping the first row of each key), and `ORDER BY ts [, ...]
 * [LIMIT n]` of a query. A row waits until the watermark, less how far behind it `ts` can still come, passes
 * its time; then rows leave in `ts` order (then the other ORDER BY columns, then arrival), each partition
 * numbering its rows, and the rows numbered beyond the limit are dropped. Nothing that left is ever taken
 * back, so the output is append-only and depends on the data, not on arrival order. A row whose time the
 * operator already passed is late. Each partition keeps a count for as long as the query runs.
 */
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import { HeldRows } from './held-rows.ts';

export interface OrderKey {
  readonly fn: CompiledFn;
  readonly descending: boolean;
}

/** Ascending order of two values of one ORDER BY column, NULLs first. */
export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  // NULLs first ascending, as Flink orders them.
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

export class TimeOrderedTopNOperator implements Operator {
  private readonly held: HeldRows;
  private readonly counts = new Map<unknown, number>();

  constructor(
    readonly description: string,
    timeFn: CompiledFn,
    holdBack: number,
    private readonly partitionFns: readonly CompiledFn[],
    /** The ORDER BY columns after the time. */
    private readonly thenBy: readonly OrderKey[],
    private readonly limit: number,
    /** Adds the row number (ROW_NUMBER); a query's ORDER BY adds nothing. */
    private readonly numbered: boolean,
  ) {
    this.held = new HeldRows(timeFn, holdBack, {
      noTime: 'the row has no value in its ORDER BY time column',
      late: (t, wm) => `the ORDER BY time ${t} is behind the watermark ${wm}: the rows after it already left. Raise the WATERMARK delay (or the allowed lateness) if such rows are expected.`,
    });
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.held.holdAll(rows, out);
  }

  handleWatermark(time: number, out: Output): void {
    const due: { time: number; row: Row; keys: Value[] }[] = [];
    for (const p of this.held.release(time)) {
      try {
        due.push({ ...p, keys: this.thenBy.map((o) => o.fn(p.row)) });
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, p.row);
      }
    }
    // Stable: rows equal in every ORDER BY column keep their arrival order.
    due.sort((a, b) => {
      if (a.time !== b.time) return a.time - b.time;
      for (let i = 0; i < this.thenBy.length; i++) {
        const c = compareValues(a.keys[i]!, b.keys[i]!);
        if (c !== 0) return this.thenBy[i]!.descending ? -c : c;
      }
      return 0;
    });
    for (const d of due) {
      try {
        const k = keyOf(this.partitionFns.map((f) => f(d.row)));
        const n = (this.counts.get(k) ?? 0) + 1;
        if (n > this.limit) continue;
        this.counts.set(k, n);
        out.emit(this.numbered ? [...d.row, n] : d.row);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, d.row);
      }
    }
  }

  handleCheckpoint(): unknown {
    return { ...this.held.snapshot(), counts: [...this.counts] };
  }

  restoreState(state: unknown): void {
    const s = state as { doneBefore: unknown; pending: [number, Row][]; counts: [unknown, number][] };
    this.held.restore(s);
    for (const [k, n] of s.counts) this.counts.set(k, n);
  }

  handleEnd(): void {}
}

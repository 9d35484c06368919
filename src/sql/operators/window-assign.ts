/** A window table function without aggregation: each row once per window, with window_start/end/time added. */
import type { CompiledFn, Row } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { NO_STATE } from '../runtime/operator.ts';
import type { WindowAssigner } from './window-aggregate.ts';

export class WindowAssignOperator implements Operator {
  constructor(
    readonly description: string,
    private readonly assign: WindowAssigner,
    private readonly timeFn: CompiledFn,
  ) {}

  /** The row being assigned and where its copies go: state of `place`, bound once instead of a closure per row. */
  private placing: Row = [];
  private out: Output | null = null;

  /** Emits the row with window_start, window_end and window_time added, in an array of its final length. */
  private readonly place = (start: number, end: number): void => {
    const row = this.placing;
    const n = row.length;
    const r: Row = new Array(n + 3);
    for (let i = 0; i < n; i++) r[i] = row[i]!;
    r[n] = start;
    r[n + 1] = end;
    r[n + 2] = end - 1;
    this.out!.emit(r);
  };

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.out = out;
    for (const row of rows) {
      const ts = this.timeFn(row);
      if (typeof ts !== 'number') {
        out.error('NULL_TIME', 'the row has no event time, so no window can hold it', row);
        continue;
      }
      this.placing = row;
      this.assign(ts, this.place);
    }
  }

  handleWatermark(): void {}
  handleCheckpoint(): unknown {
    return NO_STATE;
  }
  restoreState(): void {}
  handleEnd(): void {}
}

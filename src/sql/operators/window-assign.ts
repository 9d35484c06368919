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

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      const ts = this.timeFn(row);
      if (typeof ts !== 'number') {
        out.error('NULL_TIME', 'the row has no event time, so no window can hold it', row);
        continue;
      }
      this.assign(ts, (start, end) => {
        const r = row.slice();
        r.push(start, end, end - 1);
        out.emit(r);
      });
    }
  }

  handleWatermark(): void {}
  handleCheckpoint(): unknown {
    return NO_STATE;
  }
  restoreState(): void {}
  handleEnd(): void {}
}

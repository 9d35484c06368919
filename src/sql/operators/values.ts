/**
 * `VALUES`: constant rows. The task has no input, so it runs `handleEnd` at once: the rows, then the end
 * (its watermark goes to +infinity). It sees no barrier and has no state: after a restore it sends its rows
 * again, and a task that also reads a source drops them (its checkpoint holds them, see `Task.skipRowsOf`).
 */
import type { Value } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { NO_STATE } from '../runtime/operator.ts';

export class ValuesOperator implements Operator {
  constructor(
    readonly description: string,
    private readonly rows: readonly (readonly Value[])[],
  ) {}

  processBatch(): void {}
  handleWatermark(): void {}
  handleCheckpoint(): unknown {
    return NO_STATE;
  }
  restoreState(): void {}
  handleEnd(out: Output): void {
    for (const row of this.rows) out.emit(row.slice());
  }
}

/**
 * Where the pumps (INSERTs) into one stream meet: the rows are collected as the stream's output and passed
 * on to the queries that read the stream.
 */
import type { Row } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { NO_STATE } from '../runtime/operator.ts';

export class StreamSinkOperator implements Operator {
  constructor(
    readonly description: string,
    private readonly deliver: (rows: readonly Row[]) => void,
    private readonly passOn: boolean,
    /** The watermark reaching the sink: every row the pumps will send for times before it was delivered. */
    private readonly watermarkPassed?: (time: number) => void,
  ) {}

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.deliver(rows);
    if (this.passOn) for (const r of rows) out.emit(r);
  }

  handleWatermark(time: number): void {
    this.watermarkPassed?.(time);
  }
  handleCheckpoint(): unknown {
    return NO_STATE;
  }
  restoreState(): void {}
  handleEnd(): void {}
}

/**
 * What a bounded file input (SourceTask) and a live log input (LiveSourceTask) do alike once a record is in
 * hand: decode it into the source's columns (a record that is not a JSON object, or does not fit, becomes a
 * PARSE_ERROR row), hold rows back from a partition's watermark (a late one becomes a LATE_ROW row), batch the
 * rows, send each batch with the watermark it moved, and keep the decoder's and watermarks' state for checkpoints.
 * The two differ only in where records and barriers come from, which stays in each task.
 */
import type { Row } from '../expr/types.ts';
import type { SourceDecoder } from '../operators/source-decoder.ts';
import { DecodeError } from '../operators/source-decoder.ts';
import type { WatermarkGenerator } from '../operators/watermark-generator.ts';
import type { Message } from './messages.ts';
import type { Downstream } from './task.ts';

export interface SourceBaseOptions {
  readonly batchSize: number;
  readonly reportError: (errorName: string, message: string, record: unknown) => void;
  readonly reportSnapshot: (barrierId: number, state: unknown) => void;
}

/** The decoder's and watermarks' part of a source's checkpoint state. */
export interface SourceState {
  readonly watermarks: unknown;
  readonly rowtime: unknown;
}

export abstract class SourceTaskBase {
  readonly downstream: Downstream[] = [];
  private batch: Row[] = [];

  protected constructor(
    readonly id: string,
    protected readonly decoder: SourceDecoder,
    protected readonly watermarks: WatermarkGenerator,
    private readonly base: SourceBaseOptions,
  ) {}

  /** Rows waiting for the next flush. */
  protected get batched(): number {
    return this.batch.length;
  }

  /** Takes `row` of `partition` into the batch, true, unless it is behind the partition's watermark (see `late`). */
  protected offer(row: Row, partition: string): boolean {
    if (!this.watermarks.accept(row, partition)) return false;
    this.batch.push(row);
    return true;
  }

  /**
   * The row of a record already parsed from JSON, or null when it went to the error stream: text (what did not
   * parse) is reported with `notJson`, anything but an object as not an object, a record the columns refuse with
   * the decoder's reason.
   */
  protected decodeValue(record: unknown, notJson: string, arrivalTime?: number): Row | null {
    try {
      if (typeof record === 'string') throw new DecodeError(notJson);
      if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new DecodeError('the record is not a JSON object');
      return this.decoder.decode(record as Record<string, unknown>, arrivalTime);
    } catch (err) {
      return this.unreadable(err, record);
    }
  }

  /** Reports a DecodeError as a PARSE_ERROR row of `record` (null, the record is dropped); rethrows anything else. */
  protected unreadable(err: unknown, record: unknown): null {
    if (!(err instanceof DecodeError)) throw err;
    this.base.reportError('PARSE_ERROR', err.message, record);
    return null;
  }

  /** The state a checkpoint keeps of the decoder and the watermarks. */
  protected sourceState(): SourceState {
    return { watermarks: this.watermarks.snapshot(), rowtime: this.decoder.snapshot() };
  }

  protected restoreSourceState(state: SourceState): void {
    this.decoder.restore(state.rowtime);
    this.watermarks.restore(state.watermarks);
  }

  /** Checkpoint `barrierId`: `state` reported as the task's, then the barrier sent on after the rows it covers. */
  protected async barrier(barrierId: number, state: unknown): Promise<void> {
    this.base.reportSnapshot(barrierId, state);
    await this.broadcast({ kind: 'barrier', id: barrierId });
  }

  /** Sends the batch, then the watermark when it moved. */
  protected async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length > 0) await this.broadcast({ kind: 'data', rows: batch });
    const wm = this.watermarks.advance();
    if (wm !== null) await this.broadcast({ kind: 'watermark', time: wm });
  }

  protected async broadcast(message: Message): Promise<void> {
    for (const d of this.downstream) await d.queue.send(d.input, message);
  }

  /** Sends a row `offer` refused to the error stream as LATE_ROW, shown as `record`, the input it came from. */
  protected late(row: Row, record: unknown): void {
    const wm = this.watermarks;
    const t = new Date(row[wm.timeIndex] as number).toISOString();
    const lateness = wm.allowedLateness ? ` minus the allowed lateness (${wm.allowedLateness} ms)` : '';
    this.base.reportError(
      'LATE_ROW',
      `event time ${t} is behind the watermark ${new Date(wm.watermark).toISOString()}${lateness}; raise the WATERMARK delay or the allowed lateness if such rows are expected`,
      record,
    );
  }
}

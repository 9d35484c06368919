/**
 * Reads one input (an async iterable of JSON records), decodes rows in batches, generates watermarks and
 * checkpoint barriers, and at the end of a bounded input sends the watermark to +Infinity and end-of-data.
 */
import type { Row } from '../expr/types.ts';
import type { SourceDecoder } from '../operators/source-decoder.ts';
import { DecodeError } from '../operators/source-decoder.ts';
import type { WatermarkGenerator } from '../operators/watermark-generator.ts';
import type { Message } from './messages.ts';
import type { Downstream } from './task.ts';

export interface SourceTaskOptions {
  readonly batchSize: number;
  /** Inject a checkpoint barrier after this many records; 0 for none. */
  readonly checkpointEveryRows: number;
  readonly reportError: (errorName: string, message: string, record: unknown) => void;
  readonly reportSnapshot: (barrierId: number, state: unknown) => void;
}

export class SourceTask {
  readonly downstream: Downstream[] = [];
  private offset = 0;

  constructor(
    readonly id: string,
    private readonly records: AsyncIterable<unknown[]>,
    private readonly decoder: SourceDecoder,
    private readonly watermarks: WatermarkGenerator,
    private readonly options: SourceTaskOptions,
  ) {}

  private batch: Row[] = [];
  private sinceBarrier = 0;
  private barrierId = 0;
  /** Records already processed before the checkpoint restored from: read again, but skipped. */
  private skip = 0;

  /** Continues from a checkpoint: its input position, watermarks and barrier count. */
  restore(state: unknown): void {
    const s = state as { offset: number; barrierId: number; watermarks: unknown; rowtime: unknown };
    this.decoder.restore(s.rowtime);
    this.skip = s.offset;
    this.offset = s.offset;
    this.barrierId = s.barrierId;
    this.watermarks.restore(s.watermarks);
  }

  async run(): Promise<void> {
    for await (const chunk of this.records) {
      for (const record of chunk) {
        if (this.skip > 0) {
          this.skip--;
          continue;
        }
        this.take(record);
        const barrierDue = this.options.checkpointEveryRows > 0 && this.sinceBarrier >= this.options.checkpointEveryRows;
        if (this.batch.length >= this.options.batchSize || barrierDue) await this.flush();
        if (barrierDue) await this.checkpoint();
      }
      // The input may pause after a chunk (a live iterable): what it gave so far goes on now, with its
      // watermark, so windows and outer joins it completes emit without waiting for the next chunk.
      if (this.batch.length > 0) await this.flush();
    }
    await this.flush();
    // A last barrier after the last records: each source counts its own barriers, so a longer input's next
    // one would otherwise find this input's rows since its last barrier in a join's state, and a restore
    // from it would read them again.
    if (this.options.checkpointEveryRows > 0 && this.sinceBarrier > 0) await this.checkpoint();
    await this.broadcast({ kind: 'watermark', time: Number.POSITIVE_INFINITY });
    await this.broadcast({ kind: 'end' });
  }

  /** Decodes one record into the batch, or sends it to the error stream (unreadable or late). */
  private take(record: unknown): void {
    this.offset++;
    this.sinceBarrier++;
    const row = this.decodeOne(record);
    if (!row) return;
    const rec = record as Record<string, unknown>;
    const p = rec._partition ?? rec._shard;
    if (this.watermarks.accept(row, p === undefined ? '' : String(p))) this.batch.push(row);
    else this.late(row, rec);
  }

  private async checkpoint(): Promise<void> {
    this.sinceBarrier = 0;
    this.barrierId++;
    this.options.reportSnapshot(this.barrierId, { offset: this.offset, barrierId: this.barrierId, watermarks: this.watermarks.snapshot(), rowtime: this.decoder.snapshot() });
    await this.broadcast({ kind: 'barrier', id: this.barrierId });
  }

  private late(row: Row, record: Record<string, unknown>): void {
    const wm = this.watermarks;
    const t = new Date(row[wm.timeIndex] as number).toISOString();
    const lateness = wm.allowedLateness ? ` minus the allowed lateness (${wm.allowedLateness} ms)` : '';
    this.options.reportError(
      'LATE_ROW',
      `event time ${t} is behind the watermark ${new Date(wm.watermark).toISOString()}${lateness}; raise the WATERMARK delay or the allowed lateness if such rows are expected`,
      record,
    );
  }

  private decodeOne(record: unknown): Row | null {
    try {
      if (typeof record === 'string') throw new DecodeError('the line is not valid JSON');
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw new DecodeError('the record is not a JSON object');
      }
      return this.decoder.decode(record as Record<string, unknown>);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.options.reportError('PARSE_ERROR', err.message, record);
      return null;
    }
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length > 0) await this.broadcast({ kind: 'data', rows: batch });
    const wm = this.watermarks.advance();
    if (wm !== null) await this.broadcast({ kind: 'watermark', time: wm });
  }

  private async broadcast(message: Message): Promise<void> {
    for (const d of this.downstream) await d.queue.send(d.input, message);
  }
}

/**
 * Reads one input (an async iterable of JSON records), decodes rows in batches, generates watermarks and
 * checkpoint barriers, and at the end of a bounded input sends the watermark to +Infinity and end-of-data.
 */
import type { SourceDecoder } from '../operators/source-decoder.ts';
import type { WatermarkGenerator } from '../operators/watermark-generator.ts';
import { SourceTaskBase, type SourceBaseOptions, type SourceState } from './source-base.ts';

export interface SourceTaskOptions extends SourceBaseOptions {
  /** Inject a checkpoint barrier after this many records; 0 for none. */
  readonly checkpointEveryRows: number;
}

export class SourceTask extends SourceTaskBase {
  private offset = 0;
  private sinceBarrier = 0;
  private barrierId = 0;
  /** Records already processed before the checkpoint restored from: read again, but skipped. */
  private skip = 0;

  constructor(
    id: string,
    private readonly records: AsyncIterable<unknown[]>,
    decoder: SourceDecoder,
    watermarks: WatermarkGenerator,
    private readonly options: SourceTaskOptions,
  ) {
    super(id, decoder, watermarks, options);
  }

  /** Continues from a checkpoint: its input position, watermarks and barrier count. */
  restore(state: unknown): void {
    const s = state as SourceState & { offset: number; barrierId: number };
    this.restoreSourceState(s);
    this.skip = s.offset;
    this.offset = s.offset;
    this.barrierId = s.barrierId;
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
        if (this.batched >= this.options.batchSize || barrierDue) await this.flush();
        if (barrierDue) await this.checkpoint();
      }
      // The input may pause after a chunk (a live iterable): what it gave so far goes on now, with its
      // watermark, so windows and outer joins it completes emit without waiting for the next chunk.
      if (this.batched > 0) await this.flush();
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
    const row = this.decodeValue(record, 'the line is not valid JSON');
    if (!row) return;
    const rec = record as Record<string, unknown>;
    const p = rec._partition ?? rec._shard;
    if (!this.offer(row, p === undefined ? '' : String(p))) this.late(row, rec);
  }

  private async checkpoint(): Promise<void> {
    this.sinceBarrier = 0;
    this.barrierId++;
    await this.barrier(this.barrierId, { offset: this.offset, barrierId: this.barrierId, ...this.sourceState() });
  }
}

/**
 * Reads one live input (the shards of a log stream, merged by the caller) and feeds the graph: decodes
 * record bytes into rows, tracks per-shard watermarks with idleness in processing time, and passes on the checkpoint
 * barriers and the cancel that the caller puts in the same sequence as the records, so a barrier sits
 * exactly after the records it covers. A live input has no end: nothing here ever sends the watermark to
 * +Infinity.
 */
import type { Row } from '../expr/types.ts';
import type { SourceDecoder } from '../operators/source-decoder.ts';
import type { WatermarkGenerator } from '../operators/watermark-generator.ts';
import { SourceTaskBase, type SourceBaseOptions, type SourceState } from './source-base.ts';

/** What a live input yields, in order. */
export type LiveItem =
  /** Records of one partition (shard): their bytes (JSON text, decoded here into the source's columns) and arrival times (ms). */
  | { readonly kind: 'records'; readonly partition: string; readonly data: readonly Uint8Array[]; readonly arrivalTimes: readonly number[] }
  /** Checkpoint `id` covers every record yielded before it. */
  | { readonly kind: 'barrier'; readonly id: number }
  /** A shard about to be read (`open`) or read to its end (`closed`). */
  | { readonly kind: 'partition'; readonly partition: string; readonly state: 'open' | 'closed' }
  /** Nothing new: re-check idle partitions (processing time) and send the watermark if it moved. */
  | { readonly kind: 'tick' }
  /** Stop now, without closing windows. */
  | { readonly kind: 'cancel' };

/** A record's bytes as the error stream shows them: the parsed JSON value, or the text when it is not JSON. */
function parseRecord(data: Uint8Array): unknown {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface LiveSourceOptions extends SourceBaseOptions {
  readonly now: () => number;
  /** Called per batch of records taken: records read, rows passed on (not late, decodable). */
  readonly onRecords?: (records: number, rows: number) => void;
}

export class LiveSourceTask extends SourceTaskBase {
  constructor(
    id: string,
    private readonly items: AsyncIterable<LiveItem>,
    decoder: SourceDecoder,
    watermarks: WatermarkGenerator,
    private readonly options: LiveSourceOptions,
  ) {
    super(id, decoder, watermarks, options);
    watermarks.setProcessingTime(options.now());
  }

  /** The current watermark (ms; -Infinity before the first row). */
  get watermark(): number {
    return this.watermarks.watermark;
  }

  /** Continues from a checkpoint's state; the caller resumes the input after the checkpoint's positions. */
  restore(state: unknown): void {
    this.watermarks.setProcessingTime(this.options.now());
    this.restoreSourceState(state as SourceState);
  }

  async run(): Promise<void> {
    for await (const item of this.items) {
      switch (item.kind) {
        case 'records':
          this.watermarks.setProcessingTime(this.options.now());
          await this.take(item.partition, item.data, item.arrivalTimes);
          break;
        case 'partition':
          if (item.state === 'open') this.watermarks.openPartition(item.partition);
          else this.watermarks.closePartition(item.partition);
          await this.flush();
          break;
        case 'tick':
          this.watermarks.setProcessingTime(this.options.now());
          await this.flush();
          break;
        case 'barrier':
          await this.flush();
          await this.barrier(item.id, this.sourceState());
          break;
        case 'cancel':
          await this.broadcast({ kind: 'cancel' });
          return;
      }
    }
    // The input ended without a cancel (its stream was deleted, the log closed): stop the graph the same way.
    await this.broadcast({ kind: 'cancel' });
  }

  private async take(partition: string, data: readonly Uint8Array[], arrivalTimes: readonly number[]): Promise<void> {
    let passed = 0;
    for (let i = 0; i < data.length; i++) {
      const row = this.decodeOne(data[i]!, arrivalTimes[i]!);
      if (row) {
        if (this.offer(row, partition)) passed++;
        else this.late(row, parseRecord(data[i]!));
      }
      if (this.batched >= this.options.batchSize) await this.flush();
    }
    this.options.onRecords?.(data.length, passed);
    await this.flush();
  }

  /**
   * The row of a record, or null when it went to the error stream. The decoder reads the columns straight
   * from the bytes; only a record it cannot read that way (or a bad one, for its error row) is parsed whole.
   */
  private decodeOne(data: Uint8Array, arrivalTime: number): Row | null {
    let row: Row | null;
    try {
      row = this.decoder.decodeJson(data, arrivalTime);
    } catch (err) {
      return this.unreadable(err, parseRecord(data));
    }
    return row ?? this.decodeValue(parseRecord(data), 'the record is not valid JSON', arrivalTime);
  }
}

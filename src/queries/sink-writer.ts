/**
 * Writes a query's output rows to a log stream, each with the idempotency key its `OutputEncoder` gives it
 * (output-encoder.ts), so a row produced again after a restart from a checkpoint is dropped by the stream's
 * key dedupe. Rows come as the engine's objects (encoded here) or already encoded (by a query thread).
 *
 * Rows are buffered (the engine delivers synchronously) and appended in order by one loop; `flushed()`
 * resolves once everything buffered before the call is durable, which a checkpoint awaits before it is
 * stored.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AppendRecord, StreamLog } from '../log/index.ts';
import type { OutputKeys } from '../sql/index.ts';
import { OutputEncoder, type KeyCounters } from './output-encoder.ts';

export type { KeyCounters } from './output-encoder.ts';

/**
 * Rows per append. A window closing emits its groups at once (the customer spend query: one row per customer
 * seen in the window), and each append waits for its flush, so a burst goes out in few appends; the log takes
 * up to 10 MiB per append and readers then take the burst in large batches too.
 */
const APPEND_BATCH = 5000;

export interface SinkWriterOptions {
  readonly log: StreamLog;
  readonly stream: string;
  readonly query: string;
  /** The SQL name of the output (part of the key, so two outputs sharing a stream do not collide). */
  readonly output: string;
  readonly keys: OutputKeys | null;
  /** Occurrence counters older than this are forgotten (the output stream's dedupe window), ms. */
  readonly forgetAfterMs: number;
  /** Checkpointed counters to continue from. */
  readonly restore?: unknown;
  /** Rows buffered before `waitForRoom` waits. @default 20000 */
  readonly maxPending?: number;
  readonly logger: Logger;
}

export class SinkWriter {
  /** Records not yet appended: `pending[pendingHead..]` (a head index, so taking a batch copies nothing else). */
  private pending: AppendRecord[] = [];
  private pendingHead = 0;
  private written = 0;
  private added = 0;
  private flushing = false;
  private waiters: { target: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private roomWaiters: (() => void)[] = [];
  private readonly encoder: OutputEncoder;
  failure: TollstreamError | null = null;
  private readonly maxPending: number;
  /** Output times waiting for their rows to be appended: `time` holds once `target` rows are written. */
  private marks: { target: number; time: number }[] = [];
  private upTo = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SinkWriterOptions) {
    this.maxPending = options.maxPending ?? 20_000;
    this.encoder = new OutputEncoder(options);
  }

  get pendingRows(): number {
    return this.added - this.written;
  }

  /** Rows handed to the writer so far (written or pending). */
  get rowsAdded(): number {
    return this.added;
  }

  get rowsWritten(): number {
    return this.written;
  }

  /**
   * The time the output is complete up to, ms: every row the query gives it for an event time before this is
   * appended durably. -Infinity until the first such time is reached.
   */
  get emittedUpTo(): number {
    return this.upTo;
  }

  /**
   * The engine says the rows added so far are all the output will get before `time` (see run-live.ts'
   * onEmittedUpTo); `emittedUpTo` reaches it once those rows are appended, not before.
   */
  markEmittedUpTo(time: number): void {
    const last = this.marks.length > 0 ? this.marks[this.marks.length - 1]!.time : this.upTo;
    if (time <= last) return;
    if (this.written >= this.added) {
      this.upTo = time;
      return;
    }
    const tail = this.marks[this.marks.length - 1];
    // One mark per count of rows added: a later time for the same rows replaces the earlier.
    if (tail !== undefined && tail.target === this.added) tail.time = time;
    else this.marks.push({ target: this.added, time });
  }

  /** The key counters now (taken when the output's sink task passes a barrier). */
  snapshot(now: number): KeyCounters {
    return this.encoder.snapshot(now);
  }

  /** Buffers output rows with their keys (the engine's `deliver`). */
  addRows(rows: readonly Record<string, unknown>[], now: number): void {
    const from = this.pending.length;
    this.encoder.encodeRows(rows, now, this.pending);
    this.pushed(this.pending.length - from);
  }

  /** Buffers an error-stream row; its key counts occurrences of the same error in memory only. */
  addError(row: Record<string, unknown>, now: number): void {
    this.pending.push(this.encoder.encodeError(row, now));
    this.pushed(1);
  }

  /** Buffers rows encoded elsewhere (by the query's thread, whose encoder holds the key counters). */
  addEncoded(records: readonly AppendRecord[]): void {
    for (const r of records) this.pending.push(r);
    this.pushed(records.length);
  }

  private pushed(n: number): void {
    if (n === 0) return;
    this.added += n;
    if (this.flushing) return;
    // The loop starts after the engine's synchronous delivery has buffered all its rows (a window closing
    // delivers every group at once), so the first append carries them all instead of the first row alone.
    this.flushing = true;
    queueMicrotask(() => void this.flushLoop());
  }

  /** Resolves once every row buffered before this call is appended durably. */
  flushed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const target = this.added;
    if (this.written >= target) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ target, resolve, reject }));
  }

  /** Waits while too many rows are buffered (the query slows its inputs down). */
  async waitForRoom(): Promise<void> {
    while (this.pendingRows > this.maxPending && !this.failure) await new Promise<void>((r) => this.roomWaiters.push(r));
  }

  private async flushLoop(): Promise<void> {
    this.flushing = true;
    try {
      let backoff = 10;
      while (this.pendingHead < this.pending.length && !this.failure) {
        const batch = this.pending.slice(this.pendingHead, this.pendingHead + APPEND_BATCH);
        let results;
        try {
          results = await this.options.log.append(this.options.stream, batch);
        } catch (err) {
          if (isTollstreamError(err) && err.retriable && err.code !== 'LOG_CLOSED') {
            await new Promise((r) => setTimeout(r, backoff));
            backoff = Math.min(backoff * 2, 1000);
            continue;
          }
          throw err;
        }
        // Keep the rows that failed at the front, in order, and retry them; the rest are done.
        const failed = batch.filter((_, i) => !results[i]!.ok);
        const done = batch.length - failed.length;
        this.pendingHead += done;
        for (let k = 0; k < failed.length; k++) this.pending[this.pendingHead + k] = failed[k]!;
        if (this.pendingHead === this.pending.length) {
          this.pending = [];
          this.pendingHead = 0;
        } else if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
          this.pending.splice(0, this.pendingHead);
          this.pendingHead = 0;
        }
        this.written += done;
        if (failed.length > 0) {
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 1000);
        } else backoff = 10;
        this.settle(failed.length === 0);
      }
    } catch (err) {
      this.failure = isTollstreamError(err) ? err : new TollstreamError('INTERNAL', `writing to stream "${this.options.stream}" failed: ${String(err)}`, { cause: err });
      this.options.logger.error('query output failed', { stream: this.options.stream, err });
      for (const w of this.waiters.splice(0)) w.reject(this.failure);
      for (const w of this.roomWaiters.splice(0)) w();
    } finally {
      this.flushing = false;
    }
  }

  /** `clean`: the last append stored every row it carried, so the rows written are the first `written` added. */
  private settle(clean: boolean): void {
    let passed = 0;
    // After a partial failure the rows written are not a prefix (the failed ones are retried first): a
    // checkpoint or an output time counting them could claim a row that is not stored. Wait for a clean append.
    if (clean) while (passed < this.marks.length && this.marks[passed]!.target <= this.written) this.upTo = this.marks[passed++]!.time;
    if (passed > 0) this.marks.splice(0, passed);
    this.waiters = this.waiters.filter((w) => {
      if (!clean || this.written < w.target) return true;
      w.resolve();
      return false;
    });
    if (this.pendingRows <= this.maxPending) for (const w of this.roomWaiters.splice(0)) w();
  }
}

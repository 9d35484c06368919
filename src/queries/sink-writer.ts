/**
 * Writes a query's output rows to a log stream, each with an idempotency key that is the same when the row
 * is produced again after a restart from a checkpoint, so the stream's key dedupe drops the repeat:
 *
 * - `window` mode: query, stream, and the row's identity columns (window bounds and group key);
 * - `group` mode: the identity columns and the group's version (1, 2, ... per group), versions being part
 *   of the checkpoint;
 * - `row` mode: the row's content and its occurrence count (checkpointed, forgotten after the stream's
 *   dedupe window);
 * - error rows: their error name, pump and data row, and an occurrence count kept in memory.
 *
 * Rows are buffered (the engine delivers synchronously) and appended in order by one loop; `flushed()`
 * resolves once everything buffered before the call is durable, which a checkpoint awaits before it is
 * stored.
 */
import { createHash, hash } from 'node:crypto';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AppendRecord, StreamLog } from '../log/index.ts';
import type { OutputKeys } from '../sql/index.ts';

/**
 * Rows per append. A window closing emits its groups at once (the customer spend query: one row per customer
 * seen in the window), and each append waits for its flush, so a burst goes out in few appends; the log takes
 * up to 10 MiB per append and readers then take the burst in large batches too.
 */
const APPEND_BATCH = 5000;

/** Counters of a writer at a checkpoint: versions (group mode) or occurrences (row mode), with when last used. */
export interface KeyCounters {
  readonly counts: Map<string, [count: number, lastUsedMs: number]>;
}

/**
 * SHA-256 (base64url) of the parts, each followed by a NUL, in UTF-8. One `hash` call on the joined text:
 * the same bytes, hence the same keys as before, without a Hash object and four updates per output row.
 */
function digest(parts: readonly string[]): string {
  return hash('sha256', `${parts.join('\u0000')}\u0000`, 'base64url');
}

/** The partition columns' values joined by `|`. */
function partitionText(row: Record<string, unknown>, columns: readonly string[]): string {
  let text = String(row[columns[0]!]);
  for (let i = 1; i < columns.length; i++) text += `|${String(row[columns[i]!])}`;
  return text;
}

function partitionKeyOf(text: string): string {
  if (text.length === 0) return '-';
  return text.length <= 256 ? text : createHash('sha256').update(text).digest('hex');
}

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
  private counts = new Map<string, [number, number]>();
  failure: TollstreamError | null = null;
  private readonly maxPending: number;

  constructor(private readonly options: SinkWriterOptions) {
    this.maxPending = options.maxPending ?? 20_000;
    const restored = options.restore as KeyCounters | undefined;
    if (restored?.counts) this.counts = new Map(restored.counts);
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

  /** The key counters now (taken when the output's sink task passes a barrier). */
  snapshot(now: number): KeyCounters {
    const keep = new Map<string, [number, number]>();
    for (const [k, v] of this.counts) if (now - v[1] <= this.options.forgetAfterMs) keep.set(k, v);
    this.counts = keep;
    return { counts: new Map([...keep].map(([k, v]) => [k, [v[0], v[1]]])) };
  }

  /** Buffers output rows with their keys (the engine's `deliver`). */
  addRows(rows: readonly Record<string, unknown>[], now: number): void {
    const { keys, query, output } = this.options;
    const mode = keys?.mode ?? 'row';
    const partitionCols = keys?.partition ?? [];
    const identityCols = keys?.identity ?? [];
    // Reused for every row: the identity's JSON text is all that is kept of it.
    const identityValues = new Array<unknown>(identityCols.length);
    for (const row of rows) {
      const data = JSON.stringify(row);
      let id: string;
      let partition: string;
      if (mode === 'row') {
        id = digest([query, output, data, String(this.next(data, now))]);
        partition = partitionCols.length > 0 ? partitionText(row, partitionCols) : id;
      } else {
        for (let i = 0; i < identityCols.length; i++) identityValues[i] = row[identityCols[i]!] ?? null;
        const identity = JSON.stringify(identityValues);
        id = mode === 'window' ? digest([query, output, identity]) : digest([query, output, identity, String(this.next(identity, now))]);
        partition = partitionCols.length > 0 ? partitionText(row, partitionCols) : output;
      }
      this.push({ data: Buffer.from(data), partitionKey: partitionKeyOf(partition), idempotencyKey: id });
    }
  }

  /** Buffers an error-stream row; its key counts occurrences of the same error in memory only. */
  addError(row: Record<string, unknown>, now: number): void {
    const data = JSON.stringify(row);
    const what = JSON.stringify([row.ERROR_NAME, row.PUMP_NAME, row.DATA_ROW]);
    const id = digest([this.options.query, 'errors', what, String(this.next(what, now))]);
    this.push({ data: Buffer.from(data), partitionKey: partitionKeyOf(String(row.ERROR_NAME)), idempotencyKey: id });
  }

  private next(key: string, now: number): number {
    const c = this.counts.get(key);
    if (c) {
      c[0]++;
      c[1] = now;
      return c[0];
    }
    this.counts.set(key, [1, now]);
    return 1;
  }

  private push(record: AppendRecord): void {
    this.pending.push(record);
    this.added++;
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
        this.settle();
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

  private settle(): void {
    this.waiters = this.waiters.filter((w) => {
      if (this.written < w.target) return true;
      w.resolve();
      return false;
    });
    if (this.pendingRows <= this.maxPending) for (const w of this.roomWaiters.splice(0)) w();
  }
}

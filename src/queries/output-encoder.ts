/**
 * Turns a query's output rows into log records, each with an idempotency key that is the same when the row
 * is produced again after a restart from a checkpoint, so the output stream's key dedupe drops the repeat:
 *
 * - `window` mode: query, stream, and the row's identity columns (window bounds and group key);
 * - `group` mode: the identity columns and the group's version (1, 2, ... per group), versions being part
 *   of the checkpoint;
 * - `row` mode: the row's content and its occurrence count (checkpointed, forgotten after the stream's
 *   dedupe window);
 * - error rows: their error name, pump and data row, and an occurrence count kept in memory.
 *
 * The encoder runs where the query's operators run (the main thread or the query's thread): its counters
 * are snapshotted when the output's sink task passes a barrier, so they cover exactly the rows before it.
 */
import { createHash, hash } from 'node:crypto';
import type { AppendRecord } from '../log/index.ts';
import type { OutputKeys } from '../sql/index.ts';

/** Counters of a writer at a checkpoint: versions (group mode) or occurrences (row mode), with when last used. */
export interface KeyCounters {
  readonly counts: Map<string, [count: number, lastUsedMs: number]>;
}

export interface OutputEncoderOptions {
  readonly query: string;
  /** The SQL name of the output (part of the key, so two outputs sharing a stream do not collide). */
  readonly output: string;
  readonly keys: OutputKeys | null;
  /** Occurrence counters older than this are forgotten (the output stream's dedupe window), ms. */
  readonly forgetAfterMs: number;
  /** Checkpointed counters to continue from. */
  readonly restore?: unknown;
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

export class OutputEncoder {
  private counts = new Map<string, [number, number]>();

  constructor(private readonly options: OutputEncoderOptions) {
    const restored = options.restore as KeyCounters | undefined;
    if (restored?.counts) this.counts = new Map(restored.counts);
  }

  /** The key counters now (taken when the output's sink task passes a barrier). */
  snapshot(now: number): KeyCounters {
    const keep = new Map<string, [number, number]>();
    for (const [k, v] of this.counts) if (now - v[1] <= this.options.forgetAfterMs) keep.set(k, v);
    this.counts = keep;
    return { counts: new Map([...keep].map(([k, v]) => [k, [v[0], v[1]]])) };
  }

  /** Appends the records of output rows, with their keys, to `out`. */
  encodeRows(rows: readonly Record<string, unknown>[], now: number, out: AppendRecord[]): void {
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
      out.push({ data: Buffer.from(data), partitionKey: partitionKeyOf(partition), idempotencyKey: id });
    }
  }

  /** The record of an error-stream row; its key counts occurrences of the same error. */
  encodeError(row: Record<string, unknown>, now: number): AppendRecord {
    const data = JSON.stringify(row);
    const what = JSON.stringify([row.ERROR_NAME, row.PUMP_NAME, row.DATA_ROW]);
    const id = digest([this.options.query, 'errors', what, String(this.next(what, now))]);
    return { data: Buffer.from(data), partitionKey: partitionKeyOf(String(row.ERROR_NAME)), idempotencyKey: id };
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
}

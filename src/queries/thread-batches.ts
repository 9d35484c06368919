/**
 * How a query's batches cross between the main thread and its query thread: the bytes of a batch's records
 * packed into one ArrayBuffer that is transferred (moved, not copied) with `postMessage`, their ends in a
 * second one; the messages each way. Everything here is in memory only: the durable points stay the input
 * streams, the output streams and the checkpoints (running-query.ts says why nothing is lost or doubled).
 */
import type { InferredColumns, LiveItem } from '../sql/index.ts';
import type { ErrorRow } from '../sql/index.ts';
import type { WireError } from './thread-support.ts';

/** The bytes of many records: record i is `bytes[ends[i-1] .. ends[i])` (from 0 for the first). */
export interface PackedBytes {
  readonly bytes: ArrayBuffer;
  readonly ends: Uint32Array;
}

export function packBytes(list: readonly Uint8Array[]): PackedBytes {
  let total = 0;
  for (const b of list) total += b.byteLength;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(list.length);
  let at = 0;
  for (let i = 0; i < list.length; i++) {
    const b = list[i]!;
    bytes.set(b, at);
    at += b.byteLength;
    ends[i] = at;
  }
  return { bytes: bytes.buffer, ends };
}

/** Views into the packed buffer, one per record (nothing is copied). */
export function unpackBytes(packed: PackedBytes): Buffer[] {
  const out = new Array<Buffer>(packed.ends.length);
  let start = 0;
  for (let i = 0; i < packed.ends.length; i++) {
    const end = packed.ends[i]!;
    out[i] = Buffer.from(packed.bytes, start, end - start);
    start = end;
  }
  return out;
}

/** The buffers to move with a packed batch. */
export function transferList(packed: PackedBytes, ...more: ArrayBufferView[]): ArrayBuffer[] {
  return [packed.bytes, packed.ends.buffer as ArrayBuffer, ...more.map((v) => v.buffer as ArrayBuffer)];
}

/** A live input's item as it crosses: records packed, everything else as it is. */
export type WireItem = Exclude<LiveItem, { kind: 'records' }> | { readonly kind: 'records'; readonly partition: string; readonly packed: PackedBytes; readonly arrivalTimes: Float64Array };

/** What a query thread needs to plan and run one query as the main thread would. */
export interface ThreadQuerySpec {
  readonly query: string;
  readonly sql: string;
  readonly inferred: Readonly<Record<string, InferredColumns>> | undefined;
  readonly idleTimeoutMs: number;
  readonly referenceDir: string | undefined;
  readonly batchSize: number;
  readonly forgetAfterMs: number;
  /** The restored checkpoint's task states and output key counters (by output name), if any. */
  readonly restoreStates: Readonly<Record<string, unknown>> | undefined;
  readonly restoreSinks: Readonly<Record<string, unknown>> | undefined;
}

/** Main thread to query thread; `qid` names the query on that thread. */
export type ToThread =
  /** Plan the query (once planned, the other messages of `qid` are handled in order). */
  | { readonly qid: number; readonly op: 'open'; readonly spec: ThreadQuerySpec }
  /**
   * One record of a stream-backed reference table, in stream order (all before `run` for the initial load); the
   * table is held on the thread only.
   */
  | { readonly qid: number; readonly op: 'reference'; readonly table: string; readonly record: unknown; readonly sequenceNumber: string }
  /** Start the operators; the inputs' items follow. */
  | { readonly qid: number; readonly op: 'run' }
  | { readonly qid: number; readonly op: 'item'; readonly input: string; readonly item: WireItem }
  /** Stop now: what is queued is dropped (the last checkpoint's positions cover it). */
  | { readonly qid: number; readonly op: 'cancel' };

/** Query thread to main thread, in the order things happened on the thread. */
export type FromThread =
  /** The query is planned (its reference files read): it waits for `run`. */
  | { readonly qid: number; readonly op: 'planned' }
  /** Encoded output rows (data, partition keys, idempotency keys) of output `output`. */
  | { readonly qid: number; readonly op: 'rows'; readonly output: string; readonly packed: PackedBytes; readonly partitionKeys: string[]; readonly ids: string[] }
  | { readonly qid: number; readonly op: 'error'; readonly row: ErrorRow }
  /** Output `output` got every row it will get for times before `time` (ms): they were sent before this. */
  | { readonly qid: number; readonly op: 'emittedUpTo'; readonly output: string; readonly time: number }
  /**
   * Task `taskId` passed barrier `id`: its state and, for a sink task, its output's key counters, both sealed
   * (sealed-state.ts: serialized here, their buffers moved; the main thread hands them on unopened).
   */
  | { readonly qid: number; readonly op: 'snapshot'; readonly taskId: string; readonly id: number; readonly state: Uint8Array; readonly sink: Uint8Array | undefined }
  /**
   * `taken` input records left the thread's queues for the operators (the main thread may send that many
   * more); `rowsIn` records were read since the last progress; the sources' watermarks now (ms).
   */
  | { readonly qid: number; readonly op: 'progress'; readonly taken: number; readonly rowsIn: number; readonly watermarks: number[] }
  | { readonly qid: number; readonly op: 'reload'; readonly event: { table: string; rows?: number; path?: string; error?: string } }
  /** A record of a stream-backed reference table that the table could not apply, and why. */
  | { readonly qid: number; readonly op: 'referenceRejected'; readonly table: string; readonly sequenceNumber: string; readonly problem: string }
  /** The run is over: cancelled (error null) or failed. Nothing of `qid` follows. */
  | { readonly qid: number; readonly op: 'ended'; readonly error: WireError | null };

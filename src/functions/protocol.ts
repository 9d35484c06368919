/**
 * The messages between the functions runtime (main thread) and a deployed function's worker thread.
 */
import type { CheckpointTarget } from './invocation.ts';
import type { HandlerResult } from './types.ts';

/** What a worker is started with. */
export interface HandlerThreadData {
  /** The deployed function's name, for its logger. */
  readonly name: string;
  /** The built handler module (an ES module file). */
  readonly codeFile: string;
  /** The tables database the worker opens its own connection to (on a cluster node, for the notification topics only). */
  readonly tablesPath: string;
  /** The function's memory limit: the worker watches its heap plus the Buffers and ArrayBuffers it holds against it. */
  readonly memoryMiB: number;
  /** On a cluster node: the tables in PostgreSQL where the worker commits, fenced by the shards' leases. */
  readonly postgres?: PostgresWorkerTables;
}

/** Where a worker on a cluster node commits: the tables' schema in PostgreSQL, and the lease table's schema beside it. */
export interface PostgresWorkerTables {
  readonly connectionString: string;
  readonly schema: string;
  readonly leaseSchema: string;
  /** The schema of the notifications whose outbox `tx.publish` writes. @default 'tollstream_notify' */
  readonly notifySchema?: string;
}

/** One record, as sent to the worker (the methods are added there). */
export interface WireRecord {
  readonly sequenceNumber: string;
  readonly subSequenceNumber?: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly arrivalTime: number;
}

export interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  readonly mapping: string;
  readonly stream: string;
  readonly shardId: string;
  readonly attempt: number;
  readonly records: readonly WireRecord[];
  readonly checkpoints: CheckpointTarget;
}

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

export type ThreadMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'load-failed'; readonly error: WireError }
  /** The worker holds more than its memory limit (its heap, and the Buffers and ArrayBuffers allocated since it started, in bytes): it is to be stopped. */
  | { readonly type: 'memory-exceeded'; readonly heapBytes: number; readonly externalBytes: number }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly fields?: Record<string, unknown> }
  /**
   * `committedThrough`: the handler's transact committed through it (before it returned or threw). `leaseLost`: its
   * transact was refused because the shard's lease moved to another node (`error` is that refusal).
   */
  | { readonly type: 'done'; readonly id: number; readonly committedThrough?: string; readonly result?: HandlerResult; readonly error?: WireError; readonly leaseLost?: true };

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

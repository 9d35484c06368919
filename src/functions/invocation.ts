/**
 * What one invocation needs wherever its handler runs (in the server, or in a worker thread): records as
 * handlers see them, the virtual lane of a partition key, and the checkpoints a commit through a sequence
 * number writes. Nothing here reads the log, so a worker thread loads only this and the tables.
 */
import { TollstreamError } from '../core/errors.ts';
import type { LeaseToken } from '../leases/index.ts';
import type { StoredRecord } from '../log/index.ts';
import type { StoreTx, TableStore, TransactionOptions } from '../tables/index.ts';
import type { FunctionContext, FunctionRecord } from './types.ts';

/**
 * Every commit of a function (the handler's `transact` and the runtime's checkpoint-only ones) skips the disk
 * flush unless it publishes a notification: a flush blocks the thread for milliseconds. A power loss can then
 * roll back a suffix of these commits, each whole, state together with the checkpoint, so the records are
 * delivered again and redo the same state. Appends to other streams made before the commit carry idempotency keys.
 */
export const RELAXED: TransactionOptions = { flush: 'when-needed' };

/** Virtual lanes per shard: each has its own checkpoint (see shard-worker.ts). */
export const VIRTUAL_LANES = 10;

const decoder = new TextDecoder();

export function laneOf(partitionKey: string): number {
  // FNV-1a: cheap, stable across processes and versions.
  let h = 0x811c9dc5;
  for (let i = 0; i < partitionKey.length; i++) {
    h ^= partitionKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % VIRTUAL_LANES;
}

/** A record as handlers see it; methods on the prototype, so a record costs one object, not three closures. */
class LoggedRecord implements FunctionRecord {
  constructor(
    readonly stream: string,
    readonly shardId: string,
    readonly sequenceNumber: string,
    readonly partitionKey: string,
    readonly data: Uint8Array,
    readonly arrivalTime: number,
    readonly subSequenceNumber: number | undefined,
  ) {}

  text(): string {
    return decoder.decode(this.data);
  }

  json<T>(): T {
    return JSON.parse(decoder.decode(this.data)) as T;
  }
}

export function toFunctionRecord(stream: string, shardId: string, r: StoredRecord): FunctionRecord {
  return new LoggedRecord(stream, shardId, r.sequenceNumber, r.partitionKey, r.data, r.arrivalTime, r.subSequenceNumber);
}

/** The last record up to `through` of each virtual lane the records touch: the lane checkpoints a commit through it sets. */
export function laneCheckpointWrites(records: readonly Pick<FunctionRecord, 'sequenceNumber' | 'partitionKey'>[], through: string): { lane: number; sequenceNumber: string }[] {
  const lastPerLane = new Map<number, string>();
  for (const r of records) if (r.sequenceNumber <= through) lastPerLane.set(laneOf(r.partitionKey), r.sequenceNumber);
  return [...lastPerLane].map(([lane, sequenceNumber]) => ({ lane, sequenceNumber }));
}

/** A checkpoint an invocation's commit writes. */
export interface CheckpointWrite {
  readonly consumer: string;
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** Whose checkpoints an invocation moves: the mapping's consumer in one shard, and the shard checkpoint it may carry. */
export interface CheckpointTarget {
  readonly consumer: string;
  readonly stream: string;
  readonly shardId: string;
  /** A commit through exactly this sequence number also moves the shard checkpoint (see processBatch). */
  readonly shardAt?: string;
  /** The shard's lease as this node took it, on a runtime whose commits are fenced: each commit checks it still holds. */
  readonly lease?: LeaseToken;
}

/**
 * Refuses the transaction (`LEASE_LOST`) unless `lease` is still held, when there is one to check: every commit of
 * a fenced runtime for a shard (state and checkpoints, or checkpoints alone) runs this inside its transaction.
 */
export async function checkLease(tx: StoreTx, lease: LeaseToken | undefined): Promise<void> {
  if (lease === undefined) return;
  if (typeof tx.holdsLease !== 'function') {
    throw new TollstreamError('INTERNAL', 'a fenced function commit ran on a store without lease checks (fenceCommits was not called on it)', { context: { key: lease.key } });
  }
  await tx.holdsLease(lease);
}

/** The checkpoints a commit of `records` through `through` writes in its transaction. */
export function checkpointWrites(target: CheckpointTarget, records: readonly Pick<FunctionRecord, 'sequenceNumber' | 'partitionKey'>[], through: string): CheckpointWrite[] {
  const { consumer, stream, shardId } = target;
  const writes = laneCheckpointWrites(records, through).map(({ lane, sequenceNumber }) => ({ consumer, stream, shardId: `${shardId}/${lane}`, sequenceNumber }));
  if (target.shardAt !== undefined && through === target.shardAt) writes.push({ consumer, stream, shardId, sequenceNumber: through });
  return writes;
}

/**
 * What a handler that commits elsewhere (on its own connection to the tables database, in a worker thread)
 * needs to keep `transact` exactly once: the checkpoints to commit with its writes, and a way to report the
 * commit. Reached through `INVOCATION_CHECKPOINTS` on the context; not part of the handler contract.
 */
export interface InvocationCheckpoints {
  /** Whose checkpoints its commit moves; `checkpointWrites(target, records, through)` lists them. */
  readonly target: CheckpointTarget;
  /** The commit through `through` happened: records up to it are done. */
  committed(through: string): void;
  /**
   * For a handler stopped without a word (timeout, crash): reads the stored lane checkpoints and, if its commit
   * happened before it stopped, reports it as `committed` would. Returns how far it got, or undefined.
   */
  settleFromStore(): Promise<string | undefined>;
}

export const INVOCATION_CHECKPOINTS = Symbol('invocationCheckpoints');

/**
 * `transact`: runs `fn` in one transaction with the checkpoints of a commit of `records` through `through`,
 * refused as a whole when the target carries a lease that has moved. On PostgreSQL a serialization conflict runs the whole function again, checkpoints included.
 */
export function commitThrough<T>(
  store: Pick<TableStore, 'transaction'>,
  fn: (tx: StoreTx) => Promise<T> | T,
  target: CheckpointTarget,
  records: readonly Pick<FunctionRecord, 'sequenceNumber' | 'partitionKey'>[],
  through: string,
): Promise<T> {
  return store.transaction(async (tx) => {
    const out = await fn(tx);
    for (const w of checkpointWrites(target, records, through)) await tx.setCheckpoint(w.consumer, w.stream, w.shardId, w.sequenceNumber);
    await checkLease(tx, target.lease);
    return out;
  }, RELAXED);
}

/** A handler's `transact` for one invocation, and the commit it started. */
export interface InvocationTransact {
  readonly transact: FunctionContext['transact'];
  /** The commit once `transact` was called, settled or not (its failure observed, so never unhandled); else undefined. */
  pending(): Promise<unknown> | undefined;
}

/** What one invocation's `transact` commits, and whom it tells. */
export interface InvocationTransactOptions {
  readonly store: Pick<TableStore, 'transaction'>;
  /** Whose checkpoints the commit moves (`checkpointWrites`). */
  readonly target: CheckpointTarget;
  readonly records: readonly Pick<FunctionRecord, 'sequenceNumber' | 'partitionKey'>[];
  /** Where a commit goes without `through`: the batch's last sequence number (a redrive's, given again or not). */
  readonly batchEnd: string;
  /** Told once the commit through `through` has committed. */
  committed(through: string): void;
  /** Runs the handler's `fn` in the transaction; a worker thread watches its calls. @default fn(tx) */
  run?<T>(tx: StoreTx, fn: (tx: StoreTx) => Promise<T> | T): Promise<T> | T;
}

/**
 * The `transact` of one invocation: once at most, the handler's `fn` commits with the target's checkpoints through
 * `options.through` (else `batchEnd`), and `committed` hears of it once it has committed. The shard worker, a
 * redrive and a handler's worker thread give the handler the same one.
 */
export function invocationTransact(options: InvocationTransactOptions): InvocationTransact {
  const { store, target, records, batchEnd, committed, run } = options;
  let commit: Promise<unknown> | undefined;
  return {
    transact: (fn, given) => {
      if (commit !== undefined) return Promise.reject(new Error('transact may be called once per invocation'));
      const through = given?.through ?? batchEnd;
      const body = run === undefined ? fn : (tx: StoreTx) => run(tx, fn);
      const result = commitThrough(store, body, target, records, through).then((out) => {
        committed(through);
        return out;
      });
      // Observed here, so a handler that does not await it leaves no unhandled rejection; its failure still counts.
      commit = result;
      result.catch(() => undefined);
      return result;
    },
    pending: () => commit,
  };
}

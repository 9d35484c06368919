/**
 * Sends a batch that a mapping gave up on (the details its on-failure destination holds) to the handler once
 * more. The records are read again from the mapping's stream, only those of the lanes given up on, and the
 * handler runs once with them. Its commit carries a mark of the redrive (a checkpoint of the consumer
 * `redrive:<mapping>` keyed by the batch's shard and range), in the same transaction as its effects, so the
 * same batch is never redriven into a second effect: a later redrive of it is refused. A redrive whose handler
 * committed only part of the batch leaves its lanes' checkpoints, and the next redrive starts after them.
 * On a runtime whose commits are fenced (a cluster), the redrive runs under the batch's shard lease as this node
 * holds it, and every commit of it (the handler's, or the mark alone) checks that lease in its transaction.
 */
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { LeaseToken } from '../leases/index.ts';
import { deaggregate, isKplAggregate, type StartPosition, type StoredRecord, type StreamLog } from '../log/index.ts';
import type { TableStore } from '../tables/index.ts';
import { checkLease, INVOCATION_CHECKPOINTS, invocationTransact, laneOf, RELAXED, toFunctionRecord, type CheckpointTarget, type InvocationCheckpoints } from './invocation.ts';
import type { ResolvedMapping } from './mapping.ts';
import type { FunctionContext, FunctionRecord, HandlerResult } from './types.ts';

/** What a mapping's on-failure destination says about a batch it gave up on (see `giveUp` in shard-worker.ts). */
export interface GivenUpBatch {
  readonly mapping: string;
  readonly stream: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  /** The lanes of the records given up on; absent in details written before lanes were recorded (then every record of the range). */
  readonly virtualLanes?: readonly number[];
  readonly condition: string;
  readonly attempts: number;
  readonly batchSize: number;
  /** ISO 8601: when the mapping gave up. */
  readonly givenUpAt: string;
}

/** The details of an on-failure record, or undefined when the record is not such details. */
export function parseGivenUp(data: Uint8Array): GivenUpBatch | undefined {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const rc = d.requestContext as Record<string, unknown> | undefined;
  const strings = [d.stream, d.shardId, d.startSequenceNumber, d.endSequenceNumber, rc?.mapping];
  if (!rc || strings.some((s) => typeof s !== 'string')) return undefined;
  const lanes = Array.isArray(d.virtualLanes) && d.virtualLanes.every((l) => Number.isInteger(l)) ? (d.virtualLanes as number[]) : undefined;
  return {
    mapping: rc.mapping as string,
    stream: d.stream as string,
    shardId: d.shardId as string,
    startSequenceNumber: d.startSequenceNumber as string,
    endSequenceNumber: d.endSequenceNumber as string,
    ...(lanes ? { virtualLanes: lanes } : {}),
    condition: typeof rc.condition === 'string' ? rc.condition : '',
    attempts: typeof rc.approximateInvokeCount === 'number' ? rc.approximateInvokeCount : 0,
    batchSize: typeof d.batchSize === 'number' ? d.batchSize : 0,
    givenUpAt: typeof d.timestamp === 'string' ? d.timestamp : '',
  };
}

export function redriveConsumer(mapping: string): string {
  return `redrive:${mapping}`;
}

/** The key of a batch's redrive mark: its shard and range. */
export function redriveKey(batch: Pick<GivenUpBatch, 'shardId' | 'startSequenceNumber' | 'endSequenceNumber'>): string {
  return `${batch.shardId}/${batch.startSequenceNumber}-${batch.endSequenceNumber}`;
}

export interface RedriveDeps {
  readonly log: StreamLog;
  readonly store: TableStore;
  readonly mapping: ResolvedMapping;
  readonly logger: Logger;
  /** The lease of the batch's shard as this node holds it, on a runtime whose commits are fenced: every commit checks it. */
  readonly lease?: LeaseToken;
}

/** True once the batch was redriven and its handler's commit (or the mark alone, for a handler without one) is stored. */
export async function wasRedriven(store: Pick<TableStore, 'getCheckpoint'>, batch: GivenUpBatch): Promise<boolean> {
  return (await store.getCheckpoint(redriveConsumer(batch.mapping), batch.stream, redriveKey(batch))) !== undefined;
}

/** The records after the lane checkpoints an earlier, partial redrive of the batch committed (see checkpointWrites). */
async function notYetCommitted(store: Pick<TableStore, 'getCheckpoint'>, target: CheckpointTarget, records: readonly FunctionRecord[]): Promise<FunctionRecord[]> {
  const doneThrough = new Map<number, string | undefined>();
  for (const r of records) {
    const lane = laneOf(r.partitionKey);
    if (!doneThrough.has(lane)) doneThrough.set(lane, (await store.getCheckpoint(target.consumer, target.stream, `${target.shardId}/${lane}`))?.sequenceNumber);
  }
  return records.filter((r) => {
    const done = doneThrough.get(laneOf(r.partitionKey));
    return done === undefined || r.sequenceNumber > done;
  });
}

/** The records of the batch as the handler saw them, read again from the stream. */
async function readBatch(log: StreamLog, batch: GivenUpBatch): Promise<FunctionRecord[]> {
  const lanes = batch.virtualLanes ? new Set(batch.virtualLanes) : undefined;
  const out: FunctionRecord[] = [];
  const take = (r: StoredRecord) => {
    if (!lanes || lanes.has(laneOf(r.partitionKey))) out.push(toFunctionRecord(batch.stream, batch.shardId, r));
  };
  let from: StartPosition | null = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: batch.startSequenceNumber };
  while (from) {
    const read = await log.read(batch.stream, batch.shardId, from, { maxRecords: 1000 });
    let past = read.records.length === 0;
    for (const r of read.records) {
      if (r.sequenceNumber > batch.endSequenceNumber) {
        past = true;
        break;
      }
      const expanded = isKplAggregate(r.data) ? deaggregate(r) : undefined;
      if (expanded?.ok) for (const u of expanded.records) take(u);
      else take(r);
    }
    from = past ? null : read.next;
  }
  return out;
}

/**
 * Runs the handler once with the batch's records. Resolves with how many records it was given once they are
 * done; throws CONDITION_FAILED if the batch was redriven before, NOT_FOUND if its records are no longer in the
 * stream (past retention), REDRIVE_FAILED if the handler fails again (the batch stays a dead letter), and
 * LEASE_LOST if its commit was refused because another node took the shard's lease (nothing of it committed).
 */
export async function redriveBatch(deps: RedriveDeps, batch: GivenUpBatch): Promise<number> {
  const { mapping, store } = deps;
  const context = { mapping: mapping.name, shardId: batch.shardId, startSequenceNumber: batch.startSequenceNumber, endSequenceNumber: batch.endSequenceNumber };
  if (await wasRedriven(store, batch)) throw new TollstreamError('CONDITION_FAILED', `this batch of '${mapping.name}' was sent again before`, { context });
  const all = await readBatch(deps.log, batch);
  if (all.length === 0) throw new TollstreamError('NOT_FOUND', `the records of this batch are no longer in the stream '${batch.stream}' (past its retention)`, { context });
  const last = all[all.length - 1]!.sequenceNumber;
  // The mark is the checkpoint a commit through the last record writes for this target (checkpointWrites).
  const target: CheckpointTarget = { consumer: redriveConsumer(mapping.name), stream: batch.stream, shardId: redriveKey(batch), shardAt: last, ...(deps.lease === undefined ? {} : { lease: deps.lease }) };
  // An earlier redrive whose handler committed part of the batch (`transact` through an earlier record) stored
  // how far each lane got, in the same transaction as those effects: those records are done, and are not given again.
  const records = await notYetCommitted(store, target, all);
  let committedThrough: string | undefined;
  const checkpoints: InvocationCheckpoints = {
    target,
    committed(through) {
      committedThrough = through;
    },
    async settleFromStore() {
      const stored = await store.getCheckpoint(target.consumer, target.stream, target.shardId);
      if (stored !== undefined) committedThrough = last;
      return stored === undefined ? undefined : last;
    },
  };
  // By default a commit goes through the batch's last record, given again or not: that is the mark of the whole batch.
  const invocation = invocationTransact({ store, target, records, batchEnd: last, committed: (through) => checkpoints.committed(through) });
  const handlerContext: FunctionContext & { [INVOCATION_CHECKPOINTS]: InvocationCheckpoints } = {
    mapping: mapping.name,
    attempt: batch.attempts + 1,
    logger: deps.logger,
    tables: store,
    transact: invocation.transact,
    [INVOCATION_CHECKPOINTS]: checkpoints,
  };
  let failure: unknown;
  try {
    const result: HandlerResult = await mapping.handler({ mapping: mapping.name, stream: batch.stream, shardId: batch.shardId, records }, handlerContext);
    await invocation.pending();
    if (result?.batchItemFailures && result.batchItemFailures.length > 0) failure = new Error(`batch item failure at ${result.batchItemFailures[0]!.itemIdentifier}`);
  } catch (err) {
    failure = err;
  }
  // Another node took the shard's lease meanwhile: nothing of this redrive committed, and that node may redrive it.
  if (isTollstreamError(failure, 'LEASE_LOST')) throw failure;
  if (failure === undefined && committedThrough === undefined) {
    // A handler without a commit of its own: the mark alone says the batch is done.
    await store.transaction(async (tx) => {
      await tx.setCheckpoint(target.consumer, target.stream, target.shardId, last);
      await checkLease(tx, target.lease);
    }, RELAXED);
    committedThrough = last;
  }
  if (failure !== undefined || committedThrough !== last) {
    const message = failure instanceof Error ? failure.message : failure === undefined ? `the handler committed only through ${committedThrough}` : String(failure);
    throw new TollstreamError('REDRIVE_FAILED', `'${mapping.name}' failed again on the batch: ${message}`, { context, cause: failure });
  }
  return records.length;
}

/**
 * Feeds one shard to one mapping's handler: reads from the checkpoint on, gathers batches, splits them into
 * lanes by partition key, and delivers each lane's records in order with retries, bisection, partial batch
 * failures and the on-failure destination.
 *
 * Checkpoints: each shard has VIRTUAL_LANES virtual lanes (a partition key always maps to the same one, whatever
 * the parallelization factor), and each virtual lane has its own checkpoint, committed in the same table
 * transaction as the handler's effects. A shard-level checkpoint records the point before which every lane is
 * done; reading resumes there, and records at or before their lane's checkpoint are skipped.
 */
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { LeaseToken } from '../leases/index.ts';
import { deaggregate, isKplAggregate, type StartPosition, type StoredRecord, type StreamLog } from '../log/index.ts';
import type { StoreTx, TableStore } from '../tables/index.ts';
import type { ResolvedMapping } from './mapping.ts';
import { checkLease, INVOCATION_CHECKPOINTS, invocationTransact, laneCheckpointWrites, laneOf, RELAXED, toFunctionRecord, VIRTUAL_LANES, type InvocationCheckpoints } from './invocation.ts';
import type { FunctionContext, FunctionRecord, HandlerResult, MappingStats } from './types.ts';


export interface ShardWorkerDeps {
  readonly log: StreamLog;
  /** Where the handlers' transactions and the mapping's checkpoints commit. */
  readonly store: TableStore;
  readonly logger: Logger;
  readonly mapping: ResolvedMapping;
  readonly stats: MappingStats;
  readonly signal: AbortSignal;
  readonly now: () => number;
  /**
   * The shard's lease as this node took it, on a runtime whose commits are fenced: every commit for the shard checks
   * it in its transaction, and a refused one (`LEASE_LOST`) ends the worker (it throws out of `runShard`).
   */
  readonly lease?: LeaseToken;
}

/** Commits checkpoints alone (no handler effects), fenced like a handler's commit. */
function commitCheckpoints<T>(deps: ShardWorkerDeps, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
  return deps.store.transaction(async (tx) => {
    const out = await fn(tx);
    await checkLease(tx, deps.lease);
    return out;
  }, RELAXED);
}

function leaseLost(err: unknown): boolean {
  return isTollstreamError(err, 'LEASE_LOST');
}

export function consumerName(mapping: string): string {
  return `function:${mapping}`;
}


/** Processes the shard until it ends (a closed shard read to its end) or `signal` aborts. Returns true when the shard is finished. */
export async function runShard(deps: ShardWorkerDeps, shardId: string, endingSequenceNumber: string | undefined): Promise<boolean> {
  const { log, store, mapping, signal } = deps;
  const consumer = consumerName(mapping.name);
  const shardCheckpoint = (await store.getCheckpoint(consumer, mapping.stream, shardId))?.sequenceNumber;
  if (endingSequenceNumber !== undefined && shardCheckpoint !== undefined && shardCheckpoint >= endingSequenceNumber) return true;

  const laneCheckpoints: (string | undefined)[] = [];
  for (let v = 0; v < VIRTUAL_LANES; v++) laneCheckpoints.push((await store.getCheckpoint(consumer, mapping.stream, `${shardId}/${v}`))?.sequenceNumber);

  const from: StartPosition =
    shardCheckpoint !== undefined
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: shardCheckpoint }
      : lowestLaneStart(laneCheckpoints) ?? startFor(mapping.startingPosition);

  const subscription = log.subscribe(mapping.stream, shardId, from, { maxRecords: mapping.batchSize, signal });
  const iterator = subscription[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<{ records: readonly StoredRecord[]; next: StartPosition | null }>> | undefined;
  let buffer: StoredRecord[] = [];
  let ended = false;
  try {
    while (!signal.aborted) {
      // Gather a batch: up to batchSize records, waiting at most batchingWindowMs after the first one.
      let windowEnds = Infinity;
      while (!ended && buffer.length < mapping.batchSize) {
        pending ??= iterator.next();
        const wait = buffer.length === 0 ? undefined : windowEnds - Date.now();
        if (wait !== undefined && wait <= 0) break;
        const step = wait === undefined ? await pending : await Promise.race([pending, delay(wait).then(() => undefined)]);
        if (step === undefined) break;
        pending = undefined;
        if (step.done) {
          ended = true;
          break;
        }
        if (buffer.length === 0 && step.value.records.length > 0) windowEnds = Date.now() + mapping.batchingWindowMs;
        buffer.push(...step.value.records);
        if (step.value.next === null) ended = true;
        if (mapping.batchingWindowMs === 0 && buffer.length > 0) break;
      }
      if (signal.aborted) break;
      if (buffer.length > 0) {
        const batch = buffer.slice(0, mapping.batchSize);
        buffer = buffer.slice(batch.length);
        const shardCheckpointed = await processBatch(deps, shardId, batch, laneCheckpoints);
        if (signal.aborted) break;
        const last = batch[batch.length - 1]!;
        if (!shardCheckpointed) await commitCheckpoints(deps, (tx) => tx.setCheckpoint(consumer, mapping.stream, shardId, last.sequenceNumber));
        deps.stats.iteratorAgeMs = Math.max(0, deps.now() - last.arrivalTime);
      } else if (ended) {
        if (endingSequenceNumber !== undefined) {
          await commitCheckpoints(deps, (tx) => tx.setCheckpoint(consumer, mapping.stream, shardId, endingSequenceNumber));
        }
        return true;
      }
    }
    return false;
  } finally {
    subscription.close();
  }
}

function lowestLaneStart(lanes: readonly (string | undefined)[]): StartPosition | undefined {
  // Only when every lane has a checkpoint can reading start after the lowest; otherwise a lane may still need older records.
  if (lanes.some((l) => l === undefined)) return undefined;
  const lowest = [...(lanes as string[])].sort()[0]!;
  return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lowest };
}

function startFor(sp: ResolvedMapping['startingPosition']): StartPosition {
  if (sp === 'LATEST') return { type: 'LATEST' };
  if (sp === 'TRIM_HORIZON') return { type: 'TRIM_HORIZON' };
  return { type: 'AT_TIMESTAMP', timestamp: sp.timestamp };
}

/**
 * Splits a batch into worker lanes and delivers them concurrently; each lane keeps its records' order.
 * Returns true when the shard checkpoint for the whole batch was already committed with the handler's effects.
 */
async function processBatch(deps: ShardWorkerDeps, shardId: string, batch: readonly StoredRecord[], laneCheckpoints: (string | undefined)[]): Promise<boolean> {
  const workers: LaneItem[][] = Array.from({ length: deps.mapping.parallelizationFactor }, () => []);
  const place = (r: StoredRecord, item: LaneItem) => {
    const v = laneOf(r.partitionKey);
    const done = laneCheckpoints[v];
    if (done !== undefined && r.sequenceNumber <= done) {
      deps.stats.recordsSkippedAsDone++;
      return;
    }
    workers[v % workers.length]!.push(item);
  };
  for (const r of batch) {
    if (!isKplAggregate(r.data)) {
      place(r, toFunctionRecord(deps.mapping.stream, shardId, r));
      continue;
    }
    // A KPL aggregate: each user record goes to the lane of its own partition key. The batch holds the whole
    // aggregate, and a lane checkpoint at its sequence number means all of the lane's user records in it are done.
    const expanded = deaggregate(r);
    if (!expanded.ok) place(r, { malformed: toFunctionRecord(deps.mapping.stream, shardId, r), reason: expanded.reason });
    else for (const u of expanded.records) place(u, toFunctionRecord(deps.mapping.stream, shardId, u));
  }
  const busy = workers.filter((w) => w.length > 0);
  // One worker holding the batch's last record: when its handler commits through that record, every lane is done
  // through it, so the shard checkpoint joins that transaction instead of costing a second commit (and fsync).
  const last = batch[batch.length - 1]!.sequenceNumber;
  const lastItem = busy.length === 1 ? busy[0]![busy[0]!.length - 1]! : undefined;
  const shard = { at: lastItem !== undefined && !('malformed' in lastItem) && lastItem.sequenceNumber === last ? last : undefined, committed: false };
  // Every lane ends before a failure is thrown on: a lane refused its commit (LEASE_LOST) must not leave others running.
  const lanes = await Promise.allSettled(busy.map((w) => deliverLane(deps, shardId, w, laneCheckpoints, shard)));
  const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failed) throw failed.reason;
  return shard.committed;
}

/** A record for a handler, or a KPL aggregate that cannot be read, which goes to the on-failure destination instead. */
type LaneItem = FunctionRecord | { readonly malformed: FunctionRecord; readonly reason: string };

/** Delivers one worker's records in order; a malformed aggregate among them is given up on in its place. */
async function deliverLane(deps: ShardWorkerDeps, shardId: string, items: readonly LaneItem[], laneCheckpoints: (string | undefined)[], shard: ShardCheckpoint): Promise<void> {
  let run: FunctionRecord[] = [];
  for (const item of items) {
    if (!('malformed' in item)) {
      run.push(item);
      continue;
    }
    if (run.length > 0) await deliver(deps, shardId, run, 1, laneCheckpoints, shard);
    run = [];
    if (deps.signal.aborted) return;
    await giveUp(deps, shardId, [item.malformed], 0, `malformed KPL aggregated record: ${item.reason}`, laneCheckpoints);
  }
  if (run.length > 0) await deliver(deps, shardId, run, 1, laneCheckpoints, shard);
}

/** The shard checkpoint a delivery may commit with the handler's effects (see processBatch). */
interface ShardCheckpoint {
  readonly at: string | undefined;
  committed: boolean;
}


/** Commits lane checkpoints for `records` (those up to `through`) inside `tx`. */
async function checkpointLanes(deps: ShardWorkerDeps, tx: StoreTx, shardId: string, records: readonly FunctionRecord[], through: string, laneCheckpoints: (string | undefined)[]): Promise<() => void> {
  const lanes = laneCheckpointWrites(records, through);
  const consumer = consumerName(deps.mapping.name);
  for (const { lane, sequenceNumber } of lanes) await tx.setCheckpoint(consumer, deps.mapping.stream, `${shardId}/${lane}`, sequenceNumber);
  // The in-memory copy changes only once the transaction has committed.
  return () => {
    for (const { lane, sequenceNumber } of lanes) laneCheckpoints[lane] = sequenceNumber;
  };
}


/**
 * Delivers records (one lane, in order) until each is done or given up on. A handler error retries the
 * batch after a backoff, or with bisection splits it in two; the limits on attempts and record age decide
 * when a batch goes to the on-failure destination, so a poison record never stalls a shard forever.
 */
async function deliver(
  deps: ShardWorkerDeps,
  shardId: string,
  initial: readonly FunctionRecord[],
  firstAttempt: number,
  laneCheckpoints: (string | undefined)[],
  shard?: ShardCheckpoint,
): Promise<void> {
  const { mapping, stats, store, signal } = deps;
  let records = initial;
  let attempt = firstAttempt;
  while (records.length > 0 && !signal.aborted) {
    const oldest = records[0]!.arrivalTime;
    if (mapping.maximumRecordAgeSeconds >= 0 && deps.now() - oldest > mapping.maximumRecordAgeSeconds * 1000 && attempt > 1) {
      await giveUp(deps, shardId, records, attempt - 1, 'maximum record age exceeded', laneCheckpoints);
      return;
    }
    let committedThrough: string | undefined;
    const consumer = consumerName(mapping.name);
    const checkpoints: InvocationCheckpoints = {
      target: { consumer, stream: mapping.stream, shardId, ...(shard?.at === undefined ? {} : { shardAt: shard.at }), ...(deps.lease === undefined ? {} : { lease: deps.lease }) },
      committed(through) {
        for (const { lane, sequenceNumber } of laneCheckpointWrites(records, through)) laneCheckpoints[lane] = sequenceNumber;
        if (shard?.at !== undefined && through === shard.at) shard.committed = true;
        committedThrough = through;
      },
      async settleFromStore() {
        // Lanes whose stored checkpoint moved past what this invocation started from: its commit happened.
        let through: string | undefined;
        for (const r of records) {
          const stored = (await store.getCheckpoint(consumer, mapping.stream, `${shardId}/${laneOf(r.partitionKey)}`))?.sequenceNumber;
          const before = laneCheckpoints[laneOf(r.partitionKey)];
          if (stored !== undefined && stored >= r.sequenceNumber && (before === undefined || stored > before)) through = maxSeq(through, r.sequenceNumber);
        }
        if (through !== undefined) checkpoints.committed(through);
        return through;
      },
    };
    // The batch is counted only once the handler's commit, if it asked for one, has settled.
    const invocation = invocationTransact({
      store,
      target: checkpoints.target,
      records,
      batchEnd: records[records.length - 1]!.sequenceNumber,
      committed: (through) => checkpoints.committed(through),
    });
    const context: FunctionContext & { [INVOCATION_CHECKPOINTS]: InvocationCheckpoints } = {
      mapping: mapping.name,
      attempt,
      logger: deps.logger,
      tables: store,
      transact: invocation.transact,
      [INVOCATION_CHECKPOINTS]: checkpoints,
    };
    stats.invocations++;
    let failedAt: string | undefined;
    let error: unknown;
    try {
      const result: HandlerResult = await mapping.handler({ mapping: mapping.name, stream: mapping.stream, shardId, records }, context);
      // A transact the handler did not await, or whose failure it swallowed: the batch is done only if it committed.
      await invocation.pending();
      failedAt = firstFailure(result, records);
    } catch (err) {
      error = err;
      failedAt = records[0]!.sequenceNumber;
      stats.lastFailure = { at: deps.now(), message: err instanceof Error ? err.message : String(err), ...(err instanceof TollstreamError ? { code: err.code } : {}) };
    }
    // A handler may throw with its transact still under way: what it commits counts, so wait for it.
    const commit = invocation.pending();
    const commitError: unknown = commit === undefined ? undefined : await commit.then(() => undefined, (err: unknown) => err);
    // The lease moved to another node: nothing was committed, and retrying here would only be refused again.
    if (leaseLost(error) || leaseLost(commitError)) throw leaseLost(commitError) ? commitError : error;
    if (error === undefined && failedAt !== undefined) stats.lastFailure = { at: deps.now(), message: `batch item failure at ${failedAt}` };
    // Whatever the handler committed is done; whatever before the first failure succeeded is done too.
    const doneThrough = maxSeq(committedThrough, failedAt === undefined ? records[records.length - 1]!.sequenceNumber : previousSeq(records, failedAt));
    if (doneThrough !== undefined && doneThrough !== committedThrough) {
      const apply = await commitCheckpoints(deps, (tx) => checkpointLanes(deps, tx, shardId, records, doneThrough, laneCheckpoints));
      apply();
    }
    const remaining = doneThrough === undefined ? records : records.filter((r) => r.sequenceNumber > doneThrough);
    stats.recordsProcessed += records.length - remaining.length;
    if (remaining.length === 0) return;

    stats.errors++;
    deps.logger.warn('function invocation failed', {
      mapping: mapping.name,
      shardId,
      attempt,
      firstSequenceNumber: remaining[0]!.sequenceNumber,
      records: remaining.length,
      error: error instanceof Error ? error : error === undefined ? 'batch item failure' : String(error),
    });
    const half = mapping.bisectBatchOnFunctionError ? bisectionPoint(remaining) : undefined;
    if (half !== undefined) {
      stats.retries++;
      await deliver(deps, shardId, remaining.slice(0, half), attempt + 1, laneCheckpoints);
      await deliver(deps, shardId, remaining.slice(half), attempt + 1, laneCheckpoints);
      return;
    }
    if (mapping.maximumRetryAttempts >= 0 && attempt > mapping.maximumRetryAttempts) {
      await giveUp(deps, shardId, remaining, attempt, error instanceof Error ? error.message : 'batch item failure', laneCheckpoints);
      return;
    }
    stats.retries++;
    const backoff = Math.min(mapping.retryMaxDelayMs, mapping.retryBaseDelayMs * 2 ** (attempt - 1));
    await delay(backoff * (0.5 + Math.random() / 2), signal);
    records = remaining;
    attempt++;
  }
}

/**
 * Where to split a failed batch in two, or undefined when it cannot be split: never between user records of one
 * KPL aggregate, since they share the sequence number a lane checkpoint records.
 */
function bisectionPoint(records: readonly FunctionRecord[]): number | undefined {
  if (records.length < 2) return undefined;
  const same = (i: number) => records[i]!.sequenceNumber === records[i - 1]!.sequenceNumber;
  let at = Math.ceil(records.length / 2);
  while (at < records.length && same(at)) at++;
  if (at === records.length) {
    at = Math.ceil(records.length / 2);
    while (at > 0 && same(at)) at--;
  }
  return at > 0 && at < records.length ? at : undefined;
}

function firstFailure(result: HandlerResult, records: readonly FunctionRecord[]): string | undefined {
  const failures = result?.batchItemFailures;
  if (!failures || failures.length === 0) return undefined;
  const ids = new Set(records.map((r) => r.sequenceNumber));
  let first: string | undefined;
  for (const f of failures) {
    // An identifier that is not in the batch makes the whole batch fail, as Lambda does.
    if (!ids.has(f.itemIdentifier)) return records[0]!.sequenceNumber;
    if (first === undefined || f.itemIdentifier < first) first = f.itemIdentifier;
  }
  return first;
}

function previousSeq(records: readonly FunctionRecord[], seq: string): string | undefined {
  let prev: string | undefined;
  for (const r of records) {
    if (r.sequenceNumber >= seq) break;
    prev = r.sequenceNumber;
  }
  return prev;
}

function maxSeq(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

async function giveUp(deps: ShardWorkerDeps, shardId: string, records: readonly FunctionRecord[], attempts: number, reason: string, laneCheckpoints: (string | undefined)[]): Promise<void> {
  const { mapping, log, stats } = deps;
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const details = {
    requestContext: { mapping: mapping.name, condition: reason, approximateInvokeCount: attempts },
    stream: mapping.stream,
    shardId,
    startSequenceNumber: first.sequenceNumber,
    endSequenceNumber: last.sequenceNumber,
    approximateArrivalOfFirstRecord: new Date(first.arrivalTime).toISOString(),
    approximateArrivalOfLastRecord: new Date(last.arrivalTime).toISOString(),
    batchSize: records.length,
    // The range may hold records of other lanes that were done: a redrive takes only these lanes' records.
    virtualLanes: [...new Set(records.map((r) => laneOf(r.partitionKey)))].sort((a, b) => a - b),
    timestamp: new Date(deps.now()).toISOString(),
  };
  if (mapping.onFailure) {
    // Written before the checkpoint moves: a crash in between sends the details again, with the same idempotency key.
    await log.append(mapping.onFailure.stream, [
      {
        data: new TextEncoder().encode(JSON.stringify(details)),
        partitionKey: `${mapping.name}/${shardId}`,
        idempotencyKey: `${mapping.name}/${shardId}/${first.sequenceNumber}-${last.sequenceNumber}`,
      },
    ]);
  }
  deps.logger.error('function gave up on records', { ...details, onFailure: mapping.onFailure?.stream ?? 'none (records skipped)' });
  const apply = await commitCheckpoints(deps, (tx) => checkpointLanes(deps, tx, shardId, records, last.sequenceNumber, laneCheckpoints));
  apply();
  stats.recordsSentToOnFailure += records.length;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

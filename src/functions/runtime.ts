/**
 * Runs event source mappings: one worker per shard, parents finished before their children so order per
 * partition key survives a reshard. A runtime runs every shard of each mapping, or (with `shards: 'assigned'`)
 * only the shards given to it, the shards whose lease its node holds (docs/cluster.md).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { LeaseToken } from '../leases/index.ts';
import { shardBacklog, type ShardDescription, type StreamLog } from '../log/index.ts';
import type { TableStore } from '../tables/index.ts';
import { resolveMapping, type ResolvedMapping } from './mapping.ts';
import { redriveBatch, redriveKey, wasRedriven, type GivenUpBatch } from './redrive.ts';
import { consumerName, runShard } from './shard-worker.ts';
import type { EventSourceMapping, MappingStats, ShardLag } from './types.ts';

export interface FunctionsRuntimeOptions {
  readonly log: StreamLog;
  /** Where handlers' transactions and the mappings' checkpoints commit (SQLite through `sqliteTableStore`, or PostgreSQL). */
  readonly store: TableStore;
  readonly logger?: Logger;
  readonly now?: () => number;
  /**
   * `all`: each mapping follows every shard of its stream, children once their parents are finished. `assigned`:
   * a mapping follows only the shards given with `assignShard` until `releaseShard` (the shards whose lease this
   * node holds), each from its stored checkpoint, a child once the stored checkpoints show its parents finished.
   * @default 'all'
   */
  readonly shards?: 'all' | 'assigned';
  /** With `shards: 'assigned'`: how often a shard waiting for its parents to finish checks again, in ms. @default 1000 */
  readonly parentPollMs?: number;
  /**
   * With `shards: 'assigned'`: every commit for a shard (the handler's state with its checkpoints, or checkpoints
   * alone) checks in its transaction that the lease the shard was assigned under (`assignShard`'s `lease`) is still
   * this node's, and is refused (`LEASE_LOST`) once another node took it; the shard's worker then stops. The store
   * must offer the check (`fenceCommits` on tables in PostgreSQL). @default false
   */
  readonly fenceCommits?: boolean;
}

/** A mapping running on this runtime: the consumer of `stream` whose shards `assignShard` gives out. */
export interface RunningMapping {
  readonly name: string;
  readonly stream: string;
}

interface Running {
  readonly mapping: ResolvedMapping;
  readonly stats: MappingStats;
  readonly controller: AbortController;
  /** Shard id -> its worker; resolves true when the shard is finished. */
  readonly shards: Map<string, Promise<boolean>>;
  /** With `shards: 'assigned'`: shard id -> what stops its worker alone. */
  readonly shardAborts: Map<string, AbortController>;
  readonly failures: unknown[];
}

export class FunctionsRuntime {
  private readonly running = new Map<string, Running>();
  /** Every mapping started and not forgotten, stopped ones too: their lag still grows while they are stopped. */
  private readonly known = new Map<string, ResolvedMapping>();
  private readonly logger: Logger;
  private readonly now: () => number;
  /**
   * With `shards: 'assigned'`: the shards assigned to each mapping on each stream (key `assignmentKey`), kept while a
   * mapping restarts (a function update); an update to another stream starts none of the old stream's.
   */
  private readonly assigned = new Map<string, Map<string, LeaseToken | undefined>>();
  /** Counts assignments (key `assignmentKey` and shard id): a worker ending finds whether its shard was assigned anew meanwhile. */
  private readonly assignments = new Map<string, number>();
  private readonly startListeners = new Set<(mapping: RunningMapping) => void>();
  /** Batches being redriven now (mapping and redrive key): a second request for one is refused, not run twice. */
  private readonly redriving = new Set<string>();

  constructor(private readonly options: FunctionsRuntimeOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /** Starts delivering the stream to the handler. The stream must exist. */
  async start(mapping: EventSourceMapping): Promise<void> {
    const resolved = resolveMapping(mapping);
    if (this.running.has(resolved.name)) {
      throw new TollstreamError('INVALID_ARGUMENT', `event source mapping '${resolved.name}' is already running`, { context: { mapping: resolved.name } });
    }
    await this.options.log.describeStream(resolved.stream);
    if (resolved.onFailure) await this.options.log.describeStream(resolved.onFailure.stream);
    const run: Running = {
      mapping: resolved,
      stats: {
        name: resolved.name,
        stream: resolved.stream,
        invocations: 0,
        errors: 0,
        retries: 0,
        recordsProcessed: 0,
        recordsSkippedAsDone: 0,
        recordsSentToOnFailure: 0,
        iteratorAgeMs: 0,
      },
      controller: new AbortController(),
      shards: new Map(),
      shardAborts: new Map(),
      failures: [],
    };
    this.running.set(resolved.name, run);
    this.known.set(resolved.name, resolved);
    if (this.options.shards !== 'assigned') {
      await this.discover(run);
      return;
    }
    for (const shardId of this.assigned.get(assignmentKey(resolved.name, resolved.stream))?.keys() ?? []) this.startAssigned(run, shardId);
    for (const listener of this.startListeners) listener({ name: resolved.name, stream: resolved.stream });
  }

  /** The on-failure destinations of the mappings started and not forgotten: where their dead letters are. */
  onFailureStreams(): Array<{ readonly mapping: string; readonly stream: string; readonly onFailure: string }> {
    return [...this.known.values()].flatMap((m) => (m.onFailure ? [{ mapping: m.name, stream: m.stream, onFailure: m.onFailure.stream }] : []));
  }

  /** Whether this runtime runs (or ran) mapping `name`, so its dead letters are its to redrive. */
  knows(name: string): boolean {
    return this.known.has(name);
  }

  /** True once a batch the mapping gave up on was sent to its handler again and done (`redrive`). */
  wasRedriven(batch: GivenUpBatch): Promise<boolean> {
    return wasRedriven(this.options.store, batch);
  }

  /**
   * Sends a batch that mapping `batch.mapping` gave up on to its handler once more (see redrive.ts); resolves with
   * the number of records it was given. A batch is redriven one at a time, and only once; on a runtime whose commits
   * are fenced, only by the node holding the lease of its shard (LEASE_NOT_HELD otherwise).
   */
  async redrive(batch: GivenUpBatch): Promise<number> {
    const mapping = this.known.get(batch.mapping);
    if (!mapping) throw new TollstreamError('NOT_FOUND', `there is no event source mapping '${batch.mapping}' on this server`, { context: { mapping: batch.mapping } });
    if (mapping.stream !== batch.stream) {
      throw new TollstreamError('CONDITION_FAILED', `'${batch.mapping}' reads '${mapping.stream}' now, not '${batch.stream}': the batch cannot be sent to it again`, { context: { mapping: batch.mapping, stream: batch.stream } });
    }
    const lease = this.redriveLease(mapping, batch.shardId);
    const key = `${batch.mapping}\u0000${redriveKey(batch)}`;
    if (this.redriving.has(key)) throw new TollstreamError('CONDITION_FAILED', `this batch of '${batch.mapping}' is being sent again right now`, { context: { mapping: batch.mapping } });
    this.redriving.add(key);
    try {
      return await redriveBatch({ log: this.options.log, store: this.options.store, mapping, logger: this.logger.child({ mapping: mapping.name }), ...(lease === undefined ? {} : { lease }) }, batch);
    } finally {
      this.redriving.delete(key);
    }
  }

  /**
   * On a runtime whose commits are fenced: the lease of the shard this node holds, under which a redrive of one of
   * its batches runs (so it never runs on two nodes at once, nor beside another node working the shard). Refused with
   * LEASE_NOT_HELD when this node does not hold it: the node that does is where the redrive goes.
   */
  private redriveLease(mapping: ResolvedMapping, shardId: string): LeaseToken | undefined {
    if (!this.options.fenceCommits) return undefined;
    const lease = this.assigned.get(assignmentKey(mapping.name, mapping.stream))?.get(shardId);
    if (lease === undefined) {
      throw new TollstreamError('LEASE_NOT_HELD', `this node does not hold the lease of '${mapping.name}' on ${shardId}: a batch is sent again by the node that holds it`, {
        context: { mapping: mapping.name, stream: mapping.stream, shardId },
      });
    }
    return lease;
  }

  /** The mappings running now: with `shards: 'assigned'`, the consumers whose shards are given out. */
  mappings(): RunningMapping[] {
    return [...this.running.values()].map((r) => ({ name: r.mapping.name, stream: r.mapping.stream }));
  }

  /** Calls `listener` whenever a mapping starts (with `shards: 'assigned'`, so its shards can be given out at once). Returns the unsubscribe. */
  onMappingStarted(listener: (mapping: RunningMapping) => void): () => void {
    this.startListeners.add(listener);
    return () => {
      this.startListeners.delete(listener);
    };
  }

  /**
   * With `shards: 'assigned'`: mapping `name` follows `shardId` of `stream` from its stored checkpoint, once the
   * stored checkpoints show the shard's parents finished; now if the mapping runs on `stream`, else when it does.
   * `lease` is the shard's lease as this node took it; with `fenceCommits`, every commit for the shard checks it.
   */
  async assignShard(name: string, stream: string, shardId: string, lease?: LeaseToken): Promise<void> {
    if (this.options.shards !== 'assigned') {
      throw new TollstreamError('INVALID_ARGUMENT', 'this functions runtime runs every shard; only shards: \'assigned\' takes assignments', { context: { mapping: name, stream, shardId } });
    }
    if (this.options.fenceCommits && lease === undefined) {
      throw new TollstreamError('INVALID_ARGUMENT', 'this functions runtime fences its commits: a shard is assigned with its lease', { context: { mapping: name, stream, shardId } });
    }
    const key = assignmentKey(name, stream);
    let shards = this.assigned.get(key);
    if (!shards) this.assigned.set(key, (shards = new Map()));
    shards.set(shardId, lease);
    this.assignments.set(`${key}\u0000${shardId}`, (this.assignments.get(`${key}\u0000${shardId}`) ?? 0) + 1);
    const run = this.running.get(name);
    if (run?.mapping.stream === stream) this.startAssigned(run, shardId);
  }

  /**
   * Stops mapping `name` on `shardId` of `stream`: resolves once its worker has stopped, an invocation in flight included,
   * so nothing of this runtime commits for the shard afterwards. Whoever follows it next starts from the
   * stored checkpoint.
   */
  async releaseShard(name: string, stream: string, shardId: string): Promise<void> {
    if (!this.assigned.get(assignmentKey(name, stream))?.delete(shardId)) return;
    const run = this.running.get(name);
    const worker = run?.mapping.stream === stream ? run.shards.get(shardId) : undefined;
    if (!run || !worker) return;
    run.shardAborts.get(shardId)?.abort();
    await worker.catch(() => false);
    if (run.shards.get(shardId) === worker) {
      run.shards.delete(shardId);
      run.shardAborts.delete(shardId);
    }
  }

  /** Stops one mapping, or all; waits for invocations in flight. */
  async stop(name?: string): Promise<void> {
    const runs = name === undefined ? [...this.running.values()] : [this.running.get(name)].filter((r): r is Running => r !== undefined);
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.flatMap((run) => [...run.shards.values()].map((p) => p.catch(() => false))));
    for (const run of runs) this.running.delete(run.mapping.name);
  }

  stats(): MappingStats[] {
    return [...this.running.values()].map((r) => ({ ...r.stats }));
  }

  /** Leaves a mapping that will not run again (a deleted function) out of `lag`. */
  forget(name: string): void {
    if (!this.running.has(name)) this.known.delete(name);
  }

  /**
   * How many records each mapping started on this runtime, running or stopped, is behind, per shard of its
   * stream: the records the log holds after the mapping's committed shard checkpoint. A shard without a
   * checkpoint counts from its oldest record for a TRIM_HORIZON mapping and is left out otherwise (a LATEST or
   * timestamp start has no position before its first record). Empty when the log cannot count records cheaply.
   */
  async lag(): Promise<ShardLag[]> {
    const { log, store } = this.options;
    if (!log.recordsAfter) return [];
    const counting = { read: log.read.bind(log), recordsAfter: log.recordsAfter.bind(log) };
    const out: ShardLag[] = [];
    for (const mapping of this.known.values()) {
      let shards: readonly ShardDescription[];
      try {
        shards = (await log.describeStream(mapping.stream)).shards;
      } catch (err) {
        if (err instanceof TollstreamError && err.code === 'STREAM_NOT_FOUND') continue;
        throw err;
      }
      for (const shard of shards) {
        const checkpoint = (await store.getCheckpoint(consumerName(mapping.name), mapping.stream, shard.shardId))?.sequenceNumber;
        if (checkpoint === undefined && mapping.startingPosition !== 'TRIM_HORIZON') continue;
        out.push({ mapping: mapping.name, stream: mapping.stream, shardId: shard.shardId, ...(await shardBacklog(counting, mapping.stream, shard.shardId, checkpoint)) });
      }
    }
    return out;
  }

  /** Starts a worker for every shard not yet started; a child waits for its parents. */
  private async discover(run: Running): Promise<void> {
    if (run.controller.signal.aborted) return;
    const description = await this.options.log.describeStream(run.mapping.stream);
    const byId = new Map(description.shards.map((s) => [s.shardId, s]));
    for (const shard of description.shards) this.startShard(run, shard, byId);
  }

  private startShard(run: Running, shard: ShardDescription, byId: ReadonlyMap<string, ShardDescription>): Promise<boolean> {
    const existing = run.shards.get(shard.shardId);
    if (existing) return existing;
    const parents = shard.parentShardIds
      .map((id) => byId.get(id))
      .filter((p): p is ShardDescription => p !== undefined)
      .map((p) => this.startShard(run, p, byId));
    const signal = run.controller.signal;
    const worker = (async () => {
      const finished = await Promise.all(parents);
      if (!finished.every(Boolean) || signal.aborted) return false;
      const done = await this.runWorker(run, shard, signal);
      if (done && !signal.aborted) {
        // A closed shard has children: look them up (they may be newer than our last look) and start them.
        void this.discover(run).catch((err: unknown) => this.fail(run, err));
      }
      return done;
    })();
    worker.catch((err: unknown) => this.fail(run, err));
    run.shards.set(shard.shardId, worker);
    return worker;
  }

  /**
   * Starts the worker of an assigned shard (unless it runs), which waits until its parents are finished. A shard
   * assigned again while its worker still stops (a lease lost and taken back) gets a new worker once the old one
   * ended; a passing failure (the log or the tables out of reach for a moment) starts the shard again from its
   * checkpoint, since nobody else works it while this node holds the lease.
   */
  private startAssigned(run: Running, shardId: string): void {
    if (run.shards.has(shardId) || run.controller.signal.aborted) return;
    const control = new AbortController();
    const signal = AbortSignal.any([run.controller.signal, control.signal]);
    const key = assignmentKey(run.mapping.name, run.mapping.stream);
    const lease = this.options.fenceCommits ? this.assigned.get(key)?.get(shardId) : undefined;
    const assignment = this.assignments.get(`${key}\u0000${shardId}`);
    let moved = false;
    const worker = (async () => {
      while (!signal.aborted) {
        const description = await this.options.log.describeStream(run.mapping.stream);
        const shard = description.shards.find((s) => s.shardId === shardId);
        if (!shard) {
          this.logger.warn('an assigned shard is not in the stream (any more); nothing to follow', { mapping: run.mapping.name, shardId });
          return false;
        }
        if (!(await this.parentsFinished(run.mapping, shard, description.shards))) {
          await sleep(this.options.parentPollMs ?? 1000, undefined, { signal }).catch(() => undefined);
          continue;
        }
        try {
          return await this.runWorker(run, shard, signal, lease);
        } catch (err) {
          if (isTollstreamError(err, 'LEASE_LOST')) {
            // Said once: the lease coordinator finds the lease gone at its next renewal and releases the shard.
            this.logger.warn('a commit was refused because another node holds the shard\'s lease now; this node stops working the shard', { mapping: run.mapping.name, shardId, lease: err.context.key, epoch: err.context.epoch });
            moved = true;
            return false;
          }
          if (!isTollstreamError(err) || !err.retriable || signal.aborted) throw err;
          this.logger.warn('a shard\'s worker failed for a passing reason; starting it again from its checkpoint', { mapping: run.mapping.name, shardId, err });
          await sleep(this.options.parentPollMs ?? 1000, undefined, { signal }).catch(() => undefined);
        }
      }
      return false;
    })();
    worker.catch((err: unknown) => this.fail(run, err));
    // A worker stopped (by a release or a refused commit) makes room for the next assignment of the shard, and
    // starts it if it came while the worker was stopping.
    void worker.then(() => {
      if ((!moved && !control.signal.aborted) || run.shards.get(shardId) !== worker) return;
      run.shards.delete(shardId);
      run.shardAborts.delete(shardId);
      const again = this.assigned.get(key)?.has(shardId) && this.assignments.get(`${key}\u0000${shardId}`) !== assignment;
      if (again && this.running.get(run.mapping.name) === run) this.startAssigned(run, shardId);
    }, () => undefined);
    run.shards.set(shardId, worker);
    run.shardAborts.set(shardId, control);
  }

  /** Whether the stored checkpoints hold each parent of `shard` still in the stream read to its end (whichever runtime read it). */
  private async parentsFinished(mapping: ResolvedMapping, shard: ShardDescription, shards: readonly ShardDescription[]): Promise<boolean> {
    const consumer = consumerName(mapping.name);
    for (const id of shard.parentShardIds) {
      const parent = shards.find((s) => s.shardId === id);
      if (!parent) continue; // gone by retention
      const checkpoint = (await this.options.store.getCheckpoint(consumer, mapping.stream, id))?.sequenceNumber;
      if (parent.endingSequenceNumber === undefined || checkpoint === undefined || checkpoint < parent.endingSequenceNumber) return false;
    }
    return true;
  }

  private runWorker(run: Running, shard: ShardDescription, signal: AbortSignal, lease?: LeaseToken): Promise<boolean> {
    const deps = {
      log: this.options.log,
      store: this.options.store,
      logger: this.logger.child({ mapping: run.mapping.name, shardId: shard.shardId }),
      mapping: run.mapping,
      stats: run.stats,
      signal,
      now: this.now,
      ...(lease === undefined ? {} : { lease }),
    };
    return runShard(deps, shard.shardId, shard.endingSequenceNumber);
  }

  private fail(run: Running, err: unknown): void {
    if (run.controller.signal.aborted) return;
    run.failures.push(err);
    this.logger.error('function worker stopped on an error', { mapping: run.mapping.name, error: err instanceof Error ? err : String(err) });
  }
}

function assignmentKey(mapping: string, stream: string): string {
  return `${mapping}\u0000${stream}`;
}

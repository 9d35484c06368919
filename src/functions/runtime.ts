/**
 * Runs event source mappings: one worker per shard, parents finished before their children so order per
 * partition key survives a reshard.
 */
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ShardDescription, StreamLog } from '../log/index.ts';
import type { TableStore } from '../tables/index.ts';
import { resolveMapping, type ResolvedMapping } from './mapping.ts';
import { consumerName, runShard } from './shard-worker.ts';
import type { EventSourceMapping, MappingStats, ShardLag } from './types.ts';

export interface FunctionsRuntimeOptions {
  readonly log: StreamLog;
  /** Where handlers' transactions and the mappings' checkpoints commit (SQLite through `sqliteTableStore`, or PostgreSQL). */
  readonly store: TableStore;
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface Running {
  readonly mapping: ResolvedMapping;
  readonly stats: MappingStats;
  readonly controller: AbortController;
  /** Shard id -> its worker; resolves true when the shard is finished. */
  readonly shards: Map<string, Promise<boolean>>;
  readonly failures: unknown[];
}

export class FunctionsRuntime {
  private readonly running = new Map<string, Running>();
  /** Every mapping started and not forgotten, stopped ones too: their lag still grows while they are stopped. */
  private readonly known = new Map<string, ResolvedMapping>();
  private readonly logger: Logger;
  private readonly now: () => number;

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
      failures: [],
    };
    this.running.set(resolved.name, run);
    this.known.set(resolved.name, resolved);
    await this.discover(run);
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
        out.push({ mapping: mapping.name, stream: mapping.stream, shardId: shard.shardId, records: log.recordsAfter(mapping.stream, shard.shardId, checkpoint) });
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
      const deps = { log: this.options.log, store: this.options.store, logger: this.logger.child({ mapping: run.mapping.name, shardId: shard.shardId }), mapping: run.mapping, stats: run.stats, signal, now: this.now };
      const done = await runShard(deps, shard.shardId, shard.endingSequenceNumber);
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

  private fail(run: Running, err: unknown): void {
    if (run.controller.signal.aborted) return;
    run.failures.push(err);
    this.logger.error('function worker stopped on an error', { mapping: run.mapping.name, error: err instanceof Error ? err : String(err) });
  }
}

/**
 * One query running live: its inputs (log streams), the engine run, its output writers, and the
 * checkpoint loop. A checkpoint puts barrier N into every input; once every task has reported its state for
 * N and the writers have appended every row delivered before, the states, the input positions at the
 * barriers and the writers' key counters are stored together, atomically. A restart restores the states,
 * resumes the inputs after the stored positions, and the rows it produces again carry the keys they had.
 *
 * The operators run here or on a query thread (query-threads.ts). On a thread, the main thread still reads
 * the inputs, puts in the barriers, appends the output and stores the checkpoint; batches cross in memory
 * and nothing on the thread is durable. The durable points are the same in both cases: the input streams,
 * the output streams (rows keyed for dedupe) and the stored checkpoint. The thread answers in order, so the
 * rows an output's sink task delivered before barrier N reach the output's writer before its snapshot for N,
 * and checkpoint N is stored only after those rows are appended: a crash anywhere re-reads the input after
 * checkpoint N's positions and produces the rows again with the keys they had (no loss, and the dedupe drops
 * what was already appended, so no double).
 */
import { TollstreamError, isTollstreamError, toTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { StoredRecord, StreamLog } from '../log/index.ts';
import type { ErrorRow, LivePlan } from '../sql/index.ts';
import { planLiveQuery, runLiveQuery } from '../sql/index.ts';
import { LiveInput } from './live-input.ts';
import { ReferenceFeed } from './reference-feed.ts';
import { SinkWriter } from './sink-writer.ts';
import type { QueryThreads, ThreadQuery } from './query-threads.ts';
import type { Checkpoint, LeaseFence, QueryDefinition, QueryState, QueryStateStore, QueryStats, SealedStates, ShardPositions } from './types.ts';

export interface RunSettings {
  readonly log: StreamLog;
  readonly store: QueryStateStore;
  /**
   * The lease this query's checkpoints are fenced by (a cluster): null when this node does not hold it, undefined
   * without leases (one node). Asked at every write.
   */
  readonly fence?: (query: string) => LeaseFence | null | undefined;
  readonly logger: Logger;
  readonly checkpointIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly batchSize: number;
  /** Output key counters are forgotten after this long (the output streams' dedupe window), ms. */
  readonly forgetAfterMs: number;
  readonly now: () => number;
  /** The directory file reference tables read from; undefined, none. */
  readonly referenceDir: string | undefined;
  /**
   * The query threads the operators run on; null, on the main thread. A query with a clock of its own
   * (`now` other than Date.now) runs on the main thread, since a function cannot cross to a thread.
   */
  readonly threads: QueryThreads | null;
  /**
   * Asked when the query fails: true when it will be started again (its state stays STARTING, with the error that
   * stopped it, until its next run replaces it). @default never
   */
  readonly restartAfter?: (err: TollstreamError) => boolean;
}

interface InFlight {
  readonly id: number;
  readonly startedAt: number;
  readonly states: Record<string, unknown>;
  readonly positions: Record<string, ShardPositions>;
  readonly sinks: Record<string, unknown>;
  /** What tasks on a query thread reported, still sealed (sealed-state.ts): opened by the store's checkpoint thread. */
  readonly sealed: SealedStates;
  reported: number;
  readonly done: Promise<void>;
  resolveReported: () => void;
  /** The run ended before every task reported: the checkpoint can never complete. */
  rejectReported: (err: unknown) => void;
}

export class RunningQuery {
  state: QueryState = 'STARTING';
  error: TollstreamError | null = null;
  plan: LivePlan | null = null;
  private inputs = new Map<string, LiveInput>();
  private referenceFeeds: ReferenceFeed[] = [];
  private writers = new Map<string, SinkWriter>();
  private errorWriter: SinkWriter | null = null;
  private sinkOfTask = new Map<string, string>();
  private sources: { readonly watermark: number }[] = [];
  private run: Promise<void> | null = null;
  /** The query's operators on a query thread; null when they run here. */
  private thread: ThreadQuery | null = null;
  /** The engine run is over (cancelled or failed): no barrier can pass any more. */
  private finished = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: InFlight | null = null;
  private lastId = 0;
  /** `activity()` when the last checkpoint's barriers went in. */
  private checkpointedActivity = -1;
  private lastCheckpoint: QueryStats['lastCheckpoint'] = null;
  /** The input positions of the last stored checkpoint (input stream -> shard -> position); null before the first. */
  committedPositions: Readonly<Record<string, ShardPositions>> | null = null;
  private rowsIn = 0;
  private lateRows = 0;
  private errorCount = 0;
  private sample = { at: 0, rowsIn: 0, rowsOut: 0 };
  private rates = { rowsIn: 0, rowsOut: 0 };
  readonly errorCounts: Record<string, number> = {};

  constructor(
    readonly def: QueryDefinition,
    private readonly settings: RunSettings,
  ) {}

  private addErrorRow(row: ErrorRow): void {
    this.errorCount++;
    if (row.ERROR_NAME === 'LATE_ROW') this.lateRows++;
    this.errorCounts[row.ERROR_NAME] = (this.errorCounts[row.ERROR_NAME] ?? 0) + 1;
    this.errorWriter!.addError({ ...row }, this.settings.now());
  }

  private streamOf(input: string): string {
    return this.def.inputs[input] ?? input;
  }

  /** Plans, restores the last checkpoint if any, opens the inputs and starts the engine. */
  async start(): Promise<void> {
    const { log, store, logger } = this.settings;
    const { threads } = this.settings;
    const onThread = threads !== null && this.settings.now === Date.now;
    // On a thread, the thread reads the file reference tables' rows and reloads them: the plan here only checks the files.
    const plan = await planLiveQuery({ sql: this.def.sql, inferred: this.def.inferred, idleTimeoutMs: this.settings.idleTimeoutMs, now: this.settings.now, referenceDir: this.settings.referenceDir, readFileRows: !onThread });
    this.plan = plan;
    const checkpoint = await store.loadCheckpoint(this.def.name, this.settings.fence?.(this.def.name));
    if (checkpoint) {
      this.lastId = checkpoint.id;
      this.committedPositions = checkpoint.positions;
    }
    const waitForRoom = async () => {
      for (const w of this.writers.values()) await w.waitForRoom();
    };
    for (const o of plan.outputs) {
      const writer = new SinkWriter({
        log, stream: this.def.outputs[o.name] ?? o.name, query: this.def.name, output: o.name, keys: o.keys,
        forgetAfterMs: this.settings.forgetAfterMs, restore: checkpoint?.sinks[o.name], logger,
      });
      this.writers.set(o.name, writer);
      this.sinkOfTask.set(o.sinkTaskId, o.name);
    }
    this.errorWriter = new SinkWriter({ log, stream: this.def.errorStream, query: this.def.name, output: 'errors', keys: null, forgetAfterMs: this.settings.forgetAfterMs, logger });
    if (onThread) {
      this.thread = threads.open(
        {
          query: this.def.name, sql: this.def.sql, inferred: this.def.inferred, idleTimeoutMs: this.settings.idleTimeoutMs, referenceDir: this.settings.referenceDir,
          batchSize: this.settings.batchSize, forgetAfterMs: this.settings.forgetAfterMs, restoreStates: checkpoint?.states, restoreSinks: checkpoint?.sinks,
        },
        {
          rows: (output, records) => this.writers.get(output)!.addEncoded(records),
          emittedUpTo: (output, time) => this.writers.get(output)!.markEmittedUpTo(time),
          error: (row) => this.addErrorRow(row),
          snapshot: (taskId, id, state, sink) => this.onSealedSnapshot(taskId, id, state, sink),
          records: (count) => {
            this.rowsIn += count;
          },
          reload: (event) => this.referenceReloaded(event),
          referenceRejected: (table, sequenceNumber, problem) => this.referenceFeeds.find((f) => f.ref.name === table)?.rejectedOnThread(sequenceNumber, problem),
        },
      );
      await this.thread.planned;
    }
    for (const input of plan.inputs) {
      const stream = this.streamOf(input);
      const li = new LiveInput(log, stream, checkpoint?.positions[stream] ?? null, {
        ...(this.def.startAt === undefined ? {} : { startAt: this.def.startAt }),
        waitForRoom,
        logger,
        onMalformedAggregate: (shardId, record, reason) => this.addErrorRow(malformedAggregateRow(stream, shardId, record, reason, this.settings.now())),
      });
      this.inputs.set(input, li);
    }
    // Stream-backed reference tables are read whole before any fact row (after a restart too: they are not checkpointed).
    for (const ref of plan.referenceStreams) {
      const thread = this.thread;
      const feed = new ReferenceFeed(log, ref, logger, this.def.name, thread ? (record, sequenceNumber) => thread.reference(ref.name, record, sequenceNumber) : undefined);
      this.referenceFeeds.push(feed);
      try {
        await feed.load();
      } catch (err) {
        for (const f of this.referenceFeeds) f.close();
        throw new TollstreamError(isTollstreamError(err, 'STREAM_NOT_FOUND') ? 'STREAM_NOT_FOUND' : 'INTERNAL', `query "${this.def.name}" cannot read reference table ${ref.name} from stream "${ref.stream}": ${(err as Error).message}`, {
          context: { query: this.def.name, table: ref.name, stream: ref.stream },
          cause: err,
        });
      }
    }
    for (const li of this.inputs.values()) await li.open();
    if (this.thread) {
      this.sources = this.thread.sources;
      this.run = this.thread.run(this.inputs);
    } else {
      this.run = runLiveQuery(plan, {
        inputs: this.inputs,
        restoreFrom: checkpoint?.states,
        batchSize: this.settings.batchSize,
        onSnapshot: (taskId, id, state) => this.onSnapshot(taskId, id, state, () => this.writers.get(this.sinkOfTask.get(taskId)!)!.snapshot(this.settings.now())),
        deliver: (stream, rows) => this.writers.get(stream)!.addRows(rows, this.settings.now()),
        onEmittedUpTo: (stream, time) => this.writers.get(stream)!.markEmittedUpTo(time),
        onError: (row) => this.addErrorRow(row),
        onReferenceReload: (event) => this.referenceReloaded(event),
        onSource: (_input, task) => {
          this.sources.push(task);
        },
        onRecords: (_input, records) => {
          this.rowsIn += records;
        },
      });
    }
    this.run.then(
      () => this.ended(null),
      (err: unknown) => this.ended(toTollstreamError(err)),
    );
    this.state = 'RUNNING';
    this.sample = { at: Date.now(), rowsIn: 0, rowsOut: 0 };
    this.timer = setInterval(() => this.tick(), this.settings.checkpointIntervalMs);
    this.timer.unref();
    logger.info('query started', { query: this.def.name, restoredCheckpoint: checkpoint?.id ?? null, thread: this.thread !== null });
  }

  private referenceReloaded(event: { table: string; rows?: number; path?: string; error?: string }): void {
    if (event.error !== undefined) this.settings.logger.warn('reference table reload failed; the previous rows stay in use', { query: this.def.name, ...event });
    else this.settings.logger.info('reference table reloaded', { query: this.def.name, ...event });
  }

  private ended(err: TollstreamError | null): void {
    this.finished = true;
    this.inFlight?.rejectReported(err ?? new TollstreamError('INTERNAL', `query "${this.def.name}" stopped before checkpoint ${this.inFlight.id} completed`, {}));
    if (this.state === 'STOPPING' || this.state === 'STOPPED') return;
    const failure = err ?? [...this.inputs.values()].map((i) => i.failure).find((f) => f !== null) ?? new TollstreamError('INTERNAL', 'the query stopped by itself', {});
    this.fail(failure);
  }

  private fail(err: TollstreamError): void {
    if (this.state === 'FAILED' || this.error !== null) return;
    this.error = err;
    if (this.timer) clearInterval(this.timer);
    for (const i of this.inputs.values()) i.cancel();
    this.thread?.cancel();
    for (const f of this.referenceFeeds) f.close();
    if (this.settings.restartAfter?.(err)) {
      this.state = 'STARTING';
      return;
    }
    this.state = 'FAILED';
    this.settings.logger.error('query failed', { query: this.def.name, err });
  }

  private tick(): void {
    const now = Date.now();
    const dt = (now - this.sample.at) / 1000;
    if (dt > 0) {
      const out = this.rowsOutTotal();
      this.rates = { rowsIn: (this.rowsIn - this.sample.rowsIn) / dt, rowsOut: (out - this.sample.rowsOut) / dt };
      this.sample = { at: now, rowsIn: this.rowsIn, rowsOut: out };
    }
    const failed = [...this.writers.values(), this.errorWriter!, ...this.referenceFeeds].find((w) => w.failure !== null);
    if (failed) return this.fail(failed.failure!);
    // A quiet query (nothing read, nothing written since the last checkpoint) skips the checkpoint and its fsyncs.
    const activity = this.activity();
    if (activity === this.checkpointedActivity) return;
    // A checkpoint refused while the query stops (its lease lost: LEASE_LOST) is no failure of the query.
    if (this.inFlight === null && this.state === 'RUNNING') void this.checkpoint().catch((err: unknown) => this.state === 'RUNNING' && this.fail(toTollstreamError(err)));
  }

  private activity(): number {
    let n = this.rowsIn + this.errorCount;
    for (const w of this.writers.values()) n += w.rowsAdded;
    return n;
  }

  private rowsOutTotal(): number {
    let n = 0;
    for (const w of this.writers.values()) n += w.rowsWritten;
    return n;
  }

  /** Takes one checkpoint and stores it; resolves once it is durable. */
  async checkpoint(): Promise<void> {
    if (this.inFlight) return this.inFlight.done;
    if (this.finished || this.run === null) throw new TollstreamError('INVALID_ARGUMENT', `query "${this.def.name}" is not running: no checkpoint can be taken`, { context: { query: this.def.name } });
    const id = this.lastId + 1;
    let resolveReported!: () => void;
    let rejectReported!: (err: unknown) => void;
    const reported = new Promise<void>((resolve, reject) => {
      resolveReported = resolve;
      rejectReported = reject;
    });
    const flight: Omit<InFlight, 'done'> & { done?: Promise<void> } = {
      id, startedAt: Date.now(), states: {}, positions: {}, sinks: {}, sealed: { states: {}, sinks: {} }, reported: 0, resolveReported, rejectReported,
    };
    const activity = this.activity();
    const done = (async () => {
      await reported;
      await Promise.all([...this.writers.values()].map((w) => w.flushed()));
      await this.errorWriter!.flushed();
      const sealed = Object.keys(flight.sealed.states).length > 0 ? { sealed: flight.sealed } : {};
      const checkpoint: Checkpoint = { version: 1, id, takenAt: Date.now(), states: flight.states, positions: flight.positions, sinks: flight.sinks, ...sealed };
      const bytes = await this.settings.store.saveCheckpoint(this.def.name, checkpoint, this.settings.fence?.(this.def.name));
      this.lastId = id;
      this.committedPositions = checkpoint.positions;
      this.checkpointedActivity = activity;
      // Barrier to durable: the write (on the checkpoint thread) included.
      this.lastCheckpoint = { id, at: new Date(checkpoint.takenAt).toISOString(), durationMs: Date.now() - flight.startedAt, bytes };
    })();
    flight.done = done;
    this.inFlight = flight as InFlight;
    for (const [input, li] of this.inputs) flight.positions[this.streamOf(input)] = li.injectBarrier(id);
    try {
      await done;
    } finally {
      this.inFlight = null;
    }
  }

  /** Task `taskId` passed barrier `id`; `sinkCounters` gives its output's key counters if it is a sink task. */
  private onSnapshot(taskId: string, id: number, state: unknown, sinkCounters: () => unknown): void {
    const f = this.inFlight;
    if (!f || f.id !== id) return;
    f.states[taskId] = state;
    const output = this.sinkOfTask.get(taskId);
    if (output) f.sinks[output] = sinkCounters();
    this.taskReported(f);
  }

  /** As `onSnapshot`, for a task on a query thread: its state and key counters are kept sealed, never decoded here. */
  private onSealedSnapshot(taskId: string, id: number, state: Uint8Array, sinkCounters: Uint8Array | undefined): void {
    const f = this.inFlight;
    if (!f || f.id !== id) return;
    f.sealed.states[taskId] = state;
    const output = this.sinkOfTask.get(taskId);
    if (output && sinkCounters) f.sealed.sinks[output] = sinkCounters;
    this.taskReported(f);
  }

  private taskReported(f: InFlight): void {
    f.reported++;
    if (f.reported === this.plan!.taskIds.length) f.resolveReported();
  }

  /**
   * Stops with a final checkpoint (when running), so a restart continues exactly here. Without it
   * (`checkpoint: false`: the query's lease is lost, another node continues from the last stored checkpoint) the
   * rows produced since are still appended: the other node produces them again under the same keys.
   */
  async stop(options: { readonly checkpoint?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.state === 'RUNNING' && options.checkpoint === false) this.state = 'STOPPING';
    if (this.state === 'RUNNING') {
      this.state = 'STOPPING';
      try {
        if (this.inFlight) await this.inFlight.done.catch(() => {});
        await this.checkpoint();
      } catch (err) {
        this.settings.logger.warn('final checkpoint failed; the query continues from the previous one', { query: this.def.name, err });
      }
    }
    for (const i of this.inputs.values()) i.cancel();
    this.thread?.cancel();
    for (const f of this.referenceFeeds) f.close();
    await this.run?.catch(() => {});
    // Rows produced after the final barrier are re-produced after a restart with the same keys: writing them is harmless.
    await Promise.all([...this.writers.values(), this.errorWriter].map((w) => w?.flushed().catch(() => {})));
    if (this.state !== 'FAILED') this.state = 'STOPPED';
  }

  stats(): QueryStats {
    let watermark = Number.POSITIVE_INFINITY;
    for (const s of this.sources) if (s.watermark < watermark) watermark = s.watermark;
    let lag = 0;
    for (const i of this.inputs.values()) lag = Math.max(lag, i.lagMs);
    let pending = 0;
    for (const w of this.writers.values()) pending += w.pendingRows;
    const running = this.state === 'RUNNING';
    return {
      rowsInPerSecond: running ? Math.round(this.rates.rowsIn) : 0,
      rowsOutPerSecond: running ? Math.round(this.rates.rowsOut) : 0,
      rowsInTotal: this.rowsIn,
      rowsOutTotal: this.rowsOutTotal(),
      lateRows: this.lateRows,
      errors: this.errorCount,
      watermark: Number.isFinite(watermark) ? new Date(watermark).toISOString() : null,
      lagMs: lag,
      pendingOutputRows: pending,
      lastCheckpoint: this.lastCheckpoint,
    };
  }

  /** The time output `name` is complete up to (see SinkWriter.emittedUpTo), ISO 8601; null before it is known. */
  emittedUpTo(name: string): string | null {
    const t = this.writers.get(name)?.emittedUpTo;
    return t !== undefined && Number.isFinite(t) ? new Date(t).toISOString() : null;
  }

  /** The lowest source watermark, ms (-Infinity before the first row). */
  get watermarkMs(): number {
    let w = Number.POSITIVE_INFINITY;
    for (const s of this.sources) if (s.watermark < w) w = s.watermark;
    return this.sources.length === 0 ? Number.NEGATIVE_INFINITY : w;
  }

  get lastCheckpointId(): number {
    return this.lastId;
  }
}

/** The error-stream row of a KPL aggregate that cannot be read: the record is named by its position, its bytes in base64. */
function malformedAggregateRow(stream: string, shardId: string, record: StoredRecord, reason: string, now: number): ErrorRow {
  return {
    ERROR_TIME: new Date(now).toISOString(),
    ERROR_LEVEL: 'ERROR',
    ERROR_NAME: 'MALFORMED_KPL_AGGREGATE',
    MESSAGE: `a KPL aggregated record of stream "${stream}" (shard ${shardId}, sequence number ${record.sequenceNumber}) is malformed: ${reason}; none of its user records were read`,
    DATA_ROW: JSON.stringify({ stream, shardId, sequenceNumber: record.sequenceNumber, partitionKey: record.partitionKey, dataBase64: Buffer.from(record.data).toString('base64') }),
    PUMP_NAME: null,
  };
}

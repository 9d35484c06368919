/**
 * The query manager: creates, lists, explains, stops and drops continuous SQL queries over the stream log,
 * persists their definitions and checkpoints (in one folder, or in PostgreSQL for a cluster), and resumes them at
 * `start()`. On a cluster node (`leased`) it runs only the queries whose lease (`query:<name>`) the node holds:
 * the work leases (src/server/work-leases.ts) start and stop them through `leaseUnits()`.
 */
import { TollstreamError, isTollstreamError, toTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { silentLogger } from '../core/logger.ts';
import { deaggregate, isKplAggregate, shardBacklog, type ShardDescription, type StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
import type { InferredColumns } from '../sql/index.ts';
import { inferColumns, planLiveQuery, undeclaredInputs } from '../sql/index.ts';
import { QueryThreads, defaultQueryThreads, type QueryThreadOptions } from './query-threads.ts';
import { ReferenceFiles } from './reference-files.ts';
import { RunningQuery } from './running-query.ts';
import { queryLeaseKey } from './postgres-store.ts';
import { QueryStore, queryExists } from './store.ts';
import { resolveStartPosition } from './start-position.ts';
import type { CreateQueryRequest, LeaseFence, QueryDefinition, QueryInfo, QueryShardLag, QueryStateStore, QueryStats, ShardPositions } from './types.ts';

/** A query as a unit of work under a lease, for the work leases: started when the lease is gained, stopped when lost. */
export interface QueryLeaseUnit {
  /** `query:<name>` */
  readonly key: string;
  /** The lease was gained at `epoch`: run the query from its stored checkpoint. */
  start(epoch: number): Promise<void>;
  /** The lease is being given up (`stopping`, `handed-over`: still held, a final checkpoint is written) or was lost. */
  stop(reason: string): Promise<void>;
}

export interface QueryManagerOptions {
  readonly log: StreamLog;
  /** Folder of query definitions and checkpoints, e.g. `<dataDir>/queries` (unless `store` is given). */
  readonly dir?: string;
  /** Where definitions and checkpoints are kept. @default a `QueryStore` on `dir` */
  readonly store?: QueryStateStore;
  /**
   * A cluster node: queries run only while this node (`owner`, its name among the lease owners) holds their lease;
   * the definitions (shared, in `store`) are read again every `definitionSyncMs` (default 1000), so a query
   * created, stopped, resumed or dropped through another node is seen here. @default none: every query runs here
   */
  readonly leased?: { readonly owner: string; readonly definitionSyncMs?: number };
  /** Time between checkpoints, ms. @default 1000 */
  readonly checkpointIntervalMs?: number;
  /** Every how many checkpoints one is full; the others hold what changed since the one before. @default 10 */
  readonly checkpointFullEvery?: number;
  /** Default idle timeout of input shards (processing time), ms; a table's 'watermark.idle-timeout' overrides it. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** Rows per batch between operators. @default 512 */
  readonly batchSize?: number;
  /** Shards of output streams the manager creates. @default 1 */
  readonly outputShardCount?: number;
  /** Dedupe window of output streams the manager creates, seconds. @default 3600 */
  readonly outputDedupeWindowSeconds?: number;
  /**
   * The one directory file reference tables ('path') may read from; a relative path starts there and a path
   * out of it is refused (PATH_NOT_ALLOWED), since a query's SQL comes from a request. Absent, queries read no
   * files. @default none
   */
  readonly referenceDir?: string;
  /** Worker threads that run the queries' operators (each query on one of them); 0, all on the main thread. @default one per spare core */
  readonly threads?: number;
  /** How the query threads start: their heap limit, and a hook that sees each one. @default Node's heap limit */
  readonly threadOptions?: QueryThreadOptions;
  /**
   * A query whose thread died (QUERY_THREAD_CRASHED) is started again from its last checkpoint at most this many
   * times within `THREAD_CRASH_WINDOW_MS`; one more crash leaves it FAILED. @default 3
   */
  readonly threadRestarts?: number;
  readonly logger?: Logger;
  /** Processing-time clock for CURRENT_TIMESTAMP and ERROR_TIME. @default Date.now */
  readonly now?: () => number;
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const KINESIS_INPUT = 'SOURCE_SQL_STREAM_001';
const INFER_SAMPLE = 100;

const EMPTY_STATS: QueryStats = {
  rowsInPerSecond: 0, rowsOutPerSecond: 0, rowsInTotal: 0, rowsOutTotal: 0, lateRows: 0, errors: 0,
  watermark: null, lagMs: 0, pendingOutputRows: 0, lastCheckpoint: null,
};

/** The span over which a query's thread crashes are counted against `threadRestarts`, ms. */
export const THREAD_CRASH_WINDOW_MS = 10 * 60_000;

/** Lease loss reasons after which the lease is still held while the query stops: its final checkpoint commits. */
const STILL_HELD = new Set(['stopping', 'handed-over']);

export class QueryManager {
  private readonly store: QueryStateStore;
  /** Leased mode: the queries whose lease this node holds, with the fence of their checkpoint writes. */
  private readonly held = new Map<string, LeaseFence>();
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly defs = new Map<string, QueryDefinition>();
  private readonly running = new Map<string, RunningQuery>();
  private readonly logger: Logger;
  private readonly log: StreamLog;
  private readonly threads: QueryThreads | null;
  private started = false;
  private closing = false;
  /** When each query's thread last crashed (ms, within THREAD_CRASH_WINDOW_MS), for the bound on restarts. */
  private readonly crashes = new Map<string, number[]>();
  /** Restarts after a thread crash since this manager started, per query (a metric). */
  private readonly restarts = new Map<string, number>();
  /** The input positions of the last checkpoint of each query that is not running (read once), for `lag`. */
  private readonly stoppedPositions = new Map<string, Readonly<Record<string, ShardPositions>> | null>();
  /** Serializes admin operations (create, stop, drop, start, close). */
  private admin: Promise<unknown> = Promise.resolve();

  /** The reference directory's files, for the API to manage; undefined when queries read no files. */
  readonly referenceFiles: ReferenceFiles | undefined;

  constructor(private readonly options: QueryManagerOptions) {
    this.referenceFiles = options.referenceDir === undefined ? undefined : new ReferenceFiles(options.referenceDir);
    this.logger = (options.logger ?? silentLogger).child({ component: 'queries' });
    if (options.store === undefined && options.dir === undefined) {
      throw new TollstreamError('INVALID_ARGUMENT', 'the query manager needs a folder (dir) or a store for its queries', {});
    }
    this.store = options.store ?? new QueryStore(options.dir!, this.logger, { checkpointFullEvery: options.checkpointFullEvery });
    this.log = options.log;
    const threads = options.threads ?? defaultQueryThreads();
    this.threads = threads > 0 ? new QueryThreads(threads, options.threadOptions) : null;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.admin.then(fn, fn);
    this.admin = p.catch(() => {});
    return p;
  }

  /** Loads the stored definitions and resumes every query that was not stopped by a user. */
  start(): Promise<void> {
    return this.serial(async () => {
      if (this.started) return;
      this.started = true;
      // The query threads start (from the sources: compile the SQL engine) while the definitions are read.
      this.threads?.warm();
      for (const def of await this.store.listDefinitions()) {
        this.defs.set(def.name, def);
        if (!def.stopped && !this.options.leased) await this.launch(def);
      }
      if (this.options.leased) {
        const every = this.options.leased.definitionSyncMs ?? 1000;
        this.syncTimer = setInterval(() => void this.syncDefinitions().catch((err: unknown) => this.logger.warn('reading the query definitions failed; retrying', { err })), every);
        this.syncTimer.unref();
      }
    });
  }

  /**
   * Leased mode: one unit per query that is not stopped, for the work leases (read at each of their syncs). A
   * stopped query's lease is left alone; its holder stopped it.
   */
  leaseUnits(): QueryLeaseUnit[] {
    if (!this.options.leased) return [];
    return [...this.defs.values()]
      .filter((def) => !def.stopped)
      .map((def) => ({ key: queryLeaseKey(def.name), start: (epoch) => this.gained(def.name, epoch), stop: (reason) => this.lost(def.name, reason) }));
  }

  /**
   * The lease of `name` was gained: run the query here from its stored checkpoint (unless stopped meanwhile).
   * Resolves at once, the start going on behind (serialized with the rest): the lease round that called must
   * go on renewing while a query loads its checkpoint, which may take longer than a round.
   */
  private async gained(name: string, epoch: number): Promise<void> {
    void this.serial(async () => {
      this.held.set(name, { key: queryLeaseKey(name), owner: this.options.leased!.owner, epoch });
      if (!this.defs.has(name)) await this.readDefinitions();
      const def = this.defs.get(name);
      if (def && !def.stopped && !this.running.has(name)) await this.launch(def);
    }).catch((err: unknown) => this.logger.error('starting a query whose lease this node took failed', { query: name, err }));
  }

  /**
   * The lease of `name` is given up or lost: stop the query. Still held (a clean stop, a hand-over), with a final
   * checkpoint; lost, without one (its fence is gone first, so no checkpoint of this run commits any more).
   */
  private lost(name: string, reason: string): Promise<void> {
    return this.serial(async () => {
      const q = this.running.get(name);
      if (!STILL_HELD.has(reason)) this.held.delete(name);
      await q?.stop({ checkpoint: STILL_HELD.has(reason) });
      if (this.running.get(name) === q) this.running.delete(name);
      this.held.delete(name);
      // Not awaited: it waits behind a checkpoint write in flight, which may hang until PostgreSQL answers, and
      // a lease round waits for this stop.
      void this.store.forget(name).catch(() => undefined);
      if (q) this.logger.info('query stopped here: its lease moved', { query: name, reason });
    });
  }

  /** Leased mode: the definitions as stored now (another node may have changed them), applied to the queries held. */
  private syncDefinitions(): Promise<void> {
    return this.serial(async () => {
      if (!this.started) return;
      await this.readDefinitions();
      for (const [name, q] of [...this.running]) {
        const def = this.defs.get(name);
        if (def && !def.stopped) continue;
        // Dropped (its lease went with it: nothing more commits) or stopped through another node (a final checkpoint).
        // Listed as STOPPING until stopped.
        await q.stop({ checkpoint: def !== undefined });
        this.running.delete(name);
        if (def) this.stoppedPositions.set(name, q.committedPositions);
        this.logger.info(def ? 'query stopped through another node' : 'query dropped through another node', { query: name });
      }
      for (const name of this.held.keys()) {
        const def = this.defs.get(name);
        const q = this.running.get(name);
        // Failed for a reason that passes (PostgreSQL out of reach for a moment): this node holds the lease, so
        // nobody else would run it; it starts again here from its last checkpoint.
        if (q?.state === 'FAILED' && q.error?.retriable) {
          this.logger.warn('restarting a query that failed for a passing reason', { query: name, err: q.error });
          this.running.delete(name);
          await q.stop({ checkpoint: false });
        }
        if (def && !def.stopped && !this.running.has(name)) await this.launch(def);
      }
    });
  }

  private async readDefinitions(): Promise<void> {
    const defs = await this.store.listDefinitions();
    this.defs.clear();
    for (const def of defs) this.defs.set(def.name, def);
  }

  /** The fence of a query's checkpoint writes: its lease (null while not held) in leased mode, none otherwise. */
  private fence(name: string): LeaseFence | null | undefined {
    return this.options.leased ? (this.held.get(name) ?? null) : undefined;
  }

  private settings(name: string) {
    return {
      restartAfter: (err: TollstreamError) => this.restartAfterCrash(name, err),
      log: this.log, store: this.store, logger: this.logger, fence: (name: string) => this.fence(name),
      checkpointIntervalMs: this.options.checkpointIntervalMs ?? 1000,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 60_000,
      batchSize: this.options.batchSize ?? 512,
      forgetAfterMs: (this.options.outputDedupeWindowSeconds ?? 3600) * 1000,
      now: this.options.now ?? Date.now,
      referenceDir: this.options.referenceDir,
      threads: this.threads,
    };
  }

  /** Starts a query; a failure to start leaves it FAILED (listed with its error), not thrown. */
  private async launch(def: QueryDefinition): Promise<RunningQuery> {
    const q = new RunningQuery(def, this.settings(def.name));
    this.running.set(def.name, q);
    try {
      await q.start();
    } catch (err) {
      q.error = toTollstreamError(err);
      const restarting = this.restartAfterCrash(def.name, q.error);
      q.state = restarting ? 'STARTING' : 'FAILED';
      if (!restarting) this.logger.error('query could not start', { query: def.name, err });
      await q.stop().catch(() => {});
      q.state = restarting ? 'STARTING' : 'FAILED';
    }
    return q;
  }

  /**
   * The thread running `name` died: whether the query is started again (from its last checkpoint, on a new thread).
   * Its output is written exactly once all the same: the rows it produces again carry the keys they had, which
   * the output streams' key dedupe drops. Bounded by `threadRestarts` within THREAD_CRASH_WINDOW_MS, so a query that
   * kills its thread every time (its state outgrowing the thread's heap) ends FAILED instead of looping.
   */
  private restartAfterCrash(name: string, err: TollstreamError): boolean {
    if (!isTollstreamError(err, 'QUERY_THREAD_CRASHED') || this.closing) return false;
    const now = Date.now();
    const recent = (this.crashes.get(name) ?? []).filter((at) => now - at < THREAD_CRASH_WINDOW_MS);
    const limit = this.options.threadRestarts ?? 3;
    if (recent.length >= limit) {
      this.logger.error('query thread crashed again; the query is not restarted', { query: name, crashes: recent.length + 1, withinMs: THREAD_CRASH_WINDOW_MS, err });
      return false;
    }
    recent.push(now);
    this.crashes.set(name, recent);
    this.restarts.set(name, (this.restarts.get(name) ?? 0) + 1);
    this.logger.warn('query thread crashed; restarting the query from its last checkpoint', { query: name, restart: recent.length, of: limit, err });
    const crashed = this.running.get(name);
    void this.serial(async () => {
      if (this.closing || this.running.get(name) !== crashed) return;
      await crashed?.stop({ checkpoint: false });
      this.running.delete(name);
      const def = this.defs.get(name);
      if (def && !def.stopped && (!this.options.leased || this.held.has(name))) await this.launch(def);
    }).catch((e: unknown) => this.logger.error('restarting a query after its thread crashed failed', { query: name, err: e }));
    return true;
  }

  /**
   * Validates and plans the SQL, binds its inputs and outputs to log streams (outputs and `<name>_errors`
   * created if missing, with key dedupe), stores the definition and starts the query.
   */
  createQuery(request: CreateQueryRequest): Promise<QueryInfo> {
    return this.serial(async () => {
      const { name, sql } = request;
      if (typeof name !== 'string' || !NAME.test(name)) {
        throw new TollstreamError('INVALID_ARGUMENT', `query name ${JSON.stringify(name)} is not valid: use 1 to 64 letters, digits, '_' or '-'`, { context: { query: name } });
      }
      if (typeof sql !== 'string' || sql.trim() === '') throw new TollstreamError('INVALID_ARGUMENT', 'the query has no SQL: send its text in "sql"', { context: { query: name } });
      const startAt = resolveStartPosition(request.startPosition, Date.now());
      if (this.defs.has(name)) throw queryExists(name);
      const streamOf = (sqlName: string): string =>
        request.inputs?.[sqlName] ?? (sqlName.toUpperCase() === KINESIS_INPUT && request.input !== undefined ? request.input : sqlName);

      // Undeclared inputs (Kinesis' SOURCE_SQL_STREAM_001) get columns inferred once, from the stream's first records.
      const missing = (input: string, stream: string): TollstreamError => {
        const hint = input.toUpperCase() === KINESIS_INPUT || input !== stream
          ? ` Name the input stream with "input" (e.g. "input": "toll_transactions") or map ${input} with "inputs".`
          : " Create the stream first, or point the table at another one with WITH ('stream' = '...').";
        return new TollstreamError('STREAM_NOT_FOUND', `query "${name}" reads stream "${stream}", which does not exist.${hint}`, { context: { query: name, input, stream } });
      };
      const inferred: Record<string, InferredColumns> = {};
      for (const input of undeclaredInputs(sql)) {
        const stream = streamOf(input);
        if (!(await this.streamExists(stream))) throw missing(input, stream);
        const sample = await this.sample(stream);
        if (sample.length === 0) {
          throw new TollstreamError('SQL_INPUT', `query "${name}" reads ${input} (stream "${stream}"), which has no records to infer its columns from: declare them with CREATE OR REPLACE STREAM "${input}" (...)`, { context: { query: name, input, stream } });
        }
        inferred[input] = inferColumns(sample).columns;
      }
      const plan = await planLiveQuery({ sql, inferred, idleTimeoutMs: this.options.idleTimeoutMs ?? 60_000, referenceDir: this.options.referenceDir });
      const inputs: Record<string, string> = {};
      for (const input of plan.inputs) {
        const stream = streamOf(input);
        if (!(await this.streamExists(stream))) throw missing(input, stream);
        inputs[input] = stream;
      }
      for (const ref of plan.referenceStreams) {
        if (!(await this.streamExists(ref.stream))) {
          throw new TollstreamError('STREAM_NOT_FOUND', `query "${name}" reads reference table ${ref.name} from stream "${ref.stream}", which does not exist. Create the stream first (its records are the table's changelog).`, { context: { query: name, table: ref.name, stream: ref.stream } });
        }
      }
      const outputs: Record<string, string> = {};
      for (const o of plan.outputs) outputs[o.name] = request.outputs?.[o.name] ?? o.name;
      const errorStream = `${name}_errors`;
      for (const stream of [...Object.values(outputs), errorStream]) {
        if (Object.values(inputs).includes(stream) || plan.referenceStreams.some((r) => r.stream === stream)) {
          throw new TollstreamError('INVALID_ARGUMENT', `query "${name}" would write the stream it reads ("${stream}"): map the output elsewhere with "outputs"`, { context: { query: name, stream } });
        }
        await this.ensureOutputStream(stream);
      }
      const def: QueryDefinition = { name, sql, inputs, outputs, errorStream, inferred, createdAt: Date.now(), ...(startAt === null ? {} : { startAt }), stopped: false };
      // Created through another node meanwhile (a cluster): refused by the store, and listed here from now on.
      await this.store.saveDefinition(def, { create: true }).catch(async (err: unknown) => {
        if (isTollstreamError(err, 'QUERY_EXISTS')) await this.readDefinitions();
        throw err;
      });
      this.defs.set(name, def);
      // Leased, it starts on the node that takes its lease (work-leases.ts lists it at its next sync).
      if (!this.options.leased) await this.launch(def);
      this.logger.info('query created', { query: name, inputs, outputs });
      return this.info(name);
    });
  }

  private async streamExists(stream: string): Promise<boolean> {
    try {
      await this.log.describeStream(stream);
      return true;
    } catch (err) {
      if (isTollstreamError(err, 'STREAM_NOT_FOUND') || isTollstreamError(err, 'INVALID_ARGUMENT')) return false;
      throw err;
    }
  }

  private async sample(stream: string): Promise<Uint8Array[]> {
    const desc = await this.log.describeStream(stream);
    const out: Uint8Array[] = [];
    for (const shard of desc.shards) {
      if (out.length >= INFER_SAMPLE) break;
      const r = await this.log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' }, { maxRecords: INFER_SAMPLE - out.length });
      for (const rec of r.records) {
        // A KPL aggregate is sampled as its user records, as the running query will read them.
        const expanded = isKplAggregate(rec.data) ? deaggregate(rec) : undefined;
        for (const data of expanded === undefined ? [rec.data] : expanded.ok ? expanded.records.map((u) => u.data) : []) {
          // The bytes, not JSON.parse's value: inferColumns reads a number written `1.0` as DOUBLE from them (the
          // parsed value is the whole number 1).
          try {
            JSON.parse(Buffer.from(data).toString('utf8'));
            out.push(data);
          } catch {
            // not JSON: the query reports it as a PARSE_ERROR when it runs
          }
        }
      }
    }
    return out;
  }

  private async ensureOutputStream(stream: string): Promise<void> {
    try {
      const desc = await this.log.describeStream(stream);
      if (desc.dedupe?.mode !== 'key') {
        this.logger.warn('output stream has no key dedupe: rows produced again after a crash will be stored twice', { stream });
      }
    } catch (err) {
      if (!isTollstreamError(err, 'STREAM_NOT_FOUND')) throw err;
      await this.log
        .createStream(stream, { shardCount: this.options.outputShardCount ?? 1, dedupe: { mode: 'key', windowSeconds: this.options.outputDedupeWindowSeconds ?? 3600 } })
        .catch((e: unknown) => {
          if (!isTollstreamError(e, 'STREAM_EXISTS')) throw e;
        });
    }
  }

  private get(name: string): QueryDefinition {
    const def = this.defs.get(name);
    if (!def) throw new TollstreamError('NOT_FOUND', `query "${name}" does not exist: list queries to see their names`, { context: { query: name } });
    return def;
  }

  info(name: string): QueryInfo {
    const def = this.get(name);
    const q = this.running.get(name);
    const keys = new Map(q?.plan?.outputs.map((o) => [o.name, o.keys]) ?? []);
    return {
      name,
      sql: def.sql,
      // Leased, a query this node does not run is run (or about to be) by the node holding its lease.
      state: q ? q.state : this.options.leased && !def.stopped ? 'ELSEWHERE' : 'STOPPED',
      error: q?.error ? { code: q.error.code, message: q.error.message } : null,
      inputs: Object.entries(def.inputs).map(([n, stream]) => ({ name: n, stream })),
      outputs: Object.entries(def.outputs).map(([n, stream]) => ({ name: n, stream, keyMode: keys.get(n)?.mode ?? 'row', partitionKey: keys.get(n)?.partition ?? [], emittedUpTo: q?.emittedUpTo(n) ?? null })),
      errorStream: def.errorStream,
      createdAt: new Date(def.createdAt).toISOString(),
      startAt: def.startAt === undefined ? null : new Date(def.startAt).toISOString(),
      stats: q ? q.stats() : EMPTY_STATS,
    };
  }

  listQueries(): QueryInfo[] {
    return [...this.defs.keys()].map((n) => this.info(n));
  }

  /** The physical plan of a query, as EXPLAIN renders it. */
  async explain(name: string): Promise<string> {
    const def = this.get(name);
    const plan = this.running.get(name)?.plan ?? (await planLiveQuery({ sql: def.sql, inferred: def.inferred, referenceDir: this.options.referenceDir }));
    return plan.explain;
  }

  /** Stops a query after a final checkpoint; it stays stopped across restarts until `resumeQuery`. */
  stopQuery(name: string): Promise<QueryInfo> {
    return this.serial(async () => {
      const def = this.get(name);
      const q = this.running.get(name);
      await q?.stop();
      if (q) this.stoppedPositions.set(name, q.committedPositions);
      this.running.delete(name);
      const stopped = { ...def, stopped: true };
      await this.store.saveDefinition(stopped);
      this.defs.set(name, stopped);
      return this.info(name);
    });
  }

  /** Starts a stopped (or failed) query again from its last checkpoint. */
  resumeQuery(name: string): Promise<QueryInfo> {
    return this.serial(async () => {
      const def = this.get(name);
      const q = this.running.get(name);
      if (q && (q.state === 'RUNNING' || q.state === 'STARTING')) return this.info(name);
      await q?.stop();
      const resumed = { ...def, stopped: false };
      await this.store.saveDefinition(resumed);
      this.defs.set(name, resumed);
      if (!this.options.leased || this.held.has(name)) await this.launch(resumed);
      return this.info(name);
    });
  }

  /** Stops and forgets a query and its checkpoint. Its output and error streams stay. */
  dropQuery(name: string): Promise<void> {
    return this.serial(async () => {
      this.get(name);
      await this.running.get(name)?.stop();
      this.running.delete(name);
      this.stoppedPositions.delete(name);
      this.defs.delete(name);
      await this.store.remove(name);
      this.held.delete(name);
      this.logger.info('query dropped', { query: name });
    });
  }

  /** Takes a checkpoint of a running query now and waits until it is stored (for tests and shutdown tools). */
  async checkpointNow(name: string): Promise<void> {
    this.get(name);
    const q = this.running.get(name);
    if (q?.state === 'RUNNING') await q.checkpoint();
  }

  /** The lowest watermark of a running query's sources, ms; -Infinity before its first row or when not running. */
  watermarkOf(name: string): number {
    this.get(name);
    return this.running.get(name)?.watermarkMs ?? Number.NEGATIVE_INFINITY;
  }

  /** Stops every query with a final checkpoint (they resume at the next `start()`). Call before closing the log. */
  close(): Promise<void> {
    this.closing = true;
    return this.serial(async () => {
      clearInterval(this.syncTimer);
      await Promise.all([...this.running.values()].map((q) => q.stop()));
      this.running.clear();
      await this.threads?.close();
      await this.store.close();
      this.started = false;
      this.closing = false;
    });
  }

  /**
   * How many records of each shard of each input stream every query, running or stopped, has still to read:
   * the records after the positions of its last stored checkpoint (a shard without a position counts all its
   * retained records, since a query reads a new shard from its oldest record). Empty when the log cannot count
   * records cheaply.
   */
  async lag(): Promise<QueryShardLag[]> {
    const log = this.log;
    if (!log.recordsAfter) return [];
    const counting = { read: log.read.bind(log), recordsAfter: log.recordsAfter.bind(log) };
    const out: QueryShardLag[] = [];
    for (const [name, def] of this.defs) {
      // Leased, a query is counted by the node running it.
      if (this.options.leased && !this.running.has(name)) continue;
      const positions = await this.committedPositions(name);
      for (const stream of new Set(Object.values(def.inputs))) {
        let shards: readonly ShardDescription[];
        try {
          shards = (await log.describeStream(stream)).shards;
        } catch (err) {
          if (isTollstreamError(err, 'STREAM_NOT_FOUND')) continue;
          throw err;
        }
        for (const shard of shards) {
          const position = positions?.[stream]?.[shard.shardId];
          const backlog = position === 'done' ? { records: 0, oldestArrivalTime: null } : await shardBacklog(counting, stream, shard.shardId, position);
          out.push({ query: name, stream, shardId: shard.shardId, ...backlog });
        }
      }
    }
    return out;
  }

  private async committedPositions(name: string): Promise<Readonly<Record<string, ShardPositions>> | null> {
    const q = this.running.get(name);
    if (q) return q.committedPositions;
    if (!this.stoppedPositions.has(name)) this.stoppedPositions.set(name, (await this.store.loadCheckpoint(name))?.positions ?? null);
    return this.stoppedPositions.get(name) ?? null;
  }

  /** Registers the query metrics (refreshed at each scrape). */
  registerMetrics(registry: Registry): void {
    const rowsIn = registry.counter('tollstream_query_rows_in_total', 'Input records taken in by a continuous query since it started', ['query']);
    const rowsOut = registry.counter('tollstream_query_rows_out_total', 'Rows a continuous query appended to its output streams since it started', ['query']);
    const inRate = registry.gauge('tollstream_query_rows_in_per_second', 'Input records per second of a continuous query', ['query']);
    const outRate = registry.gauge('tollstream_query_rows_out_per_second', 'Output rows per second of a continuous query', ['query']);
    const late = registry.counter('tollstream_query_late_rows_total', 'Rows behind the watermark sent to the error stream', ['query']);
    const errors = registry.counter('tollstream_query_errors_total', 'Error-stream rows of a continuous query (late rows included)', ['query']);
    const watermark = registry.gauge('tollstream_query_watermark_seconds', 'Lowest source watermark of a continuous query (Unix time)', ['query']);
    const lag = registry.gauge('tollstream_query_lag_seconds', 'How far the slowest input shard of a query is behind its newest record', ['query']);
    const pending = registry.gauge('tollstream_query_pending_output_rows', 'Output rows buffered, not yet appended', ['query']);
    const ckptId = registry.gauge('tollstream_query_checkpoint_id', 'Id of the last stored checkpoint', ['query']);
    const ckptDur = registry.gauge('tollstream_query_checkpoint_duration_seconds', 'Barrier to durable storage time of the last checkpoint', ['query']);
    const ckptBytes = registry.gauge('tollstream_query_checkpoint_bytes', 'Size of the last stored checkpoint', ['query']);
    const running = registry.gauge('tollstream_query_running', '1 when the query runs, 0 when stopped or failed', ['query']);
    const restarts = registry.counter('tollstream_query_thread_restarts_total', 'Times a continuous query was started again after the thread running it died', ['query']);
    registry.onCollect(() => {
      for (const g of [rowsIn, rowsOut, late, errors, inRate, outRate, watermark, lag, pending, ckptId, ckptDur, ckptBytes, running, restarts]) g.reset();
      for (const q of this.listQueries()) {
        const s = q.stats;
        rowsIn.labels(q.name).inc(s.rowsInTotal);
        rowsOut.labels(q.name).inc(s.rowsOutTotal);
        inRate.labels(q.name).set(s.rowsInPerSecond);
        outRate.labels(q.name).set(s.rowsOutPerSecond);
        late.labels(q.name).inc(s.lateRows);
        errors.labels(q.name).inc(s.errors);
        if (s.watermark) watermark.labels(q.name).set(Date.parse(s.watermark) / 1000);
        lag.labels(q.name).set(s.lagMs / 1000);
        pending.labels(q.name).set(s.pendingOutputRows);
        if (s.lastCheckpoint) {
          ckptId.labels(q.name).set(s.lastCheckpoint.id);
          ckptDur.labels(q.name).set(s.lastCheckpoint.durationMs / 1000);
          ckptBytes.labels(q.name).set(s.lastCheckpoint.bytes);
        }
        running.labels(q.name).set(q.state === 'RUNNING' ? 1 : 0);
        restarts.labels(q.name).inc(this.restarts.get(q.name) ?? 0);
      }
    });
  }
}
